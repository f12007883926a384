// Diagnostics name the place, show it, and suggest the fix:
//
//   pipeline.yaml:12:14: error: tasks.test.needs: unknown task 'biuld'
//       needs: [biuld]
//               ^
//     hint: did you mean 'build'?
#pragma once

#include <string>
#include <vector>

#include "spec/pipeline.h"

namespace relay::spec {

struct Diagnostic {
  std::string file;
  Mark mark;
  std::string message;  // starts with the key path when there is one: "tasks.test.needs: …"
  std::string hint;     // optional: "did you mean 'build'?"
};

// "FILE:LINE:COL: error: message" (no position parts when mark is 0).
std::string FormatHeadline(const Diagnostic& d);
// The headline, then the source line with a caret and the hint, if any.
std::string FormatDiagnostic(const Diagnostic& d, const std::string& source);

}  // namespace relay::spec
