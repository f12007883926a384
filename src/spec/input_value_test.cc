// The typing rules of `-i name=value`, shared by with: literals.
#include "spec/input_value.h"

#include <gtest/gtest.h>

namespace relay::spec {
namespace {

InputSpec Input(InputType type, std::vector<std::string> options = {}) {
  InputSpec in;
  in.name = "x";
  in.type = type;
  in.options = std::move(options);
  return in;
}

std::string Error(const InputSpec& in, std::string_view text) {
  Result<nlohmann::json> r = ParseInputValue(in, text);
  return r.ok() ? "ok: " + r->dump() : r.status().message();
}

TEST(ParseInputValue, NumbersAsYamlWritesThem) {
  InputSpec n = Input(InputType::kNumber);
  EXPECT_EQ(Error(n, "42"), "ok: 42");
  EXPECT_EQ(Error(n, "-1.5"), "ok: -1.5");
  EXPECT_EQ(Error(n, "1e3"), "ok: 1000");
  EXPECT_EQ(Error(n, "0x1f"), "ok: 31");
  EXPECT_EQ(Error(n, "0o17"), "ok: 15");
  EXPECT_EQ(Error(n, "many"), "'many' is not a number");
  EXPECT_EQ(Error(n, ".inf"), "'.inf' is not a number");
  EXPECT_EQ(Error(n, ""), "'' is not a number");
  EXPECT_EQ(Error(n, " 3"), "' 3' is not a number: it has spaces around it");
}

TEST(ParseInputValue, BooleansAreTrueOrFalseInAnyCase) {
  InputSpec b = Input(InputType::kBoolean);
  EXPECT_EQ(Error(b, "true"), "ok: true");
  EXPECT_EQ(Error(b, "FaLsE"), "ok: false");
  EXPECT_EQ(Error(b, "yes"), "'yes' is not a boolean (use true or false)");
  EXPECT_EQ(Error(b, "1"), "'1' is not a boolean (use true or false)");
}

TEST(ParseInputValue, StringsAndChoicesKeepTheTextWithinTheirOptions) {
  EXPECT_EQ(Error(Input(InputType::kString), "0x1f"), "ok: \"0x1f\"");
  InputSpec c = Input(InputType::kChoice, {"staging", "production"});
  EXPECT_EQ(Error(c, "staging"), "ok: \"staging\"");
  EXPECT_EQ(Error(c, "Staging"), "'Staging' is not one of: staging, production");
  EXPECT_EQ(Error(Input(InputType::kString, {"a"}), "b"), "'b' is not one of: a");
}

TEST(InputTypeName, Names) {
  EXPECT_STREQ(InputTypeName(InputType::kChoice), "choice");
  EXPECT_STREQ(InputTypeName(InputType::kNumber), "number");
}

}  // namespace
}  // namespace relay::spec
