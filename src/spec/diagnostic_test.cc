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

// The column counts bytes; a terminal shows one character per column, so
// the caret is indented by one space per UTF-8 character before it.
TEST(Diagnostic, CaretCountsCharactersNotBytes) {
  const std::string source =
      "tasks:\n  a:\n    run: \"\xC3\xA9moji \xF0\x9F\x8E\x89 ${{ nope7 }}\"\n";
  LoadResult r = LoadPipelineText(source, "p.yaml");
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].mark.col, 27);  // bytes: é is 2, the emoji 4
  EXPECT_EQ(FormatDiagnostic(r.diagnostics[0], source),
            "p.yaml:3:27: error: tasks.a.run: unknown name 'nope7'\n"
            "    run: \"\xC3\xA9moji \xF0\x9F\x8E\x89 ${{ nope7 }}\"\n" +
                std::string(22, ' ') + "^\n" +
                "  hint: expressions can read inputs, env, matrix, needs and run\n");
  // Tabs stay tabs; a byte that is not UTF-8 is shown as one '?' and counts
  // as one character.
  Diagnostic d{"f", {1, 6}, "m", ""};
  EXPECT_EQ(FormatDiagnostic(d, "\t\xC3\xA9\xFFxy\n"), "f:1:6: error: m\n\t\xC3\xA9?xy\n\t   ^\n");
  // Cut before the caret (a long line), counting starts where the shown part does.
  std::string line = std::string(150, 'a') + "\xC3\xA9\xC3\xA9X";
  d.mark.col = 155;
  EXPECT_EQ(FormatDiagnostic(d, line),
            "f:1:155: error: m\n..." + line.substr(54) + "\n" + std::string(3 + 98, ' ') + "^\n");
}

TEST(Diagnostic, LineOutsideTheSourceOnlyPrintsHeadlineAndHint) {
  Diagnostic d{"f", {9, 1}, "m", "h"};
  EXPECT_EQ(FormatDiagnostic(d, "one line\n"), "f:9:1: error: m\n  hint: h\n");
}

TEST(Diagnostic, LongLineIsShownAroundTheCaret) {
  std::string line = std::string(300, 'a') + "X" + std::string(300, 'b');
  Diagnostic d{"f", {1, 301}, "m", ""};
  EXPECT_EQ(FormatDiagnostic(d, line + "\n"), "f:1:301: error: m\n..." + std::string(100, 'a') +
                                                  "X" + std::string(59, 'b') + "...\n" +
                                                  std::string(103, ' ') + "^\n");
  // Near the start nothing is cut before the caret.
  d.mark.col = 3;
  EXPECT_EQ(FormatDiagnostic(d, line), "f:1:3: error: m\n" + std::string(62, 'a') + "...\n  ^\n");
}

TEST(Diagnostic, RepeatedMistakeIsReportedAHundredTimesThenCounted) {
  std::string run;
  for (int i = 0; i < 5000; ++i) run += "${{ inputs.x }} ";
  LoadResult r = LoadPipelineText("tasks:\n  t:\n    run: \"" + run + "\"\n", "p.yaml");
  ASSERT_EQ(r.diagnostics.size(), 101u);
  EXPECT_EQ(r.diagnostics[0].message, "tasks.t.run: unknown input 'x'");
  EXPECT_EQ(r.diagnostics[0].mark.col, 15);
  EXPECT_EQ(r.diagnostics[99].mark.col, 15 + 99 * 16);
  EXPECT_EQ(r.diagnostics[100].message, "too many errors: 4900 more not shown");
  EXPECT_EQ(r.diagnostics[100].mark.line, 0);
}

}  // namespace
}  // namespace relay::spec
