// Diagnostics name the place, show it, and suggest the fix:
//
//   pipeline.yaml:12:14: error: tasks.test.needs: unknown task 'biuld'
//       needs: [biuld]
//               ^
//     hint: did you mean 'build'?
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "spec/pipeline.h"

namespace relay::spec {

struct Diagnostic {
  std::string file;
  Mark mark;
  std::string message;  // starts with the key path when there is one: "tasks.test.needs: …"
  std::string hint;     // optional: "did you mean 'build'?"
};

// The mark of byte `end` of `text`, counting lines and byte columns on from
// `from`, the mark of byte `begin`.
Mark AdvanceMark(Mark from, std::string_view text, size_t begin, size_t end);

// "FILE:LINE:COL: error: message" (no position parts when mark is 0).
std::string FormatHeadline(const Diagnostic& d);
// The headline, then the source line with a caret and the hint, if any.
std::string FormatDiagnostic(const Diagnostic& d, const std::string& source);

}  // namespace relay::spec
