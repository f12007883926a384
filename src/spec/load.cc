// Loading: bytes → checks (readable, not binary, UTF-8, not empty) → YAML
// tree with positions → duplicate keys → typed pipeline and validation.
#include "spec/load.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

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

}  // namespace

std::string ResolveUsesPath(const std::string& uses_path, const std::string& from_file) {
  std::filesystem::path p(uses_path);
  if (!p.is_absolute()) p = std::filesystem::path(from_file).parent_path() / p;
  return p.lexically_normal().string();
}

LoadResult LoadPipelineFile(const std::string& path, const LoadOptions& options) {
  Result<std::string> text = ReadFileCapped(path, kMaxPipelineFileBytes);
  if (!text.ok()) return Fail(path, {}, text.status().message());
  return LoadPipelineText(*text, path, options);
}

LoadResult LoadPipelineText(const std::string& original, const std::string& display_name,
                            const LoadOptions& options) {
  const std::string& file = display_name;
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
  internal::Build build{checker, pipeline, {}, {}};
  internal::BuildPipeline(root, build);
  if (pipeline.name.empty()) pipeline.name = DefaultName(file);

  LoadResult result;
  result.diagnostics = std::move(checker.diagnostics());
  std::stable_sort(result.diagnostics.begin(), result.diagnostics.end(),
                   [](const Diagnostic& a, const Diagnostic& b) {
                     if (a.mark.line != b.mark.line) return a.mark.line < b.mark.line;
                     return a.mark.col < b.mark.col;
                   });
  if (checker.dropped() > 0) {
    result.diagnostics.push_back(
        {file,
         {},
         "too many errors: " + std::to_string(checker.dropped()) + " more not shown",
         "fix the errors above first"});
  }
  if (result.diagnostics.empty()) result.pipeline = std::move(pipeline);
  return result;
}

}  // namespace relay::spec
