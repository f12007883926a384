// Loading: bytes → checks (readable, not binary, UTF-8, not empty) → YAML
// tree with positions → duplicate keys → typed pipeline and validation.
#include "spec/load.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <new>

#include "base/file_util.h"
#include "base/strings.h"
#include "spec/diagnostic.h"
#include "spec/validate.h"
#include "spec/yaml_document.h"

namespace relay::spec {
namespace {

Mark OffsetToMark(std::string_view text, size_t offset) {
  return AdvanceMark(Mark{1, 1}, text, 0, offset);
}

// Only whitespace and # comments. Stops at the first line with content,
// which is almost always the first line or two.
bool IsBlank(std::string_view text) {
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view t = Trim(text.substr(0, end));
    if (!t.empty() && t[0] != '#') return false;
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
  }
  return true;
}

LoadResult Fail(const std::string& file, Mark mark, std::string message, std::string hint = "") {
  LoadResult r;
  r.diagnostics.push_back({file, mark, std::move(message), std::move(hint)});
  return r;
}

std::string DefaultName(const std::string& file) {
  std::string stem = std::filesystem::path(file).stem().string();
  return stem.empty() ? "pipeline" : stem;
}

std::string Plural(size_t n, const char* what) {
  return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
}

// What one load of a pipeline and its sub-pipelines shares.
struct Session {
  const LoadOptions& options;
  size_t bytes = 0;  // text read so far, every file counted
  // Children by (resolved path, depth): a child used by many tasks (or
  // files) is read and checked once; the depth is part of the key because
  // whether a child's own children fit under kMaxPipelineDepth depends on it.
  struct Loaded {
    std::shared_ptr<const Pipeline> pipeline;  // null: it did not load
    std::string read_error;                    // why it could not be read, if so
  };
  std::map<std::pair<std::string, size_t>, Loaded> children;
};

LoadResult LoadText(const std::string& original, const std::string& file, Session& session,
                    std::vector<std::string> chain);

// Loads the children of one file. `chain_` is the files from the top one
// to this one (resolved, lexically normal): a child already on it is a cycle.
class Loader final : public internal::ChildLoader {
 public:
  Loader(Session& session, std::string file, std::vector<std::string> chain)
      : session_(session), file_(std::move(file)), chain_(std::move(chain)) {}

  Child Load(const std::string& uses, const YamlNode& at, const std::string& path,
             internal::Checker& c) override {
    Child out{ResolveUsesPath(uses, file_), nullptr};
    const std::string& resolved = out.resolved;
    auto seen = std::find(chain_.begin(), chain_.end(), resolved);
    if (seen != chain_.end()) {
      c.Error(at, path, "cycle of pipelines: " + Path(seen, resolved),
              "a pipeline cannot use itself, directly or through others");
      return out;
    }
    const size_t depth = chain_.size() + 1;
    if (depth > static_cast<size_t>(kMaxPipelineDepth)) {
      c.Error(at, path,
              "sub-pipelines nest more than " + std::to_string(kMaxPipelineDepth) +
                  " deep: " + Path(chain_.begin(), resolved),
              "use fewer levels of uses:");
      return out;
    }
    auto key = std::make_pair(resolved, depth);
    if (auto it = session_.children.find(key); it != session_.children.end()) {
      const Session::Loaded& loaded = it->second;
      if (!loaded.read_error.empty())
        c.Error(at, path, loaded.read_error);
      else if (!loaded.pipeline)
        c.Error(at, path, uses + " is not a valid pipeline (its errors are shown above)");
      out.pipeline = loaded.pipeline;
      return out;
    }
    Session::Loaded& loaded = session_.children[key];
    Result<std::string> text = session_.options.resolve
                                   ? session_.options.resolve(resolved)
                                   : ReadFileCapped(resolved, kMaxPipelineFileBytes);
    if (text.ok() && text->size() > kMaxPipelineFileBytes) {  // a resolver's text, unchecked
      text = Status::Invalid("cannot read " + resolved + ": larger than " +
                             FormatByteSize(kMaxPipelineFileBytes) + ", the limit for this file");
    } else if (text.ok() && session_.bytes + text->size() > kMaxPipelineTreeBytes) {
      text = Status::Invalid("cannot read " + resolved + ": a pipeline and its sub-pipelines " +
                             "may hold at most " + FormatByteSize(kMaxPipelineTreeBytes) +
                             " together");
    }
    if (!text.ok()) {
      loaded.read_error = text.status().message();
      c.Error(at, path, loaded.read_error);
      return out;
    }
    session_.bytes += text->size();
    std::vector<std::string> chain = chain_;
    chain.push_back(resolved);
    LoadResult child = LoadText(*text, resolved, session_, std::move(chain));
    if (!child.ok()) {
      size_t n = child.diagnostics.size();
      c.ErrorWithDetails(
          at.mark,
          path + ": " + uses + " is not a valid pipeline (" + Plural(n, "error") + " below)",
          std::move(child.diagnostics));
      return out;
    }
    child.pipeline->FindTask("");  // builds the index now: the child is shared, and const
    loaded.pipeline = std::make_shared<const Pipeline>(std::move(*child.pipeline));
    out.pipeline = loaded.pipeline;
    return out;
  }

 private:
  // "a.yaml → b.yaml → a.yaml": the chain from `from`, then `last`.
  std::string Path(std::vector<std::string>::const_iterator from, const std::string& last) const {
    std::string out;
    for (auto it = from; it != chain_.end(); ++it) out += *it + " → ";
    return out + last;
  }

  Session& session_;
  std::string file_;
  std::vector<std::string> chain_;
};

LoadResult LoadText(const std::string& original, const std::string& file, Session& session,
                    std::vector<std::string> chain) {
  std::string_view text = original;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // UTF-8 byte order mark

  size_t nul = text.find('\0');
  if (nul != std::string_view::npos)
    return Fail(file, OffsetToMark(text, nul), "binary file (NUL byte)",
                "a pipeline file is YAML or JSON text");
  size_t bad = 0;
  if (!IsValidUtf8(text, &bad)) {
    char byte[8];
    std::snprintf(byte, sizeof byte, "0x%02x", static_cast<unsigned char>(text[bad]));
    return Fail(file, OffsetToMark(text, bad), std::string("not UTF-8: invalid byte ") + byte,
                "save the file as UTF-8");
  }
  const char* kEmpty = "empty pipeline file: expected a mapping with 'tasks'";
  if (IsBlank(text)) return Fail(file, {}, kEmpty);

  YamlNode root;
  YamlError error;
  if (!ParseYaml(text, &root, &error)) return Fail(file, error.mark, error.message);
  if (root.IsNull()) return Fail(file, {}, kEmpty);
  if (!root.IsMapping())
    return Fail(file, root.mark,
                "top level: expected a mapping with 'tasks', got " + internal::Describe(root));

  Pipeline pipeline;
  pipeline.file = file;
  pipeline.source = original;
  internal::Checker checker(file, text);
  internal::CheckDuplicateKeys(root, checker);
  Loader loader(session, file, std::move(chain));
  internal::Build build{checker, pipeline, {}, {}};
  build.children = &loader;
  internal::BuildPipeline(root, build);
  if (pipeline.name.empty()) pipeline.name = DefaultName(file);

  LoadResult result;
  result.diagnostics = checker.Finish();
  if (result.diagnostics.empty()) result.pipeline = std::move(pipeline);
  return result;
}

}  // namespace

std::string ResolveUsesPath(const std::string& uses_path, const std::string& from_file) {
  std::filesystem::path p(uses_path);
  if (!p.is_absolute()) p = std::filesystem::path(from_file).parent_path() / p;
  return p.lexically_normal().string();
}

LoadResult LoadPipelineFile(const std::string& path, const LoadOptions& options) {
  try {
    Result<std::string> text = ReadFileCapped(path, kMaxPipelineFileBytes);
    if (!text.ok()) return Fail(path, {}, text.status().message());
    return LoadPipelineText(*text, path, options);
  } catch (const std::bad_alloc&) {
    return Fail(path, {}, "out of memory while loading the pipeline");
  }
}

LoadResult LoadPipelineText(const std::string& text, const std::string& display_name,
                            const LoadOptions& options) {
  // Inputs are capped, but a machine short of memory must still get an
  // error, not an abort (relay serve loads pipelines for many runs).
  try {
    Session session{options};
    session.bytes = text.size();
    std::string top = std::filesystem::path(display_name).lexically_normal().string();
    return LoadText(text, display_name, session, {top});
  } catch (const std::bad_alloc&) {
    return Fail(display_name, {}, "out of memory while loading the pipeline");
  }
}

}  // namespace relay::spec
