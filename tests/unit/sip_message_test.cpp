#include "sip/message.hpp"

#include <gtest/gtest.h>

namespace daily::devserver::sip {
namespace {

const std::string kInvite =
    "INVITE sip:hello@127.0.0.1:5060 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-abc;rport\r\n"
    "Max-Forwards: 70\r\n"
    "From: \"Alice\" <sip:alice@127.0.0.1:5070>;tag=111\r\n"
    "To: <sip:hello@127.0.0.1:5060>\r\n"
    "Call-ID: call-1@127.0.0.1\r\n"
    "CSeq: 1 INVITE\r\n"
    "Contact: <sip:alice@127.0.0.1:5070>\r\n"
    "X-Customer: 42\r\n"
    "Content-Type: application/sdp\r\n"
    "Content-Length: 4\r\n"
    "\r\n"
    "v=0\n";

std::string without(const std::string& line) {
  std::string m = kInvite;
  m.erase(m.find(line), line.size());
  return m;
}

TEST(SipMessage, ParsesARealInvite) {
  std::string why;
  auto m = parse(kInvite, &why);
  ASSERT_TRUE(m) << why;
  EXPECT_TRUE(isRequest(m.get()));
  EXPECT_EQ(method(m.get()), "INVITE");
  EXPECT_EQ(callId(m.get()), "call-1@127.0.0.1");
  EXPECT_EQ(cseq(m.get()), 1u);
  EXPECT_EQ(topBranch(m.get()), "z9hG4bK-abc");
  EXPECT_EQ(fromTag(m.get()), "111");
  EXPECT_EQ(toTag(m.get()), "");
  EXPECT_EQ(fromDisplayName(m.get()), "Alice");
  EXPECT_EQ(fromUri(m.get()), "sip:alice@127.0.0.1:5070");
  EXPECT_EQ(requestUser(m.get()), "hello");
  auto contact = uriTarget(contactUri(m.get()));
  ASSERT_TRUE(contact);
  EXPECT_EQ(contact->host, "127.0.0.1");
  EXPECT_EQ(contact->port, 5070);
  EXPECT_EQ(contentType(m.get()), "application/sdp");
  EXPECT_EQ(body(m.get()), "v=0\n");
  auto x = extensionHeaders(m.get());
  ASSERT_EQ(x.size(), 1u);
  EXPECT_EQ(x[0].second, "42");
}

TEST(SipMessage, RejectsMissingMandatoryHeaders) {
  for (const char* line : {"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-abc;rport\r\n", "Max-Forwards: 70\r\n",
                           "From: \"Alice\" <sip:alice@127.0.0.1:5070>;tag=111\r\n", "To: <sip:hello@127.0.0.1:5060>\r\n",
                           "Call-ID: call-1@127.0.0.1\r\n", "CSeq: 1 INVITE\r\n"}) {
    std::string why;
    EXPECT_FALSE(parse(without(line), &why)) << line;
    EXPECT_FALSE(why.empty());
  }
}

TEST(SipMessage, RejectsLiesThatOsipAccepts) {
  std::string why;
  std::string m = kInvite;
  m.replace(m.find("Content-Length: 4"), 17, "Content-Length: -5");
  EXPECT_FALSE(parse(m, &why));
  m = kInvite;
  m.replace(m.find("CSeq: 1 INVITE"), 14, "CSeq: 1 BYE");
  EXPECT_FALSE(parse(m, &why));
  EXPECT_EQ(why, "CSeq method does not match");
  m = kInvite;
  m.replace(m.find("Content-Length: 4"), 17, "Content-Length: 99999");
  EXPECT_FALSE(parse(m, &why));
  EXPECT_FALSE(parse("garbage", &why));
  EXPECT_FALSE(parse(std::string(100, '\0'), &why));
}

TEST(SipMessage, ResponsesCopyTheTransactionHeadersAndAddATag) {
  auto invite = parse(kInvite, nullptr);
  ASSERT_TRUE(invite);
  auto r = newResponse(invite.get(), 180, "gw-tag");
  const std::string wire = serialize(r.get());
  EXPECT_NE(wire.find("SIP/2.0 180 Ringing"), std::string::npos) << wire;
  auto back = parse(wire, nullptr);
  ASSERT_TRUE(back) << wire;
  EXPECT_EQ(status(back.get()), 180);
  EXPECT_EQ(toTag(back.get()), "gw-tag");
  EXPECT_EQ(callId(back.get()), "call-1@127.0.0.1");
  EXPECT_EQ(topBranch(back.get()), "z9hG4bK-abc");
  EXPECT_EQ(method(back.get()), "INVITE");
}

TEST(SipMessage, BuildsRequestsWithBodies) {
  auto refer = newRequest("REFER", "sip:alice@127.0.0.1:5070", "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKx",
                          "<sip:hello@127.0.0.1:5060>;tag=a", "<sip:alice@127.0.0.1:5070>;tag=b", "c-1", 2);
  ASSERT_TRUE(refer);
  addHeader(refer.get(), "Refer-To", "<sip:support@10.0.0.1>");
  setBody(refer.get(), "text/plain", "hi");
  auto back = parse(serialize(refer.get()), nullptr);
  ASSERT_TRUE(back) << serialize(refer.get());
  EXPECT_EQ(header(back.get(), "refer-to"), "<sip:support@10.0.0.1>");
  EXPECT_EQ(body(back.get()), "hi");
  EXPECT_EQ(cseq(back.get()), 2u);
}

TEST(SipMessage, SipfragStatus) {
  EXPECT_EQ(sipfragStatus("SIP/2.0 200 OK\r\n"), 200);
  EXPECT_EQ(sipfragStatus("SIP/2.0 100 Trying"), 100);
  EXPECT_EQ(sipfragStatus("SIP/2.0 486 Busy Here"), 486);
  EXPECT_EQ(sipfragStatus("SIP/2.0 2000 OK"), 0);
  EXPECT_EQ(sipfragStatus("SIP/2.0 099 x"), 0);
  EXPECT_EQ(sipfragStatus("INVITE sip:x SIP/2.0"), 0);
  EXPECT_EQ(sipfragStatus(""), 0);
}

}  // namespace
}  // namespace daily::devserver::sip
