#include "spec/diagnostic.h"

#include <gtest/gtest.h>

#include "spec/load.h"

namespace relay::spec {
namespace {

TEST(Diagnostic, HeadlineWithAndWithoutPosition) {
  EXPECT_EQ(FormatHeadline({"p.yaml", {12, 14}, "tasks.test.needs: unknown task 'biuld'", ""}),
            "p.yaml:12:14: error: tasks.test.needs: unknown task 'biuld'");
  EXPECT_EQ(FormatHeadline({"p.yaml", {}, "cannot read p.yaml: No such file or directory", ""}),
            "p.yaml: error: cannot read p.yaml: No such file or directory");
}

TEST(Diagnostic, FullFormatShowsLineCaretAndHint) {
  const std::string source =
      "tasks:\n  build: {run: make}\n  test:\n    needs: [biuld]\n    run: x\n";
  LoadResult r = LoadPipelineText(source, "pipeline.yaml");
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(FormatDiagnostic(r.diagnostics[0], source),
            "pipeline.yaml:4:13: error: tasks.test.needs: unknown task 'biuld'\n"
            "    needs: [biuld]\n"
            "            ^\n"
            "  hint: did you mean 'build'?\n");
}

TEST(Diagnostic, TabsAndCrlfKeepTheCaretAligned) {
  Diagnostic d{"f", {1, 4}, "m", ""};
  EXPECT_EQ(FormatDiagnostic(d, "\tab c\r\nnext\n"), "f:1:4: error: m\n\tab c\n\t  ^\n");
}

TEST(Diagnostic, LineOutsideTheSourceOnlyPrintsHeadlineAndHint) {
  Diagnostic d{"f", {9, 1}, "m", "h"};
  EXPECT_EQ(FormatDiagnostic(d, "one line\n"), "f:9:1: error: m\n  hint: h\n");
}

}  // namespace
}  // namespace relay::spec
