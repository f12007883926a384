#include "exec/mask.h"

#include <algorithm>
#include <cstddef>
#include <deque>

namespace relay::exec {
namespace {

constexpr std::string_view kMask = "***";

void AddSecret(std::string_view s, std::vector<std::string>* out) {
  if (s.find('\n') == std::string_view::npos) {
    if (!s.empty()) out->emplace_back(s);
    return;
  }
  while (!s.empty()) {
    size_t nl = s.find('\n');
    std::string_view part = s.substr(0, nl);
    if (!part.empty() && part.back() == '\r') part.remove_suffix(1);
    if (part.size() >= Masker::kMinLinePart) out->emplace_back(part);
    if (nl == std::string_view::npos) break;
    s.remove_prefix(nl + 1);
  }
}

}  // namespace

Masker::Masker(const std::vector<std::string>& secrets) {
  std::vector<std::string> parts;
  for (const std::string& s : secrets) {
    if (!s.empty()) secrets_.push_back(s);
    AddSecret(s, &parts);
  }
  if (parts.empty()) return;

  nodes_.emplace_back();
  root_next_.assign(256, 0);
  for (const std::string& secret : parts) {
    int32_t node = 0;
    for (char ch : secret) {
      auto byte = static_cast<uint8_t>(ch);
      int32_t child = Child(node, byte);
      if (child < 0) {
        child = static_cast<int32_t>(nodes_.size());
        Node fresh;
        fresh.depth = nodes_[node].depth + 1;
        nodes_.push_back(std::move(fresh));
        auto& next = nodes_[node].next;
        next.insert(std::lower_bound(next.begin(), next.end(), std::make_pair(byte, int32_t{0})),
                    {byte, child});
        if (node == 0) root_next_[byte] = child;
      }
      node = child;
    }
    nodes_[node].match = nodes_[node].depth;
  }

  // Failure links, breadth first so that a node's suffixes are done before
  // it. `match` inherits the longest secret that ends as a suffix, so one
  // look per byte finds the leftmost start of all matches ending there.
  std::deque<int32_t> queue;
  for (const auto& [byte, child] : nodes_[0].next) queue.push_back(child);
  while (!queue.empty()) {
    int32_t node = queue.front();
    queue.pop_front();
    for (const auto& [byte, child] : nodes_[node].next) {
      // The parent's suffix is shorter, so this never finds `child` itself.
      int32_t fail = Step(nodes_[node].fail, byte);
      nodes_[child].fail = fail;
      nodes_[child].match = std::max(nodes_[child].match, nodes_[fail].match);
      queue.push_back(child);
    }
  }
}

int32_t Masker::Child(int32_t node, uint8_t byte) const {
  if (node == 0) return root_next_[byte] != 0 ? root_next_[byte] : -1;
  const auto& next = nodes_[node].next;
  auto it = std::lower_bound(next.begin(), next.end(), std::make_pair(byte, int32_t{0}));
  return it != next.end() && it->first == byte ? it->second : -1;
}

// Amortised O(1): each failure hop shortens the matched prefix, which grows
// by at most one byte per step.
int32_t Masker::Step(int32_t node, uint8_t byte) const {
  while (true) {
    int32_t child = Child(node, byte);
    if (child >= 0) return child;
    if (node == 0) return 0;
    node = nodes_[node].fail;
  }
}

bool Masker::Matches(std::string_view text) const {
  int32_t node = 0;
  for (char ch : text) {
    node = Step(node, static_cast<uint8_t>(ch));
    if (nodes_[node].match != 0) return true;
  }
  return false;
}

std::string_view Masker::Apply(std::string_view line, std::string* scratch) const {
  if (empty() || !Matches(line)) return line;
  std::string out;
  out.reserve(line.size());
  MaskStream stream(this);
  stream.Feed(line, &out);
  stream.Finish(&out);
  *scratch = std::move(out);
  return *scratch;
}

void MaskStream::Feed(std::string_view bytes, std::string* out) {
  if (masker_->empty()) {
    out->append(bytes);
    return;
  }
  const uint64_t start = base_ + held_.size();
  held_.append(bytes);
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (node_ == 0) {
      // Most text starts no secret: skip it with one table look per byte.
      while (i < bytes.size() && masker_->root_next_[data[i]] == 0) ++i;
      if (i == bytes.size()) break;
    }
    node_ = masker_->Step(node_, data[i]);
    uint32_t match = masker_->nodes_[node_].match;
    if (match != 0) AddMatch(start + i + 1 - match, start + i + 1);
  }
  const uint64_t pos = start + bytes.size();
  // A match yet to come starts within the prefix the automaton is in.
  Emit(pos - masker_->nodes_[node_].depth, out);
}

void MaskStream::Finish(std::string* out) {
  if (!masker_->empty()) Emit(base_ + held_.size(), out);
  node_ = 0;
  held_.clear();
  base_ = 0;
  runs_.clear();
}

// Matches arrive in order of their end, so only the last runs can overlap.
void MaskStream::AddMatch(uint64_t start, uint64_t end) {
  start = std::max(start, base_);  // the part before base_ was masked already
  while (!runs_.empty() && runs_.back().end > start) {
    start = std::min(start, runs_.back().start);
    runs_.pop_back();
  }
  runs_.push_back({start, end});
}

void MaskStream::Emit(uint64_t safe, std::string* out) {
  uint64_t cursor = base_;
  auto raw = [&](uint64_t to) {
    if (to > cursor) out->append(held_, cursor - base_, to - cursor);
  };
  size_t done = 0;
  // A run is final once no future match can start inside it.
  for (; done < runs_.size() && runs_[done].end <= safe; ++done) {
    raw(runs_[done].start);
    out->append(kMask);
    cursor = runs_[done].end;
    masked_ = true;
  }
  uint64_t limit = safe;
  if (done < runs_.size()) {
    Run& open = runs_[done];
    if (safe > open.start && safe - open.start > kMaxHeldRun) {
      raw(open.start);
      out->append(kMask);
      masked_ = true;
      cursor = safe;
      open.start = safe;
    }
    limit = std::min(safe, open.start);
  }
  raw(limit);
  cursor = std::max(cursor, limit);
  runs_.erase(runs_.begin(), runs_.begin() + static_cast<ptrdiff_t>(done));
  held_.erase(0, cursor - base_);
  base_ = cursor;
}

}  // namespace relay::exec
