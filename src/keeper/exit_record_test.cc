#include "keeper/exit_record.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "base/file_util.h"

namespace relay::keeper {
namespace {

ExitRecord Sample() {
  ExitRecord rec;
  rec.key = {"01JABC", 12, 2};
  exec::AttemptResult& r = rec.result;
  r.exit_code = -1;
  r.signal = 15;
  r.timed_out = true;
  r.cancelled = false;
  r.spawn_error = "cannot start 'a\\b\nc': x";
  r.log_error = "cannot write log /x: Permission denied";
  r.failed_step = 1;
  r.started_at = 1'700'000'000'123'456;
  r.ended_at = 1'700'000'005'000'000;
  r.user_cpu = 12345;
  r.system_cpu = 678;
  r.max_rss_kb = 4096;
  return rec;
}

// Every field is in the text, so equal texts are equal records.
void ExpectSame(const ExitRecord& a, const ExitRecord& b) {
  EXPECT_EQ(FormatExitRecord(a), FormatExitRecord(b));
}

TEST(ExitRecordTest, PathSitsBesideTheLog) {
  EXPECT_EQ(ExitRecordPath("/l/run/build.1.log"), "/l/run/build.1.exit");
  EXPECT_EQ(ExitRecordPath("/l/run/odd"), "/l/run/odd.exit");
  EXPECT_EQ(ExitRecordPath(".log"), ".log.exit");
  EXPECT_EQ(ExitRecordPath(""), "");
}

TEST(ExitRecordTest, FormatIsKeyValueLinesAndRoundTrips) {
  std::string text = FormatExitRecord(Sample());
  EXPECT_EQ(text.rfind("relay-exit-record=1\nrun_id=01JABC\nindex=12\nattempt=2\n", 0), 0u) << text;
  EXPECT_NE(text.find("\nspawn_error=cannot start 'a\\\\b\\nc': x\n"), std::string::npos) << text;
  Result<ExitRecord> back = ParseExitRecord(text);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ExpectSame(*back, Sample());
}

TEST(ExitRecordTest, TornOrForeignTextIsRefusedAndUnknownKeysIgnored) {
  std::string text = FormatExitRecord(Sample());
  for (size_t cut : {size_t{0}, size_t{10}, text.size() / 2, text.size() - 3})
    EXPECT_EQ(ParseExitRecord(text.substr(0, cut)).status().code(), Code::kCorrupt) << cut;
  EXPECT_FALSE(ParseExitRecord("hello=1\nend=1\n").ok());
  std::string bad = text;
  bad.replace(bad.find("index=12"), 8, "index=x2");
  EXPECT_FALSE(ParseExitRecord(bad).ok());
  std::string newer = "future_field=whatever\n" + text;
  EXPECT_TRUE(ParseExitRecord(newer).ok());
}

TEST(ExitRecordTest, WrittenReadAndRemovedBesideTheLog) {
  char tmpl[] = "/tmp/relay_exit_record_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string log = std::string(tmpl) + "/logs/run/x.log";  // directory not there yet
  EXPECT_EQ(ReadExitRecord(log).status().code(), Code::kNotFound);
  ASSERT_TRUE(WriteExitRecord(log, Sample()).ok());
  EXPECT_TRUE(FileExists(std::string(tmpl) + "/logs/run/x.exit"));
  EXPECT_FALSE(FileExists(std::string(tmpl) + "/logs/run/x.exit.tmp"));
  Result<ExitRecord> rec = ReadExitRecord(log);
  ASSERT_TRUE(rec.ok());
  ExpectSame(*rec, Sample());
  EXPECT_TRUE(RemoveExitRecord(log).ok());
  EXPECT_TRUE(RemoveExitRecord(log).ok());  // already gone: fine
  EXPECT_EQ(ReadExitRecord(log).status().code(), Code::kNotFound);
  EXPECT_FALSE(WriteExitRecord("", Sample()).ok());
  std::filesystem::remove_all(tmpl);
}

}  // namespace
}  // namespace relay::keeper
