// The dialog layer (RFC 3261 §12): what a dialog takes from the INVITE or 2xx that makes it, which requests belong
// to it, and what the requests it builds carry.
#include "sip/dialog.hpp"
#include "sip_fakes.hpp"

#include <gtest/gtest.h>

namespace daily::devserver::sip {
namespace {

using namespace testing;

const std::string kInvite =
    "INVITE sip:room@127.0.0.1:5060 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 10.9.9.9:5070;branch=z9hG4bK-inv;rport\r\n"
    "Max-Forwards: 70\r\n"
    "From: \"Alice\" <sip:alice@example.com>;tag=a1\r\n"
    "To: <sip:room@127.0.0.1:5060>\r\n"
    "Call-ID: dlg-1@example.com\r\n"
    "CSeq: 7 INVITE\r\n"
    "Record-Route: <sip:p1.example.com;lr>\r\n"
    "Record-Route: <sip:p2.example.com;lr>\r\n"
    "Contact: <sip:alice@127.0.0.2:5072>\r\n"
    "Content-Length: 0\r\n\r\n";

struct Dialogs : ::testing::Test {
  ManualTimers clock;
  FakeTransport transport{clock};
  Flow from = peerFlow(5070);

  MessagePtr invite(const std::string& text = kInvite) {
    std::string why;
    auto m = parse(text, &why);
    EXPECT_TRUE(m) << why;
    return m;
  }
};

TEST_F(Dialogs, AnsweringTakesTheTargetTheRouteSetAndThePeerFromTheInvite) {
  auto m = invite();
  Dialog d = Dialog::answering(m.get(), from, "<sip:room@127.0.0.1:5060>", "us");
  EXPECT_EQ(d.callId, "dlg-1@example.com");
  EXPECT_EQ(d.remoteTag, "a1");
  EXPECT_EQ(d.localTag, "us");
  EXPECT_EQ(d.remoteTarget, "sip:alice@127.0.0.2:5072");
  // The UAS keeps the Record-Routes in their order (§12.1.1).
  EXPECT_EQ(d.routeSet, (std::vector<std::string>{"<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"}));
  EXPECT_EQ(d.peer, peerFlow(5072, "127.0.0.2"));  // the Contact is an IP literal
  EXPECT_EQ(d.remoteParty.find(";tag="), std::string::npos);
  EXPECT_NE(d.remoteParty.find("sip:alice@example.com"), std::string::npos);
}

TEST_F(Dialogs, OverTcpThePeerIsTheInvitesConnectionThenTheContact) {
  auto m = invite();
  Flow tcp{Protocol::Tcp, from.address, 40000, 7};  // from an ephemeral port, on connection 7
  Dialog d = Dialog::answering(m.get(), tcp, "<sip:room@127.0.0.1:5060>", "us");
  EXPECT_EQ(d.peer.protocol, Protocol::Tcp);
  EXPECT_EQ(d.peer.connection, 7u);                     // used while it is open
  EXPECT_EQ(d.peer.address.to_string(), "127.0.0.2");  // then the Contact's listening address
  EXPECT_EQ(d.peer.port, 5072);
  auto info = d.request("INFO", transport);
  EXPECT_NE(serialize(info.get()).find("Via: SIP/2.0/TCP "), std::string::npos);
  EXPECT_EQ(contactUri(info.get()), "sip:gateway@127.0.0.1:5060;transport=tcp");
}

TEST_F(Dialogs, AContactWithAHostNameLeavesThePeerWhereTheInviteCameFrom) {
  std::string text = kInvite;
  text.replace(text.find("127.0.0.2:5072"), 14, "alice.example.com");
  auto m = invite(text);
  Dialog d = Dialog::answering(m.get(), from, "<sip:room@127.0.0.1:5060>", "us");
  EXPECT_EQ(d.peer, from);
  EXPECT_EQ(d.remoteTarget, "sip:alice@alice.example.com");
}

TEST_F(Dialogs, WithoutAContactTheTargetIsTheFromUri) {
  std::string text = kInvite;
  text.erase(text.find("Contact: "), std::string("Contact: <sip:alice@127.0.0.2:5072>\r\n").size());
  auto m = invite(text);
  Dialog d = Dialog::answering(m.get(), from, "<sip:room@127.0.0.1:5060>", "us");
  EXPECT_EQ(d.remoteTarget, "sip:alice@example.com");
  EXPECT_EQ(d.peer, from);
}

TEST_F(Dialogs, MatchesARequestOnItsCallIdAndBothTags) {
  auto m = invite();
  Dialog d = Dialog::answering(m.get(), from, "<sip:room@127.0.0.1:5060>", "us");
  auto bye = [&](const std::string& callId, const std::string& toTag, const std::string& fromTag) {
    std::string text = requestText("BYE", "z9hG4bK-b", 8, toTag, "", callId);
    text.replace(text.find("tag=peer"), 8, "tag=" + fromTag);
    return parse(text, nullptr);
  };
  EXPECT_TRUE(d.matches(bye("dlg-1@example.com", "us", "a1").get()));
  EXPECT_FALSE(d.matches(bye("dlg-2@example.com", "us", "a1").get()));
  EXPECT_FALSE(d.matches(bye("dlg-1@example.com", "them", "a1").get()));
  EXPECT_FALSE(d.matches(bye("dlg-1@example.com", "us", "a2").get()));
}

TEST_F(Dialogs, ARequestWithinTheDialogCarriesTheNextCSeqBothTagsOurContactAndTheRouteSet) {
  auto m = invite();
  Dialog d = Dialog::answering(m.get(), from, "<sip:room@127.0.0.1:5060>", "us");
  auto refer = d.request("REFER", transport);
  ASSERT_TRUE(refer);
  EXPECT_EQ(method(refer.get()), "REFER");
  EXPECT_EQ(requestUri(refer.get()), "sip:alice@127.0.0.2:5072");
  EXPECT_EQ(cseq(refer.get()), 2u);  // our own CSeq space, from 1
  EXPECT_EQ(fromTag(refer.get()), "us");
  EXPECT_EQ(toTag(refer.get()), "a1");
  EXPECT_EQ(callId(refer.get()), "dlg-1@example.com");
  EXPECT_EQ(contactUri(refer.get()), "sip:gateway@127.0.0.1:5060");
  EXPECT_EQ(osip_list_size(&refer->routes), 2);
  EXPECT_EQ(topBranch(refer.get()).rfind("z9hG4bK", 0), 0u);
  auto info = d.request("INFO", transport);
  EXPECT_EQ(cseq(info.get()), 3u);
  EXPECT_NE(topBranch(info.get()), topBranch(refer.get()));
}

TEST_F(Dialogs, ConfirmTakesTheRemoteTagAndContactAndReversesTheRecordRoutes) {
  Dialog d = Dialog::calling("out-1@127.0.0.1", "<sip:room@127.0.0.1:5060>", "sip:bob@127.0.0.3:5080",
                             peerFlow(5080), "us");
  std::string branch;
  auto inv = d.invite(transport, &branch);
  ASSERT_TRUE(inv);
  EXPECT_EQ(cseq(inv.get()), 1u);
  EXPECT_EQ(toTag(inv.get()), "");
  EXPECT_EQ(topBranch(inv.get()), branch);
  auto ok = newResponse(inv.get(), 200, "b1");
  osip_message_set_contact(ok.get(), "<sip:bob@127.0.0.4:5090>");
  osip_message_set_record_route(ok.get(), "<sip:p1.example.com;lr>");
  osip_message_set_record_route(ok.get(), "<sip:p2.example.com;lr>");
  d.confirm(ok.get());
  EXPECT_EQ(d.remoteTag, "b1");
  EXPECT_EQ(d.remoteTarget, "sip:bob@127.0.0.4:5090");
  EXPECT_EQ(d.peer, peerFlow(5090, "127.0.0.4"));
  // The UAC reverses them (§12.1.2).
  EXPECT_EQ(d.routeSet, (std::vector<std::string>{"<sip:p2.example.com;lr>", "<sip:p1.example.com;lr>"}));
  auto ack = d.ackFor2xx(transport);
  EXPECT_EQ(method(ack.get()), "ACK");
  EXPECT_EQ(cseq(ack.get()), 1u);  // the INVITE's
  EXPECT_NE(topBranch(ack.get()), branch);  // a 2xx ACK is a transaction of its own
  EXPECT_EQ(toTag(ack.get()), "b1");
  EXPECT_EQ(requestUri(ack.get()), "sip:bob@127.0.0.4:5090");
}

TEST_F(Dialogs, ACancelCopiesTheInvitesViaRequestUriFromToAndCSeqNumber) {
  Dialog d = Dialog::calling("out-2@127.0.0.1", "<sip:room@127.0.0.1:5060>", "sip:bob@127.0.0.3:5080",
                             peerFlow(5080), "us");
  std::string branch;
  auto inv = d.invite(transport, &branch);
  auto cancel = d.cancelOf(inv.get());
  ASSERT_TRUE(cancel);
  EXPECT_EQ(method(cancel.get()), "CANCEL");
  EXPECT_EQ(topBranch(cancel.get()), branch);
  EXPECT_EQ(requestUri(cancel.get()), "sip:bob@127.0.0.3:5080");
  EXPECT_EQ(cseq(cancel.get()), 1u);
  EXPECT_EQ(fromTag(cancel.get()), "us");
  EXPECT_EQ(toTag(cancel.get()), "");
}

}  // namespace
}  // namespace daily::devserver::sip
