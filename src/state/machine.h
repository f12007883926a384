// A state machine is one constexpr table of (from, to, cause) triples plus
// the names of its states. Everything else — whether a transition is allowed,
// which states are final, the rendered docs/state-machines.md — is derived
// from the table, so the table is the single place to change.
#pragma once

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

template <typename S>
struct Machine {
  std::string_view entity;                  // "task", "run"
  std::span<const std::string_view> names;  // indexed by the enum value
  std::span<const S> finals;                // states with no way out but the listed exits
  std::span<const Edge<S>> edges;

  std::string_view Name(S s) const { return names[static_cast<size_t>(s)]; }

  std::optional<S> Parse(std::string_view text) const {
    for (size_t i = 0; i < names.size(); ++i)
      if (names[i] == text) return static_cast<S>(i);
    return std::nullopt;
  }

  bool IsFinal(S s) const {
    for (S f : finals)
      if (f == s) return true;
    return false;
  }

  // True when (from, to, cause) is a row of the table.
  bool Allows(S from, S to, std::string_view cause) const {
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
