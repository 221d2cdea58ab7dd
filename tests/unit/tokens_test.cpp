#include "common/base64.hpp"
#include "tokens.hpp"

#include <gtest/gtest.h>

namespace daily::devserver {
namespace {

using nlohmann::json;

const TokenSigner kSigner("secret-key", "domain-1");

std::string make(const json& properties) {
  std::string why;
  auto t = kSigner.create(properties, &why);
  EXPECT_TRUE(t) << why;
  return t.value_or("");
}

TEST(Tokens, RoundTripCarriesDailyClaims) {
  const std::string token = make({{"room_name", "hello"}, {"is_owner", true}, {"user_name", "Bot"}, {"user_id", "u1"},
                                  {"permissions", {{"canAdmin", json::array({"participants"})}}}});
  TokenError error;
  auto claims = kSigner.verify(token, "hello", false, &error);
  ASSERT_TRUE(claims) << error.message;
  EXPECT_EQ(claims->roomName, "hello");
  EXPECT_TRUE(claims->isOwner);
  EXPECT_EQ(claims->userName, "Bot");
  EXPECT_EQ(claims->userId, "u1");
  EXPECT_TRUE(claims->isAdmin());
  EXPECT_EQ(claims->toProperties()["room_name"], "hello");
  // The payload uses Daily's short claim names.
  const std::string payload = *detail::base64UrlDecode(token.substr(token.find('.') + 1, token.rfind('.') - token.find('.') - 1));
  const json c = json::parse(payload);
  EXPECT_EQ(c["r"], "hello");
  EXPECT_EQ(c["o"], true);
  EXPECT_EQ(c["u"], "Bot");
  EXPECT_EQ(c["ud"], "u1");
  EXPECT_EQ(c["d"], "domain-1");
}

TEST(Tokens, RefusesForgedExpiredEarlyAndForeignTokens) {
  const std::int64_t now = unixNow();
  TokenError e;
  EXPECT_FALSE(kSigner.verify(make({{"room_name", "hello"}}), "other", false, &e));
  EXPECT_EQ(e.message, "meeting token is for another room");
  EXPECT_FALSE(kSigner.verify(make({{"exp", now - 10}}), "hello", false, &e));
  EXPECT_EQ(e.type, "exp-token");
  EXPECT_FALSE(kSigner.verify(make({{"nbf", now + 3600}}), "hello", false, &e));
  EXPECT_EQ(e.type, "nbf-token");
  EXPECT_TRUE(kSigner.verify(make({{"nbf", now + 3600}}), "hello", true, &e));  // ignoreNbf

  const TokenSigner other("another-key", "domain-1");
  std::string why;
  EXPECT_FALSE(kSigner.verify(*other.create({{"is_owner", true}}, &why), "hello", false, &e));
  EXPECT_EQ(e.message, "meeting token signature is invalid");

  // Flip the owner claim without re-signing.
  std::string token = make({{"is_owner", false}});
  const std::size_t a = token.find('.'), b = token.rfind('.');
  json c = json::parse(*detail::base64UrlDecode(token.substr(a + 1, b - a - 1)));
  c["o"] = true;
  const std::string tampered = token.substr(0, a + 1) + detail::base64UrlEncode(c.dump()) + token.substr(b);
  EXPECT_FALSE(kSigner.verify(tampered, "hello", false, &e));

  // The same signature bytes written with a padding bit set: not the token that was signed.
  std::string token2 = make({{"is_owner", false}});
  char& last = token2.back();
  last = static_cast<char>(last + 1);
  EXPECT_FALSE(kSigner.verify(token2, "hello", false, &e));

  // alg "none" with an empty signature.
  const std::string none = detail::base64UrlEncode(R"({"alg":"none","typ":"JWT"})") + "." +
                           detail::base64UrlEncode(R"({"o":true})") + ".";
  EXPECT_FALSE(kSigner.verify(none, "hello", false, &e));
  EXPECT_EQ(e.message, "meeting token must be signed with HS256");

  for (const std::string& bad : std::vector<std::string>{"", "abc", "a.b", "a.b.c.d", "!!.??.**", std::string(9000, 'a')})
    EXPECT_FALSE(kSigner.verify(bad, "hello", false, &e)) << bad.substr(0, 20);
}

TEST(Tokens, CreateChecksPropertyTypes) {
  std::string why;
  EXPECT_FALSE(kSigner.create({{"is_owner", "yes"}}, &why));
  EXPECT_FALSE(kSigner.create({{"exp", "tomorrow"}}, &why));
  EXPECT_FALSE(kSigner.create({{"permissions", {{"canAdmin", json::array({"everything"})}}}}, &why));
  EXPECT_FALSE(kSigner.create({{"user_id", std::string(40, 'x')}}, &why));
  EXPECT_FALSE(kSigner.create(json::array(), &why));
}

}  // namespace
}  // namespace daily::devserver
