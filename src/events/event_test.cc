#include "events/event.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <tuple>

#include "base/file_util.h"
#include "events/sha256.h"

namespace relay::events {
namespace {

constexpr char kRun[] = "01JD7Z8Q4M3X2V5T6R8N9P0K1A";

// The worked example of format 1 in docs/ledger-format.md (read only since
// schema 5): the doc and this test must agree, and the hashes were
// cross-checked with Python's hashlib.
Event ExampleCreated() {
  Event e;
  e.format = 1;
  e.run_id = kRun;
  e.seq = 1;
  e.ts = 1732486509123456;
  e.kind = "run";
  e.to = "pending";
  e.cause = "created";
  e.data = DataBuilder().Add("tasks", 2).Add("pipeline", "ci").Build();
  e.prev_hash = GenesisHash(1, kRun);
  e.hash = ComputeHash(e.prev_hash, e);
  return e;
}

Event ExampleFailed(const Event& prev) {
  Event e;
  e.format = 1;
  e.run_id = kRun;
  e.seq = 2;
  e.ts = 1732486512000000;
  e.kind = "task";
  e.subject = "test[shard=2]";
  e.from = "running";
  e.to = "failed";
  e.cause = "exit_nonzero";
  e.reason = "exit code 2 in \"make test\"";
  e.data = DataBuilder().Add("exit_code", 2).Add("attempt", 1).Build();
  e.prev_hash = prev.hash;
  e.hash = ComputeHash(e.prev_hash, e);
  return e;
}

constexpr char kExampleBytes2[] =
    R"({"cause":"exit_nonzero","data":{"attempt":1,"exit_code":2},"from":"running",)"
    R"("kind":"task","reason":"exit code 2 in \"make test\"","run":"01JD7Z8Q4M3X2V5T6R8N9P0K1A",)"
    R"("seq":2,"subject":"test[shard=2]","to":"failed","ts":1732486512000000})";
constexpr char kExampleHash1[] = "af34b4c2d31a1eb25ffc1850b304961a23aeae321b3808298d486cbb30c0742a";
constexpr char kExampleHash2[] = "c9ed4b4f685ce0c5e018f09160db2bf5981fc8de220359ced057429d8947a0a7";

std::vector<Event> Chain(int n) {
  std::vector<Event> out;
  out.push_back(ExampleCreated());
  for (int i = 2; i <= n; ++i) {
    Event e = ExampleFailed(out.back());
    e.seq = i;
    e.subject = "t" + std::to_string(i);
    e.hash = ComputeHash(e.prev_hash, e);
    out.push_back(e);
  }
  return out;
}

// The worked example of format 2 (what relay writes) in docs/ledger-format.md,
// cross-checked with Python's hashlib.
constexpr char kV2Genesis[] = "2eeee3b3015b555ff10a14abcb1b21997a2ce9f0af95b1776891eaa674b9e105";
constexpr char kV2Bytes1[] =
    R"([1,1732486509123456,"run","","","pending","created","",{"pipeline":"ci","tasks":2}])";
constexpr char kV2Bytes2[] =
    R"([2,1732486512000000,"task","test[shard=2]","running","failed","exit_nonzero",)"
    R"("exit code 2 in \"make test\"",{"duration_us":1500000,"exit_code":2}])";
constexpr char kV2Hash1[] = "541b079c46c035520bb7470febb6ad1a7f960e38faf0f926929342b041f6e2dc";
constexpr char kV2Hash2[] = "04669e5fba680626c887a0ce92cae2c3b355710a02a86e5843ed1409a3d1139c";

std::vector<Event> V2Example() {
  Event e1;
  e1.run_id = kRun;
  e1.seq = 1;
  e1.ts = 1732486509123456;
  e1.kind = "run";
  e1.to = "pending";
  e1.cause = "created";
  e1.data = DataBuilder().Add("tasks", 2).Add("pipeline", "ci").Build();
  e1.prev_hash = GenesisHash(2, kRun);
  e1.hash = ComputeHash(e1.prev_hash, e1);
  Event e2;
  e2.run_id = kRun;
  e2.seq = 2;
  e2.ts = 1732486512000000;
  e2.kind = "task";
  e2.subject = "test[shard=2]";
  e2.from = "running";
  e2.to = "failed";
  e2.cause = "exit_nonzero";
  e2.reason = "exit code 2 in \"make test\"";
  e2.data = DataBuilder().Add("exit_code", 2).Add("duration_us", 1500000).Build();
  e2.prev_hash = e1.hash;
  e2.hash = ComputeHash(e2.prev_hash, e2);
  return {e1, e2};
}

TEST(CanonicalBytesTest, Format2GoldenExample) {
  EXPECT_EQ(GenesisHash(2, kRun), kV2Genesis);
  EXPECT_EQ(GenesisHash(1, kRun), std::string(64, '0'));
  std::vector<Event> c = V2Example();
  EXPECT_EQ(CanonicalBytes(c[0]), kV2Bytes1);
  EXPECT_EQ(CanonicalBytes(c[1]), kV2Bytes2);
  EXPECT_EQ(c[0].hash, kV2Hash1);
  EXPECT_EQ(c[1].hash, kV2Hash2);
  VerifyResult r = VerifyChain(c);
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(CanonicalBytesTest, Format2DecodesToTheSameFields) {
  for (const Event& want : V2Example()) {
    Event got;
    ASSERT_TRUE(DecodeCanonical(CanonicalBytes(want), &got)) << got.malformed;
    EXPECT_EQ(got.seq, want.seq);
    EXPECT_EQ(got.ts, want.ts);
    EXPECT_EQ(got.kind, want.kind);
    EXPECT_EQ(got.subject, want.subject);
    EXPECT_EQ(got.from, want.from);
    EXPECT_EQ(got.to, want.to);
    EXPECT_EQ(got.cause, want.cause);
    EXPECT_EQ(got.reason, want.reason);
    EXPECT_EQ(got.data, want.data);
    EXPECT_EQ(CanonicalBytes(got), CanonicalBytes(want));
  }
}

// The store writes events from their fields (EventFields): the same bytes.
TEST(CanonicalBytesTest, Format2FromFieldsIsTheSame) {
  for (Event e : V2Example()) {
    for (const char* data : {"", "{}", "{\"a\":1}"}) {
      if (*data || e.data.empty()) e.data = data;
      const std::string want = CanonicalBytes(e);
      std::string got = "x";
      AppendCanonicalBytes(got, EventFields{e.seq, e.ts, e.kind, e.subject, e.from, e.to, e.cause,
                                            e.reason, e.data});
      EXPECT_EQ(got, "x" + want);
    }
  }
}

TEST(CanonicalBytesTest, Format2KeepsAnyBytesOfAStep) {
  // Outputs and reasons may hold what a process printed: control bytes and
  // invalid UTF-8 must survive a round trip unchanged.
  Event e = V2Example()[1];
  e.reason = std::string("bad \xff") + " byte \x01" + " and \xc3\xa9" + " and a " + '\0' + " nul";
  e.data = DataBuilder().AddJson("outputs", "{\"v\":\"\\u0001\xff\"}").Build();
  Event got;
  ASSERT_TRUE(DecodeCanonical(CanonicalBytes(e), &got)) << got.malformed;
  EXPECT_EQ(got.reason, e.reason);
  EXPECT_EQ(got.data, e.data);
}

// Format 2 encodes strings with its own writer; it must escape exactly as
// AppendJsonString does, wherever in a string the byte to escape falls.
TEST(CanonicalBytesTest, Format2EscapesLikeEveryJsonString) {
  for (char special : {'"', '\\', '\n', '\x01', '\x1f', '\x7f', '\xc3'}) {
    for (size_t len = 0; len < 40; ++len) {
      for (size_t at = 0; at <= len; ++at) {
        std::string text(len, 'a');
        if (at < len) text[at] = special;
        Event e = V2Example()[1];
        e.reason = text;
        std::string want =
            "[2,1732486512000000,\"task\",\"test[shard=2]\",\"running\",\"failed\","
            "\"exit_nonzero\",";
        AppendJsonString(want, text);
        want += "," + e.data + "]";
        ASSERT_EQ(CanonicalBytes(e), want) << "len " << len << " at " << at;
      }
    }
  }
}

TEST(CanonicalBytesTest, Format2AcceptsOnlyTheCanonicalSpelling) {
  // The same fields written another way: a verifier hashing the stored
  // bytes would disagree with one hashing the fields, so neither is valid.
  for (const char* other :
       {R"([1, 1732486509123456,"run","","","pending","created","",{"pipeline":"ci","tasks":2}])",
        "[1,1732486509123456,\"\\u0072un\",\"\",\"\",\"pending\",\"created\",\"\","
        "{\"pipeline\":\"ci\",\"tasks\":2}]",
        R"([01,1732486509123456,"run","","","pending","created","",{"pipeline":"ci","tasks":2}])",
        R"([1,1732486509123456,"run","","","pending","created","",{"tasks":2,"pipeline":"ci"}])",
        R"([1,1732486509123456,"run","","","pending","created","",{"pipeline":"ci", "tasks":2}])",
        R"([1,1732486509123456,"run","","","pending","created","",{"pipeline":"ci","tasks":2.0}])",
        R"([1,1732486509123456,"run","","","pending","created","",{"a":1,"a":1}])"}) {
    Event e;
    EXPECT_FALSE(DecodeCanonical(other, &e)) << other;
    EXPECT_NE(e.malformed.find("canonical"), std::string::npos) << other;
  }
  Event e;
  EXPECT_TRUE(DecodeCanonical(kV2Bytes1, &e)) << e.malformed;
}

TEST(CanonicalBytesTest, Format2RejectsWhatIsNotAnEvent) {
  for (const char* bad : {"", "[]", "{}", "[1,2]", R"([1,2,"run","","","pending","created","",{})",
                          R"([1,2,"run","","","pending","created","",{}] x)",
                          R"(["1",2,"run","","","pending","created","",{}])",
                          R"([1,2.5,"run","","","pending","created","",{}])",
                          R"([1,2,"run","","","pending","created","",[]])",
                          R"([1,2,run,"","","pending","created","",{}])"}) {
    Event e;
    EXPECT_FALSE(DecodeCanonical(bad, &e)) << bad;
    EXPECT_FALSE(e.malformed.empty()) << bad;
  }
}

TEST(VerifyChainTest, Format2DetectsEditsAndForeignGenesis) {
  std::vector<Event> c = V2Example();
  c[1].reason = "exit code 0";
  VerifyResult r = VerifyChain(c);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.broken_seq, 2);

  // The same events cannot be passed off as another run's: the genesis is
  // derived from the run id.
  c = V2Example();
  for (Event& e : c) e.run_id = "01OTHER";
  c[0].prev_hash = GenesisHash(2, "01OTHER");
  r = VerifyChain(c);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.broken_seq, 1);

  c = V2Example();
  c[1].malformed = "its stored bytes are not an event of ledger format 2";
  r = VerifyChain(c);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.broken_seq, 2);
  EXPECT_NE(r.message.find("stored bytes"), std::string::npos) << r.message;
}

TEST(VerifyChainTest, AChainMayMoveFromFormat1To2ButNotBack) {
  std::vector<Event> c = Chain(3);  // format 1
  Event next = V2Example()[1];
  next.seq = 4;
  next.prev_hash = c.back().hash;
  next.hash = ComputeHash(next.prev_hash, next);
  c.push_back(next);
  VerifyResult r = VerifyChain(c);
  EXPECT_TRUE(r.ok) << r.message;

  Event back = c[1];
  back.seq = 5;
  back.prev_hash = c.back().hash;
  back.hash = ComputeHash(back.prev_hash, back);
  c.push_back(back);
  r = VerifyChain(c);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.broken_seq, 5);
}

TEST(Sha256Test, KnownVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(DigestToHex(Sha256("ab", "c")), Sha256Hex("abc"));
}

TEST(Sha256Test, HexRoundTripAndRejects) {
  Sha256Digest d;
  ASSERT_TRUE(HexToDigest(kExampleHash1, &d));
  EXPECT_EQ(DigestToHex(d), kExampleHash1);
  EXPECT_FALSE(HexToDigest("abc", &d));
  EXPECT_FALSE(HexToDigest(std::string(63, '0') + "g", &d));
}

TEST(CanonicalBytesTest, GoldenExample) {
  Event e1 = ExampleCreated();
  EXPECT_EQ(CanonicalBytes(e1),
            R"({"cause":"created","data":{"pipeline":"ci","tasks":2},"from":"","kind":"run",)"
            R"("reason":"","run":"01JD7Z8Q4M3X2V5T6R8N9P0K1A","seq":1,"subject":"","to":"pending",)"
            R"("ts":1732486509123456})");
  EXPECT_EQ(e1.hash, kExampleHash1);
  Event e2 = ExampleFailed(e1);
  EXPECT_EQ(CanonicalBytes(e2), kExampleBytes2);
  EXPECT_EQ(e2.hash, kExampleHash2);
}

TEST(CanonicalBytesTest, EmptyDataIsAnEmptyObject) {
  Event e = ExampleCreated();
  e.data = "";
  std::string with_empty = CanonicalBytes(e);
  e.data = "{}";
  EXPECT_EQ(with_empty, CanonicalBytes(e));
  EXPECT_NE(with_empty.find(R"("data":{},)"), std::string::npos);
}

TEST(CanonicalBytesTest, NegativeAndLargeIntegers) {
  Event e = ExampleCreated();
  e.ts = -5;
  e.seq = 9007199254740993;  // beyond a double's exact range: written as an integer
  std::string b = CanonicalBytes(e);
  EXPECT_NE(b.find(R"("seq":9007199254740993,)"), std::string::npos);
  EXPECT_NE(b.find(R"("ts":-5})"), std::string::npos);
}

TEST(JsonStringTest, EscapesOnlyQuoteBackslashAndControls) {
  std::string out;
  AppendJsonString(out, "a\"b\\c\b\f\n\r\t\x01\x1f\x7f/\xc3\xa9");
  EXPECT_EQ(out, std::string("\"a\\\"b\\\\c\\b\\f\\n\\r\\t\\u0001\\u001f\x7f/\xc3\xa9\""));
}

TEST(JsonStringTest, NulByteIsEscaped) {
  std::string out;
  AppendJsonString(out, std::string("x\0y", 3));
  EXPECT_EQ(out, "\"x\\u0000y\"");
}

TEST(DataBuilderTest, SortsKeysAndEncodesValues) {
  std::string d = DataBuilder()
                      .Add("z", "last")
                      .Add("a", 1)
                      .Add("m", true)
                      .Add("b", int64_t{-7})
                      .Add("q\"", "x\ny")
                      .Build();
  EXPECT_EQ(d, R"({"a":1,"b":-7,"m":true,"q\"":"x\ny","z":"last"})");
}

TEST(DataBuilderTest, EmbedsJsonAndMergesWithTheOtherWinning) {
  DataBuilder a;
  a.Add("x", 1).AddJson("out", R"({"k":"v"})");
  DataBuilder b;
  b.Add("x", 2).Add("a", "first");
  a.Merge(b);
  EXPECT_EQ(a.Build(), R"({"a":"first","out":{"k":"v"},"x":2})");
  std::string out = "prefix";
  a.AppendTo(out);
  EXPECT_EQ(out, "prefix" + a.Build());
  a.clear();
  EXPECT_TRUE(a.empty());
  EXPECT_EQ(a.Build(), "{}");
}

TEST(DataBuilderTest, EmptyAndDuplicateKeys) {
  EXPECT_EQ(DataBuilder().Build(), "{}");
  EXPECT_EQ(DataBuilder().Add("k", 1).Add("k", "two").Build(), R"({"k":"two"})");
}

TEST(ComputeHashTest, DependsOnPrevHashAndRejectsBadHex) {
  Event e = ExampleCreated();
  std::string other_prev = std::string(63, '0') + "1";
  EXPECT_NE(ComputeHash(other_prev, e), ComputeHash(GenesisHash(1, kRun), e));
  EXPECT_EQ(ComputeHash("not hex", e), "");
}

TEST(VerifyChainTest, ValidChainsPass) {
  EXPECT_TRUE(VerifyChain({}).ok);
  VerifyResult r = VerifyChain(Chain(10));
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(VerifyChainTest, DetectsModifiedField) {
  std::vector<Event> c = Chain(10);
  c[6].to = "succeeded";  // event 7 said failed
  VerifyResult r = VerifyChain(c);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.broken_seq, 7);
  EXPECT_EQ(r.message,
            "run 01JD7Z8Q4M3X2V5T6R8N9P0K1A: event 7 (task t7 running\u2192succeeded): hash does "
            "not match its contents \u2014 the event was changed after it was written");
}

TEST(VerifyChainTest, DetectsModifiedData) {
  std::vector<Event> c = Chain(4);
  c[3].data = R"({"attempt":1,"exit_code":0})";
  VerifyResult r = VerifyChain(c);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.broken_seq, 4);
}

TEST(VerifyChainTest, DetectsRehashedEventByTheNextLink) {
  // An editor who recomputes the changed event's hash breaks the next link.
  std::vector<Event> c = Chain(5);
  c[2].reason = "exit code 0";
  c[2].hash = ComputeHash(c[2].prev_hash, c[2]);
  VerifyResult r = VerifyChain(c);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.broken_seq, 4);
  EXPECT_NE(r.message.find("prev_hash does not match the hash of event 3"), std::string::npos)
      << r.message;
}

TEST(VerifyChainTest, DetectsDeletedEvent) {
  std::vector<Event> c = Chain(6);
  c.erase(c.begin() + 3);  // event 4
  VerifyResult r = VerifyChain(c);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.broken_seq, 4);
  EXPECT_NE(r.message.find("event 4: expected here, found event 5 (task t5 running\u2192failed)"),
            std::string::npos)
      << r.message;
  EXPECT_NE(r.message.find("deleted"), std::string::npos);
}

TEST(VerifyChainTest, DetectsDeletedAndRenumberedEvent) {
  std::vector<Event> c = Chain(6);
  c.erase(c.begin() + 3);
  for (size_t i = 3; i < c.size(); ++i) c[i].seq -= 1;
  VerifyResult r = VerifyChain(c);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.broken_seq, 4);
}

TEST(VerifyChainTest, DetectsReorderedEvents) {
  std::vector<Event> c = Chain(6);
  std::swap(c[2], c[3]);
  VerifyResult r = VerifyChain(c);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.broken_seq, 3);
  EXPECT_NE(r.message.find("found event 4"), std::string::npos) << r.message;
}

TEST(VerifyChainTest, DetectsBadGenesisAndForeignRun) {
  std::vector<Event> c = Chain(3);
  c[0].prev_hash = std::string(64, 'f');
  VerifyResult r = VerifyChain(c);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.broken_seq, 1);
  EXPECT_NE(r.message.find("genesis"), std::string::npos);

  c = Chain(3);
  c[2].run_id = "01OTHER";
  r = VerifyChain(c);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.broken_seq, 3);
}

TEST(VerifyChainTest, NamesTheRunBeingVerified) {
  std::vector<Event> c = Chain(3);
  EXPECT_TRUE(VerifyChain(c, kRun).ok);
  // Another run's whole, valid chain is not this run's.
  VerifyResult r = VerifyChain(c, "01OTHER");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.broken_seq, 1);
  // Every run has at least its `created` event.
  r = VerifyChain({}, kRun);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.message.find("no events"), std::string::npos) << r.message;
  EXPECT_TRUE(VerifyChain({}).ok);
}

TEST(ChainCheckerTest, ChecksAChainReadFromTheMiddle) {
  std::vector<Event> c = Chain(6);
  ChainChecker from_four(kRun, 4);
  for (size_t i = 3; i < c.size(); ++i) EXPECT_TRUE(from_four.Next(c[i]).ok) << i;
  ChainChecker gap(kRun, 4);
  EXPECT_TRUE(gap.Next(c[3]).ok);
  const VerifyResult& r = gap.Next(c[5]);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.broken_seq, 5);
  EXPECT_FALSE(gap.Next(c[4]).ok);  // the first failure stays
  EXPECT_EQ(gap.result().broken_seq, 5);
}

// A format-2 chain of one run whose events are the given transitions (kind,
// subject, from, to, cause), each hashed onto the one before: what an
// editor who recomputes every hash would leave.
std::vector<Event> Rehashed(
    const std::vector<std::tuple<const char*, const char*, const char*, const char*, const char*>>&
        steps) {
  std::vector<Event> out;
  for (const auto& [kind, subject, from, to, cause] : steps) {
    Event e;
    e.run_id = kRun;
    e.seq = static_cast<int64_t>(out.size()) + 1;
    e.ts = 1732486509123456 + e.seq;
    e.kind = kind;
    e.subject = subject;
    e.from = from;
    e.to = to;
    e.cause = cause;
    e.data = "{}";
    e.prev_hash = out.empty() ? GenesisHash(2, kRun) : out.back().hash;
    e.hash = ComputeHash(e.prev_hash, e);
    out.push_back(e);
  }
  return out;
}

// The hashes of a rewritten ledger can all be recomputed; what its events
// record cannot be made up: each is a transition of its state table, and a
// run moves on from where it was.
TEST(VerifyChainTest, EveryEventIsATransitionOfItsTable) {
  auto ok = Rehashed({{"run", "", "", "pending", "created"},
                      {"run", "", "pending", "running", "started"},
                      {"task", "t", "pending", "queued", "needs_met"},
                      {"run", "", "running", "cancelling", "cancel_requested"}});
  EXPECT_TRUE(VerifyChain(ok, kRun).ok) << VerifyChain(ok, kRun).message;

  // A pair the task table has, with a cause it does not have for it.
  VerifyResult r = VerifyChain(Rehashed(
      {{"run", "", "", "pending", "created"}, {"task", "t", "pending", "succeeded", "exit_zero"}}));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.broken_seq, 2);
  EXPECT_EQ(r.message,
            "run 01JD7Z8Q4M3X2V5T6R8N9P0K1A: event 2 (task t pending\u2192succeeded): task "
            "transition pending \u2192 succeeded (cause 'exit_zero') is not in the state table "
            "\u2014 the event was made up or changed");
  // A run transition outside its table.
  r = VerifyChain(Rehashed({{"run", "", "", "pending", "created"},
                            {"run", "", "pending", "succeeded", "all_succeeded"}}));
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.message.find("run transition pending \u2192 succeeded"), std::string::npos)
      << r.message;
  // A state no table has: a newer relay wrote it, or someone made it up.
  r = VerifyChain(Rehashed(
      {{"run", "", "", "pending", "created"}, {"task", "t", "pending", "paused", "needs_met"}}));
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.message.find("unknown task state 'paused'"), std::string::npos) << r.message;
  r = VerifyChain(
      Rehashed({{"run", "", "", "pending", "created"}, {"gate", "g", "checking", "passed", "ok"}}));
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.message.find("unknown kind of event 'gate'"), std::string::npos) << r.message;
}

TEST(VerifyChainTest, OnlyTheFirstEventCreatesTheRun) {
  VerifyResult r = VerifyChain(
      Rehashed({{"run", "", "", "pending", "created"}, {"run", "", "", "pending", "created"}}));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.broken_seq, 2);
  EXPECT_NE(r.message.find("only a run's first event may create it"), std::string::npos)
      << r.message;
  r = VerifyChain(Rehashed({{"run", "", "", "running", "created"}}));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.broken_seq, 1);
  // A chain whose creation was removed, and the rest renumbered and
  // re-hashed from the genesis: the run was nothing before its first event.
  for (auto first : {std::tuple{"run", "", "pending", "running", "started"},
                     std::tuple{"task", "t", "pending", "queued", "needs_met"}}) {
    r = VerifyChain(Rehashed({first}), kRun);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.broken_seq, 1);
    EXPECT_NE(r.message.find("a run's first event must create it"), std::string::npos) << r.message;
  }
}

TEST(VerifyChainTest, ARunMovesOnFromWhereItWas) {
  VerifyResult r = VerifyChain(Rehashed({{"run", "", "", "pending", "created"},
                                         {"run", "", "pending", "running", "started"},
                                         {"run", "", "pending", "running", "started"}}));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.broken_seq, 3);
  EXPECT_NE(r.message.find("the run moves from pending, but it was running"), std::string::npos)
      << r.message;
  // Read from the middle, the first run event's from is taken as given.
  auto c = Rehashed({{"run", "", "", "pending", "created"},
                     {"run", "", "pending", "running", "started"},
                     {"run", "", "running", "running", "resumed"}});
  ChainChecker from_three(kRun, 3);
  EXPECT_TRUE(from_three.Next(c[2]).ok) << from_three.result().message;
}

// Each task's continuity is the fold's to check as it rebuilds rows (the
// store's reads), or the checker's when asked (`relay ledger verify`).
TEST(ChainCheckerTest, TaskContinuityIsCheckedWhenAsked) {
  auto c = Rehashed({{"run", "", "", "pending", "created"},
                     {"task", "a", "pending", "queued", "needs_met"},
                     {"task", "b", "pending", "queued", "needs_met"},
                     {"task", "a", "claimed", "running", "started"}});  // a skipped claimed
  EXPECT_TRUE(VerifyChain(c, kRun).ok);
  ChainChecker every_task(kRun, 1, /*task_continuity=*/true);
  for (size_t i = 0; i < 3; ++i) EXPECT_TRUE(every_task.Next(c[i]).ok) << i;
  const VerifyResult& r = every_task.Next(c[3]);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.broken_seq, 4);
  EXPECT_NE(r.message.find("task 'a' moves from claimed, but it was queued"), std::string::npos)
      << r.message;
  // A task's first event starts from pending...
  auto first = Rehashed(
      {{"run", "", "", "pending", "created"}, {"task", "a", "queued", "claimed", "claimed"}});
  ChainChecker fresh(kRun, 1, true);
  EXPECT_TRUE(fresh.Next(first[0]).ok);
  EXPECT_FALSE(fresh.Next(first[1]).ok);
  EXPECT_NE(fresh.result().message.find("moves from queued, but it was pending"), std::string::npos)
      << fresh.result().message;
  // ...unless the chain is read from the middle: then from where it was.
  ChainChecker mid(kRun, 2, true);
  EXPECT_TRUE(mid.Next(first[1]).ok) << mid.result().message;
}

TEST(VerifyChainTest, RejectsMalformedHash) {
  std::vector<Event> c = Chain(1);
  c[0].hash = "ABC";
  VerifyResult r = VerifyChain(c);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.message.find("not 64 lowercase hex"), std::string::npos);
}

TEST(ToJsonLineTest, FieldsInOrderWithDataAsObject) {
  Event e = ExampleFailed(ExampleCreated());
  EXPECT_EQ(
      ToJsonLine(e),
      std::string(R"({"run":"01JD7Z8Q4M3X2V5T6R8N9P0K1A","seq":2,"ts":"2024-11-24T22:15:12.000Z",)"
                  R"("ts_us":1732486512000000,"kind":"task","subject":"test[shard=2]",)"
                  R"("from":"running","to":"failed","cause":"exit_nonzero",)"
                  R"("reason":"exit code 2 in \"make test\"","data":{"attempt":1,"exit_code":2},)"
                  R"("prev_hash":")") +
          kExampleHash1 + R"(","hash":")" + kExampleHash2 + R"(","format":1})");
}

TEST(ToJsonLineTest, SurvivesInvalidUtf8AndNonJsonData) {
  Event e = ExampleCreated();
  e.reason = "bad \xff byte";
  e.data = "not json";
  std::string line = ToJsonLine(e);
  EXPECT_NE(line.find(R"("data":"not json")"), std::string::npos) << line;
  EXPECT_NE(line.find("bad \xef\xbf\xbd byte"), std::string::npos) << line;
}

std::string SourceDir() {
  if (const char* d = std::getenv("RELAY_SOURCE_DIR")) return d;
  return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path().string();
}

TEST(LedgerFormatDocTest, WorkedExampleMatchesTheCode) {
  Result<std::string> doc = ReadFile(SourceDir() + "/docs/ledger-format.md");
  ASSERT_TRUE(doc.ok()) << doc.status().message();
  for (const char* text : {kV2Genesis, kV2Bytes1, kV2Bytes2, kV2Hash1, kV2Hash2})
    EXPECT_NE(doc->find(text), std::string::npos) << "the doc lacks " << text;
  EXPECT_NE(doc->find(kExampleBytes2), std::string::npos) << "the doc's canonical bytes differ";
  EXPECT_NE(doc->find(kExampleHash1), std::string::npos);
  EXPECT_NE(doc->find(kExampleHash2), std::string::npos);
}

}  // namespace
}  // namespace relay::events
