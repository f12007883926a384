// A state machine is one constexpr table of (from, to, cause) triples plus
// the names of its states. Everything else — whether a transition is allowed,
// which states are final, the rendered docs/state-machines.md — is derived
// from the table, so the table is the single place to change.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace relay::state {

template <typename S>
struct Edge {
  S from;
  S to;
  std::string_view cause;  // stable text stored with the event, e.g. "exit_nonzero"
  std::string_view meaning;
};

// Where the edges of each (from, to) pair are in a table, and which states
// are final, worked out when relay is compiled: checking a transition then
// looks at its pair's few causes, not at every edge (it is checked as it is
// decided and again as it is committed, four times a task).
template <typename S, size_t kStates, size_t kEdges>
struct EdgeIndex {
  std::array<uint16_t, kStates * kStates + 1> start{};  // pair p's edges: [start[p], start[p + 1])
  std::array<uint16_t, kEdges> edges{};                 // positions in the table, by pair
  uint64_t finals = 0;                                  // bit s: state s is final

  constexpr EdgeIndex(const Edge<S> (&table)[kEdges], std::span<const S> final_states) {
    static_assert(kStates <= 64 && kEdges < 65536);
    for (const Edge<S>& e : table) ++start[Pair(e.from, e.to) + 1];
    for (size_t p = 1; p < start.size(); ++p) start[p] += start[p - 1];
    std::array<uint16_t, kStates * kStates> next{};
    for (size_t p = 0; p < next.size(); ++p) next[p] = start[p];
    for (size_t i = 0; i < kEdges; ++i) edges[next[Pair(table[i].from, table[i].to)]++] = i;
    for (S f : final_states) finals |= uint64_t{1} << static_cast<size_t>(f);
  }
  static constexpr size_t Pair(S from, S to) {
    return static_cast<size_t>(from) * kStates + static_cast<size_t>(to);
  }
};

template <typename S>
struct Machine {
  std::string_view entity;                  // "task", "run"
  std::span<const std::string_view> names;  // indexed by the enum value
  std::span<const S> finals;                // states with no way out but the listed exits
  std::span<const Edge<S>> edges;
  // From an EdgeIndex of `edges` and `finals` (empty: found by scanning).
  std::span<const uint16_t> pair_start = {};
  std::span<const uint16_t> pair_edges = {};
  uint64_t final_mask = 0;

  std::string_view Name(S s) const { return names[static_cast<size_t>(s)]; }

  std::optional<S> Parse(std::string_view text) const {
    for (size_t i = 0; i < names.size(); ++i)
      if (names[i] == text) return static_cast<S>(i);
    return std::nullopt;
  }

  bool IsFinal(S s) const {
    if (final_mask != 0)
      return static_cast<size_t>(s) < 64 && (final_mask >> static_cast<size_t>(s) & 1) != 0;
    for (S f : finals)
      if (f == s) return true;
    return false;
  }

  // True when (from, to, cause) is a row of the table.
  bool Allows(S from, S to, std::string_view cause) const {
    if (!pair_start.empty()) {
      const size_t n = names.size(), f = static_cast<size_t>(from), t = static_cast<size_t>(to);
      if (f >= n || t >= n) return false;
      for (size_t k = pair_start[f * n + t]; k < pair_start[f * n + t + 1]; ++k)
        if (edges[pair_edges[k]].cause == cause) return true;
      return false;
    }
    for (const auto& e : edges)
      if (e.from == from && e.to == to && e.cause == cause) return true;
    return false;
  }

  // True when some cause leads from `from` to `to`.
  bool AllowsPair(S from, S to) const {
    for (const auto& e : edges)
      if (e.from == from && e.to == to) return true;
    return false;
  }
};

// A transition outside the table is a bug in relay, never a user error; but
// it is one run's bug: the caller fails that run with this message recorded
// as its reason, and goes on serving the others. "" when the table allows it.
template <typename S>
std::string CheckTransition(const Machine<S>& m, S from, S to, std::string_view cause) {
  if (m.Allows(from, to, cause)) return "";
  return "internal error: " + std::string(m.entity) + " transition " + std::string(m.Name(from)) +
         " -> " + std::string(m.Name(to)) + " (cause '" + std::string(cause) +
         "') is not in the state table";
}

// Renders a machine as a Markdown section (used for docs/state-machines.md).
template <typename S>
std::string RenderMarkdown(const Machine<S>& m) {
  std::string out = "## " + std::string(m.entity) + "\n\nStates: ";
  for (size_t i = 0; i < m.names.size(); ++i) {
    if (i) out += ", ";
    out += "`" + std::string(m.names[i]) + "`";
  }
  out += ".\n\nFinal: ";
  for (size_t i = 0; i < m.finals.size(); ++i) {
    if (i) out += ", ";
    out += "`" + std::string(m.Name(m.finals[i])) + "`";
  }
  out += ".\n\n| from | to | cause | meaning |\n|---|---|---|---|\n";
  for (const auto& e : m.edges) {
    out += "| " + std::string(m.Name(e.from)) + " | " + std::string(m.Name(e.to)) + " | `" +
           std::string(e.cause) + "` | " + std::string(e.meaning) + " |\n";
  }
  return out;
}

}  // namespace relay::state
