#include "common/base64.hpp"

#include <gtest/gtest.h>

namespace daily::detail {
namespace {

TEST(Base64, KnownVectors) {
  EXPECT_EQ(base64Encode(""), "");
  EXPECT_EQ(base64Encode("f"), "Zg==");
  EXPECT_EQ(base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64Decode("Zm9vYg=="), "foob");
  EXPECT_EQ(base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_EQ(base64UrlDecode("-_8"), std::string("\xfb\xff"));
}

TEST(Base64, RoundTripsEveryByte) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (std::size_t n = 0; n < all.size(); n += 37) {
    EXPECT_EQ(base64Decode(base64Encode(all.substr(0, n))), all.substr(0, n));
    EXPECT_EQ(base64UrlDecode(base64UrlEncode(all.substr(0, n))), all.substr(0, n));
  }
}

TEST(Base64, RejectsMalformedInput) {
  for (const char* bad : {"Zg=", "Z", "Zm9v YmFy", "Zm9v\nYmFy", "Zm=v", "****"}) EXPECT_FALSE(base64Decode(bad)) << bad;
  for (const char* bad : {"a", "ab+c", "ab/c", "a b"}) EXPECT_FALSE(base64UrlDecode(bad)) << bad;
  // "Zg" is canonical for "f"; "Zh" carries the same byte with a padding bit set: refused.
  EXPECT_EQ(base64UrlDecode("Zg"), std::string("f"));
  EXPECT_FALSE(base64UrlDecode("Zh"));
}

}  // namespace
}  // namespace daily::detail
