#include "keeper/protocol.h"

#include <gtest/gtest.h>

#include "keeper/exit_record.h"

namespace relay::keeper {
namespace {

// Splits every whole frame off `buffer`.
std::vector<std::pair<Frame, std::string>> Frames(const std::string& buffer, bool* broken) {
  std::vector<std::pair<Frame, std::string>> out;
  size_t pos = 0;
  Frame type;
  std::string_view payload;
  while (NextFrame(buffer, &pos, &type, &payload, broken)) out.emplace_back(type, payload);
  return out;
}

TEST(ProtocolTest, StartCarriesTheWholeSpecButTheMasker) {
  exec::AttemptSpec spec;
  spec.token = 0x1122334455667788ull;
  spec.key = {"01JRUN", 7, 3};
  spec.steps = {"make -j", "echo 'a\nb'", ""};
  spec.shell = {"bash", "-eo", "pipefail", "-c"};
  spec.force_shell = true;
  spec.env = {{"A", "1"}, {"EMPTY", ""}, {"A", "2"}};
  spec.cwd = "/work";
  spec.log_path = "/logs/x.log";
  spec.timeout = 90 * kSecond;
  spec.kill_grace = -1;
  std::string buffer;
  WriteStart(spec, 42, &buffer);
  bool broken = false;
  auto frames = Frames(buffer, &broken);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].first, Frame::kStart);
  exec::AttemptSpec got;
  uint32_t masker = 0;
  ASSERT_TRUE(ReadStart(frames[0].second, &got, &masker));
  EXPECT_EQ(masker, 42u);
  EXPECT_EQ(got.token, spec.token);
  EXPECT_EQ(got.key, spec.key);
  EXPECT_EQ(got.steps, spec.steps);
  EXPECT_EQ(got.shell, spec.shell);
  EXPECT_TRUE(got.force_shell);
  EXPECT_EQ(got.env, spec.env);
  EXPECT_EQ(got.cwd, spec.cwd);
  EXPECT_EQ(got.log_path, spec.log_path);
  EXPECT_EQ(got.timeout, spec.timeout);
  EXPECT_EQ(got.kill_grace, spec.kill_grace);
}

TEST(ProtocolTest, TheDefaultShellTravelsAsNone) {
  exec::AttemptSpec spec;
  spec.steps = {"true"};
  std::string with_default;
  WriteStart(spec, 0, &with_default);
  spec.shell = {"/bin/bash", "-c"};
  std::string with_bash;
  WriteStart(spec, 0, &with_bash);
  EXPECT_LT(with_default.size(), with_bash.size());
  bool broken;
  exec::AttemptSpec got;
  uint32_t masker;
  auto frames = Frames(with_default, &broken);
  ASSERT_TRUE(ReadStart(frames[0].second, &got, &masker));
  EXPECT_TRUE(got.shell.empty());  // the default, for AttemptSpec
  // Into a spec that held another attempt: every field is replaced.
  exec::AttemptSpec used;
  used.steps = {"a", "b", "c"};
  used.shell = {"bash", "-c"};
  used.env = {{"X", "1"}, {"Y", "2"}};
  used.cwd = "/somewhere";
  used.force_shell = true;
  frames = Frames(with_bash, &broken);
  ASSERT_TRUE(ReadStart(frames[0].second, &used, &masker));
  EXPECT_EQ(used.steps, spec.steps);
  EXPECT_EQ(used.shell, spec.shell);
  EXPECT_TRUE(used.env.empty());
  EXPECT_EQ(used.cwd, "");
  EXPECT_FALSE(used.force_shell);
}

TEST(ProtocolTest, ResultsRoundTrip) {
  // Every field set to something other than its default.
  Result<ExitRecord> sample = ParseExitRecord(
      "relay-exit-record=1\nexit_code=-1\nsignal=9\ntimed_out=1\nkeeper_lost=1\n"
      "spawn_error=cannot start\nlog_error=cannot write\nfailed_step=2\n"
      "started_at=1700000000000000\nended_at=1700000000000005\nuser_cpu=1\nsystem_cpu=2\n"
      "max_rss_kb=1048576\nend=1\n");
  ASSERT_TRUE(sample.ok());
  exec::AttemptResult r = sample->result;
  r.token = 5;
  std::string buffer;
  FrameWriter w(&buffer);
  w.Begin(Frame::kFinished);
  WriteResult(&w, r);
  w.End();
  bool broken;
  auto frames = Frames(buffer, &broken);
  FrameReader reader(frames[0].second);
  exec::AttemptResult got = ReadResult(&reader);
  EXPECT_TRUE(reader.ok());
  EXPECT_EQ(got.token, 5u);
  EXPECT_FALSE(got.cancelled);
  // Named records: GCC 12 at -O3 takes the key of a braced temporary for
  // uninitialised (a false positive of -Wmaybe-uninitialized).
  ExitRecord got_record, sent_record;
  got_record.result = got;
  sent_record.result = r;
  EXPECT_EQ(FormatExitRecord(got_record), FormatExitRecord(sent_record));  // holds every field
}

TEST(ProtocolTest, FramesArriveInPiecesAndTogether) {
  std::string buffer;
  for (uint64_t t : {1, 2, 3}) {
    FrameWriter w(&buffer);
    w.Begin(Frame::kCancel);
    w.U64(t);
    w.End();
  }
  bool broken = false;
  // Cut anywhere, only whole frames come out, in order.
  for (size_t cut = 0; cut <= buffer.size(); ++cut) {
    auto frames = Frames(buffer.substr(0, cut), &broken);
    EXPECT_FALSE(broken);
    EXPECT_EQ(frames.size(), cut / (buffer.size() / 3));
    for (size_t i = 0; i < frames.size(); ++i) {
      FrameReader r(frames[i].second);
      EXPECT_EQ(r.U64(), i + 1);
      EXPECT_TRUE(r.ok());
    }
  }
}

TEST(ProtocolTest, ShortAndBrokenInputIsRefused) {
  FrameReader r("\x05\x00\x00\x00ab");  // a string longer than what is left
  EXPECT_EQ(r.Str(), "");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.U64(), 0u);

  FrameReader extra(std::string_view("\x01\x02", 2));
  EXPECT_EQ(extra.U8(), 1);
  EXPECT_FALSE(extra.ok());  // a byte left over
  EXPECT_TRUE(extra.ok(/*whole=*/false));

  bool broken = false;
  std::string huge("\xff\xff\xff\xff\x04", 5);
  EXPECT_TRUE(Frames(huge, &broken).empty());
  EXPECT_TRUE(broken);

  exec::AttemptSpec spec;
  spec.steps = {"true"};
  std::string buffer;
  WriteStart(spec, 0, &buffer);
  std::string payload = buffer.substr(5);
  for (size_t cut = 0; cut < payload.size(); ++cut) {
    exec::AttemptSpec got;
    uint32_t masker;
    EXPECT_FALSE(ReadStart(payload.substr(0, cut), &got, &masker)) << cut;
  }
}

}  // namespace
}  // namespace relay::keeper
