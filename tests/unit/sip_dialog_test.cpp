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
    "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-inv;rport\r\n"
    "Max-Forwards: 70\r\n"
    "From: \"Alice\" <sip:alice@example.com>;tag=a1\r\n"
    "To: <sip:room@127.0.0.1:5060>\r\n"
    "Call-ID: dlg-1@example.com\r\n"
    "CSeq: 7 INVITE\r\n"
    "Contact: <sip:alice@127.0.0.2:5072>\r\n"
    "Content-Length: 0\r\n\r\n";

// kInvite as it arrives through two Record-Routing proxies, the nearest (127.0.0.5:5065) first.
std::string routed(const std::string& first = "<sip:127.0.0.5:5065;lr>", const std::string& second = "<sip:p2.example.com;lr>") {
  std::string text = kInvite;
  text.insert(text.find("Contact: "), "Record-Route: " + first + "\r\nRecord-Route: " + second + "\r\n");
  return text;
}

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

TEST_F(Dialogs, AnsweringTakesTheTargetAndThePeerFromTheInvite) {
  auto m = invite();
  Dialog d = Dialog::answering(m.get(), from, "<sip:room@127.0.0.1:5060>", "us");
  EXPECT_EQ(d.callId, "dlg-1@example.com");
  EXPECT_EQ(d.remoteTag, "a1");
  EXPECT_EQ(d.localTag, "us");
  EXPECT_EQ(d.remoteTarget, "sip:alice@127.0.0.2:5072");
  EXPECT_TRUE(d.routeSet.empty());
  EXPECT_EQ(d.peer, peerFlow(5072, "127.0.0.2"));  // no route set: the Contact, an IP literal
  EXPECT_FALSE(d.natted);
  EXPECT_EQ(d.remoteParty.find(";tag="), std::string::npos);
  EXPECT_NE(d.remoteParty.find("sip:alice@example.com"), std::string::npos);
}

TEST_F(Dialogs, ThroughProxiesTheRouteSetIsTheRecordRoutesAndThePeerTheFirstOfThem) {
  auto m = invite(routed());
  Dialog d = Dialog::answering(m.get(), peerFlow(5065, "127.0.0.5"), "<sip:room@127.0.0.1:5060>", "us");
  // The UAS keeps the Record-Routes in their order (§12.1.1); the first is the proxy nearest to us.
  EXPECT_EQ(d.routeSet, (std::vector<std::string>{"<sip:127.0.0.5:5065;lr>", "<sip:p2.example.com;lr>"}));
  EXPECT_EQ(d.peer, peerFlow(5065, "127.0.0.5"));  // not the caller's Contact: it may be reachable only through them
  auto bye = d.request("BYE", transport);
  EXPECT_EQ(requestUri(bye.get()), "sip:alice@127.0.0.2:5072");  // loose routing: the Request-URI is the target
  const std::string wire = serialize(bye.get());
  const auto first = wire.find("Route: <sip:127.0.0.5:5065;lr>");
  ASSERT_NE(first, std::string::npos) << wire;
  EXPECT_NE(wire.find("Route: <sip:p2.example.com;lr>", first), std::string::npos) << wire;
}

TEST_F(Dialogs, AFirstRouteThatNamesAHostLeavesThePeerWhereTheInviteCameFrom) {
  auto m = invite(routed("<sip:p1.example.com;lr>"));
  Dialog d = Dialog::answering(m.get(), peerFlow(5065, "127.0.0.5"), "<sip:room@127.0.0.1:5060>", "us");
  EXPECT_EQ(d.peer, peerFlow(5065, "127.0.0.5"));  // no DNS: the proxy that sent the INVITE
}

TEST_F(Dialogs, AStrictRouterFirstBecomesTheRequestUriAndTheTargetTheLastRoute) {
  auto m = invite(routed("<sip:127.0.0.5:5065>", "<sip:127.0.0.6;lr>"));
  Dialog d = Dialog::answering(m.get(), peerFlow(5065, "127.0.0.5"), "<sip:room@127.0.0.1:5060>", "us");
  EXPECT_EQ(d.peer, peerFlow(5065, "127.0.0.5"));
  auto bye = d.request("BYE", transport);
  EXPECT_EQ(requestUri(bye.get()), "sip:127.0.0.5:5065");  // §12.2.1.1, RFC 2543's strict routing
  const std::string wire = serialize(bye.get());
  const auto second = wire.find("Route: <sip:127.0.0.6;lr>");
  ASSERT_NE(second, std::string::npos) << wire;
  EXPECT_NE(wire.find("Route: <sip:alice@127.0.0.2:5072>", second), std::string::npos) << wire;
  EXPECT_EQ(wire.find("Route: <sip:127.0.0.5:5065>"), std::string::npos) << wire;
}

TEST_F(Dialogs, ACallerBehindANatIsAnsweredWhereItsPacketsComeFrom) {
  // Its Via and Contact name its private address; the NAT's public side sent the INVITE.
  std::string text = kInvite;
  text.replace(text.find("127.0.0.1:5070"), 14, "192.168.1.20:5070");
  text.replace(text.find("127.0.0.2:5072"), 14, "192.168.1.20:5070");
  auto m = invite(text);
  const Flow nat = peerFlow(40123, "127.0.0.9");
  Dialog d = Dialog::answering(m.get(), nat, "<sip:room@127.0.0.1:5060>", "us");
  EXPECT_TRUE(d.natted);
  EXPECT_EQ(d.peer, nat);
  EXPECT_EQ(d.remoteTarget, "sip:alice@192.168.1.20:5070");  // still the Request-URI of what we send it
  // A proxy on the path is trusted with the NAT: the first route is the next hop.
  auto viaProxy = invite(routed());
  EXPECT_FALSE(Dialog::answering(viaProxy.get(), nat, "<sip:room@127.0.0.1:5060>", "us").natted);
  // Over TCP the source port is the connection's: never a sign of NAT.
  EXPECT_FALSE(behindNat(m.get(), Flow{Protocol::Tcp, nat.address, 40123, 3}));
  EXPECT_FALSE(behindNat(invite().get(), from));
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
  EXPECT_EQ(osip_list_size(&refer->routes), 0);
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
  osip_message_set_record_route(ok.get(), "<sip:127.0.0.7:5067;lr>");
  d.confirm(ok.get());
  EXPECT_EQ(d.remoteTag, "b1");
  EXPECT_EQ(d.remoteTarget, "sip:bob@127.0.0.4:5090");
  // The UAC reverses them (§12.1.2): the last Record-Route is the proxy nearest to us, the next hop.
  EXPECT_EQ(d.routeSet, (std::vector<std::string>{"<sip:127.0.0.7:5067;lr>", "<sip:p1.example.com;lr>"}));
  EXPECT_EQ(d.peer, peerFlow(5067, "127.0.0.7"));
  auto ack = d.ackFor2xx(transport);
  EXPECT_EQ(method(ack.get()), "ACK");
  EXPECT_EQ(cseq(ack.get()), 1u);  // the INVITE's
  EXPECT_NE(topBranch(ack.get()), branch);  // a 2xx ACK is a transaction of its own
  EXPECT_EQ(toTag(ack.get()), "b1");
  EXPECT_EQ(requestUri(ack.get()), "sip:bob@127.0.0.4:5090");
}

TEST_F(Dialogs, WithoutRecordRoutesTheContactIsTheNextHop) {
  Dialog d = Dialog::calling("out-3@127.0.0.1", "<sip:room@127.0.0.1:5060>", "sip:bob@127.0.0.3:5080",
                             peerFlow(5080, "127.0.0.3"), "us");
  std::string branch;
  auto inv = d.invite(transport, &branch);
  auto ok = newResponse(inv.get(), 200, "b1");
  osip_message_set_contact(ok.get(), "<sip:bob@127.0.0.4:5090;transport=tcp>");
  d.confirm(ok.get());
  EXPECT_EQ(d.peer, (Flow{Protocol::Tcp, peerFlow(5090, "127.0.0.4").address, 5090, 0}));  // its transport
  EXPECT_TRUE(d.routeSet.empty());
}

TEST_F(Dialogs, AnOutboundProxyIsAPreloadedRouteUntilTheAnswersRecordRoutesReplaceIt) {
  const Flow proxy = peerFlow(5066, "127.0.0.8");
  Dialog d = Dialog::calling("out-4@127.0.0.1", "<sip:room@127.0.0.1:5060>", "sip:bob@bob.example.com", proxy, "us",
                             {"<sip:127.0.0.8:5066;lr>"});
  std::string branch;
  auto inv = d.invite(transport, &branch);
  EXPECT_EQ(requestUri(inv.get()), "sip:bob@bob.example.com");  // the proxy routes by it
  EXPECT_NE(serialize(inv.get()).find("Route: <sip:127.0.0.8:5066;lr>"), std::string::npos);
  // Its CANCEL takes the same route (§9.1).
  auto cancel = d.cancelOf(inv.get());
  EXPECT_NE(serialize(cancel.get()).find("Route: <sip:127.0.0.8:5066;lr>"), std::string::npos);
  // The proxy record-routed: it stays on the path, on the flow the INVITE took.
  auto ok = newResponse(inv.get(), 200, "b1");
  osip_message_set_contact(ok.get(), "<sip:bob@127.0.0.4:5090>");
  osip_message_set_record_route(ok.get(), "<sip:127.0.0.8:5066;lr>");
  d.confirm(ok.get());
  EXPECT_EQ(d.peer, proxy);
  auto bye = d.request("BYE", transport);
  EXPECT_EQ(requestUri(bye.get()), "sip:bob@127.0.0.4:5090");
  EXPECT_NE(serialize(bye.get()).find("Route: <sip:127.0.0.8:5066;lr>"), std::string::npos);
  // One that did not record-route leaves the path (§12.1.2: the route set is the 2xx's Record-Routes).
  Dialog direct = Dialog::calling("out-5@127.0.0.1", "<sip:room@127.0.0.1:5060>", "sip:bob@bob.example.com", proxy,
                                  "us", {"<sip:127.0.0.8:5066;lr>"});
  auto ok2 = newResponse(direct.invite(transport, &branch).get(), 200, "b2");
  osip_message_set_contact(ok2.get(), "<sip:bob@127.0.0.4:5090>");
  direct.confirm(ok2.get());
  EXPECT_TRUE(direct.routeSet.empty());
  EXPECT_EQ(direct.peer, peerFlow(5090, "127.0.0.4"));
}

TEST_F(Dialogs, FlowToUriReadsTheHostPortAndTransportOfAUri) {
  EXPECT_EQ(flowToUri("sip:a@127.0.0.3"), peerFlow(5060, "127.0.0.3"));
  EXPECT_EQ(flowToUri("<sip:127.0.0.3:5070;lr>"), peerFlow(5070, "127.0.0.3"));
  EXPECT_EQ(flowToUri("sip:a@127.0.0.3;transport=TCP")->protocol, Protocol::Tcp);
  EXPECT_EQ(flowToUri("sip:a@127.0.0.3", Protocol::Tcp)->protocol, Protocol::Tcp);  // the fallback
  EXPECT_EQ(flowToUri("sip:a@127.0.0.3;transport=udp", Protocol::Tcp)->protocol, Protocol::Udp);
  EXPECT_EQ(flowToUri("sip:a@[::1]:5070")->address.to_string(), "::1");
  EXPECT_FALSE(flowToUri("sip:a@example.com"));        // no DNS
  EXPECT_EQ(flowToUri("sips:a@127.0.0.3"), (Flow{Protocol::Tls, peerFlow(1, "127.0.0.3").address, 5061, 0}));
  EXPECT_EQ(flowToUri("sip:a@127.0.0.3:5070;transport=tls"), (Flow{Protocol::Tls, peerFlow(1, "127.0.0.3").address, 5070, 0}));
  EXPECT_EQ(flowToUri("sips:a@127.0.0.3;transport=tcp")->protocol, Protocol::Tls);  // sips: is TLS on every hop
  EXPECT_FALSE(flowToUri("sip:a@127.0.0.3;transport=sctp"));
  EXPECT_FALSE(flowToUri("sip:a@127.0.0.3:99999"));
  EXPECT_FALSE(flowToUri("tel:+15551234"));
  EXPECT_FALSE(flowToUri("<sip:a@127.0.0.3"));
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
