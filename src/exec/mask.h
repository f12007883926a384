// Masker: replaces secret values with "***" in log lines, the way CI systems
// keep tokens out of build logs.
//
// Every byte of every occurrence of a secret is hidden: occurrences that
// overlap merge into one "***" (with secrets "abc" and "cde", "abcde" gives
// "***", not "***de"), while occurrences that merely touch stay apart
// ("s3cr3ts3cr3t" gives "******"). Matching is one pass of an Aho–Corasick
// automaton, so masking costs O(bytes) whatever the number of secrets.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace relay::exec {

class Masker {
 public:
  Masker() = default;
  // Empty secrets are ignored. A secret spanning several lines can never
  // appear whole in one log line, so each of its lines of at least
  // kMinLinePart bytes is masked on its own (shorter ones, like a lone "}",
  // would mask ordinary text).
  explicit Masker(const std::vector<std::string>& secrets);

  static constexpr size_t kMinLinePart = 4;

  bool empty() const { return nodes_.empty(); }

  // The secrets it was made from, empty ones left out: Masker(secrets())
  // masks exactly as this one does (a keeper rebuilds it from them).
  const std::vector<std::string>& secrets() const { return secrets_; }

  // Returns `line` with every secret masked. When nothing matches (always,
  // with no secrets) the result is `line` itself and nothing is copied;
  // otherwise it points into *scratch.
  std::string_view Apply(std::string_view line, std::string* scratch) const;

 private:
  friend class MaskStream;

  // A trie node: the secret prefix spelled by the path from the root.
  struct Node {
    std::vector<std::pair<uint8_t, int32_t>> next;  // sorted by byte
    int32_t fail = 0;    // node of the longest proper suffix that is a prefix
    uint32_t depth = 0;  // length of the prefix
    uint32_t match = 0;  // length of the longest secret ending here, or 0
  };

  int32_t Child(int32_t node, uint8_t byte) const;  // -1 when none
  int32_t Step(int32_t node, uint8_t byte) const;
  bool Matches(std::string_view text) const;

  std::vector<std::string> secrets_;
  std::vector<Node> nodes_;  // nodes_[0] is the root; empty without secrets
  // The root's children, dense: 256 entries (0: none), or none without
  // secrets, so that the usual Masker, with none, is cheap to make and move.
  std::vector<int32_t> root_next_;
};

// Masks one line that arrives in pieces (reads from a pipe), so that a
// secret split between two pieces is masked too. Text is passed on as soon
// as later bytes can no longer make it part of a secret: what is held back
// is a possible start of a secret (shorter than the longest secret) plus,
// at most, kMaxHeldRun bytes of a run of overlapping occurrences. A longer
// run is passed on early as "***" and its rest masked separately.
class MaskStream {
 public:
  static constexpr size_t kMaxHeldRun = 4096;

  // REQUIRES: `masker` outlives this stream and is not changed.
  explicit MaskStream(const Masker* masker) : masker_(masker) {}

  // Appends to *out the masked form of as much of `bytes` (after what was
  // held back) as is final.
  void Feed(std::string_view bytes, std::string* out);
  // The line ended (no more bytes join it): appends what was held back,
  // masked, and starts over for the next line.
  void Finish(std::string* out);

  // Bytes fed but not yet passed on.
  size_t held() const { return held_.size(); }
  // True once anything was masked since construction.
  bool masked() const { return masked_; }

 private:
  struct Run {
    uint64_t start, end;  // byte positions in the line, end exclusive
  };

  void AddMatch(uint64_t start, uint64_t end);
  // Passes on the bytes before `safe`, the first position a future match
  // may start at.
  void Emit(uint64_t safe, std::string* out);

  const Masker* masker_;
  int32_t node_ = 0;
  std::string held_;       // fed bytes from position base_ on
  uint64_t base_ = 0;      // position of held_[0] in the line
  std::vector<Run> runs_;  // merged matches in held_: sorted, disjoint
  bool masked_ = false;
};

}  // namespace relay::exec
