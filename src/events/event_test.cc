#include "events/event.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "base/file_util.h"
#include "events/sha256.h"

namespace relay::events {
namespace {

constexpr char kRun[] = "01JD7Z8Q4M3X2V5T6R8N9P0K1A";

// The worked example of docs/ledger-format.md: the doc and this test must
// agree, and the hashes were cross-checked with Python's hashlib.
Event ExampleCreated() {
  Event e;
  e.run_id = kRun;
  e.seq = 1;
  e.ts = 1732486509123456;
  e.kind = "run";
  e.to = "pending";
  e.cause = "created";
  e.data = DataBuilder().Add("tasks", 2).Add("pipeline", "ci").Build();
  e.prev_hash = GenesisHash();
  e.hash = ComputeHash(e.prev_hash, e);
  return e;
}

Event ExampleFailed(const Event& prev) {
  Event e;
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

TEST(DataBuilderTest, EmptyAndDuplicateKeys) {
  EXPECT_EQ(DataBuilder().Build(), "{}");
  EXPECT_EQ(DataBuilder().Add("k", 1).Add("k", "two").Build(), R"({"k":"two"})");
}

TEST(ComputeHashTest, DependsOnPrevHashAndRejectsBadHex) {
  Event e = ExampleCreated();
  std::string other_prev = std::string(63, '0') + "1";
  EXPECT_NE(ComputeHash(other_prev, e), ComputeHash(GenesisHash(), e));
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
  EXPECT_NE(r.message.find("expected event 4 here, found event 5"), std::string::npos) << r.message;
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
          kExampleHash1 + R"(","hash":")" + kExampleHash2 + R"("})");
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
  EXPECT_NE(doc->find(kExampleBytes2), std::string::npos) << "the doc's canonical bytes differ";
  EXPECT_NE(doc->find(kExampleHash1), std::string::npos);
  EXPECT_NE(doc->find(kExampleHash2), std::string::npos);
}

}  // namespace
}  // namespace relay::events
