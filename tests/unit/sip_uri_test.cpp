#include <daily/sip_uri.hpp>

#include <gtest/gtest.h>

namespace daily {
namespace {

TEST(SipUri, AcceptsSipSipsAndTel) {
  for (const char* uri : {"sip:support@example.com", "sip:example.com", "sips:bob@10.0.0.1:5061",
                          "sip:alice@127.0.0.1:5070;transport=udp", "sip:+14155550100@pbx.example.com;user=phone",
                          "sip:bob@[2001:db8::1]:5060", "SIP:Bob@Example.COM", "tel:+14155550100",
                          "tel:+1-415-555-0100;phone-context=example.com", "sip:a%20b@example.com",
                          "sip:queue@example.com?X-Queue=sales"}) {
    EXPECT_EQ(validateSipUri(uri), "") << uri;
  }
}

TEST(SipUri, RejectsHeaderInjectionAndGarbage) {
  const std::string bad[] = {"",
                             "support@example.com",
                             "http://example.com",
                             "sip:",
                             "sip:bob@",
                             "sip:@example.com",
                             "sip:bob@example.com\r\nX-Evil: 1",
                             "sip:bob@example.com\nVia: x",
                             "sip:bob@example.com\r",
                             std::string("sip:bob@exa\0mple.com", 20),
                             "sip:bob@example.com\x01",
                             "sip:bob@example.com>",
                             "<sip:bob@example.com",
                             "sip:bob@example.com>;evil=1<",
                             "sip:bob@example.com\"",
                             "sip:bob @example.com",
                             "sip:bob@example.com\t",
                             "sip:bob@exa_mple.com",
                             "sip:bob@example.com:0",
                             "sip:bob@example.com:99999",
                             "sip:bob@example.com:",
                             "sip:bob@[zz::1]",
                             "sip:bob@example.com?X-A=%0d%0aVia:x",
                             "sip:bob@example.com%",
                             "sip:bob@example.com%4",
                             "sip:b\xc3\xa9@example.com",
                             "tel:",
                             "tel:abc",
                             "sip:" + std::string(1100, 'a') + "@example.com"};
  for (const auto& uri : bad) EXPECT_NE(validateSipUri(uri), "") << uri;
}

TEST(SipUri, Headers) {
  EXPECT_EQ(validateSipHeader("X-Customer-Id", "12345"), "");
  EXPECT_EQ(validateSipHeader("X-Note", "hello\tworld"), "");
  EXPECT_NE(validateSipHeader("", "v"), "");
  EXPECT_NE(validateSipHeader("X Bad", "v"), "");
  EXPECT_NE(validateSipHeader("X-Bad:", "v"), "");
  EXPECT_NE(validateSipHeader("X-A", "v\r\nVia: evil"), "");
  EXPECT_NE(validateSipHeader("X-A", std::string("v\0w", 3)), "");
  EXPECT_NE(validateSipHeader("Via", "SIP/2.0/UDP evil"), "");
  EXPECT_NE(validateSipHeader("refer-to", "<sip:x@y>"), "");
  EXPECT_NE(validateSipHeader("CSeq", "1 BYE"), "");
}

}  // namespace
}  // namespace daily
