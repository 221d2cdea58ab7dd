// The transaction layer (RFC 3261 §17) over a fake transport and a manual clock, in the manner of pjsip's
// tsx_uac_test and tsx_uas_test: what a client transaction sends and when, what reaches its user, and what a
// server transaction repeats.
#include "sip/transaction.hpp"
#include "sip_fakes.hpp"

#include <gtest/gtest.h>

#include <optional>

namespace daily::devserver::sip {
namespace {

using namespace testing;

// T1 500 ms, T2 4 s, Timer B/F 32 s: RFC 3261's defaults.
struct Transactions : ::testing::Test {
  ManualTimers clock;
  FakeTransport wire{clock};
  TransactionLayer layer{wire, clock, TransactionConfig{500ms, 4000ms, 32000ms}};
  std::vector<MessagePtr> requests;     // what went up to the user
  std::vector<std::string> strays;      // status lines of responses no transaction took
  std::vector<int> responses;           // what a client transaction's user was given
  int timeouts = 0;
  int transportFailures = 0;

  void SetUp() override {
    wire.onReceive([this](std::string_view m, const Flow& from) { layer.receive(m, from); });
    layer.setUser({[this](MessagePtr r, const Flow&) { requests.push_back(std::move(r)); },
                   [this](osip_message_t* r, const Flow&) {
                     strays.push_back(std::to_string(status(r)) + " " + method(r));
                   }});
  }

  // Starts a client transaction for one of our requests.
  TransactionLayer::ClientHandle send(const std::string& m, const std::string& branch = "z9hG4bK-ours") {
    auto request = newRequest(m, "sip:alice@127.0.0.1:5070",
                              "SIP/2.0/UDP 127.0.0.1:5060;branch=" + branch + ";rport", "<sip:room@127.0.0.1>;tag=us",
                              "<sip:alice@127.0.0.1>", "call-1@127.0.0.1", 2);
    return layer.request(request.get(), peerFlow(),
                         [this](osip_message_t* r) { responses.push_back(status(r)); },
                         [this](Failure f) { ++(f == Failure::Timeout ? timeouts : transportFailures); });
  }
  // The peer answers the first message we sent.
  void answer(int code) { wire.arrive(responseTo(wire.sent.front().wire, code), peerFlow()); }
};

std::vector<long long> gaps(const std::vector<long long>& times) {
  std::vector<long long> out;
  for (std::size_t i = 1; i < times.size(); ++i) out.push_back(times[i] - times[i - 1]);
  return out;
}

TEST_F(Transactions, ANonInviteRequestIsRetransmittedFromT1DoublingUpToT2) {
  send("INFO");
  clock.advance(20000ms);
  EXPECT_EQ(gaps(wire.times()), (std::vector<long long>{500, 1000, 2000, 4000, 4000, 4000, 4000}));
  EXPECT_TRUE(responses.empty());
}

TEST_F(Transactions, AProvisionalResponseSlowsANonInviteRequestToT2) {
  send("INFO");
  clock.advance(600ms);  // sent at 0 and 500
  answer(100);
  clock.advance(9000ms);
  // §17.1.2.2: Timer E, already set for 1500, fires in Proceeding and is reset to T2 from then on.
  EXPECT_EQ(wire.times(), (std::vector<long long>{0, 500, 1500, 5500, 9500}));
  EXPECT_EQ(responses, (std::vector<int>{100}));
}

TEST_F(Transactions, AnInviteIsRetransmittedDoublingUntilItsFirstProvisional) {
  send("INVITE");
  clock.advance(3600ms);
  EXPECT_EQ(wire.times(), (std::vector<long long>{0, 500, 1500, 3500}));
  answer(180);
  clock.advance(20000ms);
  EXPECT_EQ(wire.sent.size(), 4u);
  EXPECT_EQ(responses, (std::vector<int>{180}));
}

TEST_F(Transactions, AFinalResponseIsDeliveredOnceAndItsRepetitionsAreAbsorbed) {
  send("BYE");
  answer(200);
  answer(200);
  clock.advance(40000ms);
  EXPECT_EQ(responses, (std::vector<int>{200}));
  EXPECT_EQ(wire.sent.size(), 1u);  // no retransmission after the final response
  EXPECT_EQ(timeouts, 0);
  EXPECT_TRUE(strays.empty());
  EXPECT_EQ(layer.clientCount(), 0u);  // it lingered (Timer K) and is gone
}

TEST_F(Transactions, ATransactionWithoutAFinalAnswerTimesOutAt64T1AndSendsNoMore) {
  send("INFO");
  clock.advance(31999ms);
  EXPECT_EQ(timeouts, 0);
  const std::size_t sent = wire.sent.size();
  clock.advance(1ms);
  EXPECT_EQ(timeouts, 1);
  clock.advance(60000ms);
  EXPECT_EQ(wire.sent.size(), sent);
  EXPECT_EQ(timeouts, 1);
  EXPECT_EQ(layer.clientCount(), 0u);
  answer(200);  // too late: nobody waits for it
  EXPECT_TRUE(responses.empty());
  EXPECT_EQ(strays, (std::vector<std::string>{"200 INFO"}));
}

TEST_F(Transactions, ANon2xxFinalToAnInviteIsAckedInTheTransactionAndSoIsEachRepetition) {
  send("INVITE", "z9hG4bK-inv");
  answer(486);
  ASSERT_EQ(wire.sent.size(), 2u);
  auto ack = wire.last();
  ASSERT_TRUE(ack);
  EXPECT_EQ(method(ack.get()), "ACK");
  EXPECT_EQ(topBranch(ack.get()), "z9hG4bK-inv");  // §17.1.1.3: the INVITE's branch
  EXPECT_EQ(cseq(ack.get()), 2u);
  EXPECT_EQ(toTag(ack.get()), "peer");               // the To of the response
  EXPECT_EQ(requestUri(ack.get()), "sip:alice@127.0.0.1:5070");
  answer(486);
  EXPECT_EQ(wire.sent.size(), 3u);
  EXPECT_EQ(method(wire.last().get()), "ACK");
  EXPECT_EQ(responses, (std::vector<int>{486}));
}

TEST_F(Transactions, A2xxRepeatedWhileTheInviteTransactionLingersGoesUpForTheDialogToAck) {
  send("INVITE");
  answer(200);
  EXPECT_EQ(responses, (std::vector<int>{200}));
  EXPECT_EQ(wire.sent.size(), 1u);  // a 2xx is ACKed by the dialog, not the transaction
  answer(200);
  answer(200);
  EXPECT_EQ(responses, (std::vector<int>{200}));  // RFC 6026: not the transaction's user's business again...
  EXPECT_EQ(strays, (std::vector<std::string>{"200 INVITE", "200 INVITE"}));  // ...but the dialog's
  EXPECT_EQ(wire.sent.size(), 1u);
}

TEST_F(Transactions, AnInvitesNon2xxFinalIsRetransmittedUntilItsAckWhichTheTransactionAbsorbs) {
  wire.arrive(requestText("INVITE", "z9hG4bK-inv"), peerFlow());
  ASSERT_EQ(requests.size(), 1u);
  layer.respond(requests[0].get(), peerFlow(), 486, "us");
  clock.advance(3600ms);
  // Timer G: T1, doubling.
  EXPECT_EQ(wire.times(), (std::vector<long long>{0, 500, 1500, 3500}));
  wire.arrive(requestText("ACK", "z9hG4bK-inv", 1, "us"), peerFlow());
  EXPECT_EQ(requests.size(), 1u);  // the ACK of a failure stays in the transaction
  clock.advance(60000ms);
  EXPECT_EQ(wire.sent.size(), 4u);
}

TEST_F(Transactions, TimerGIsCappedAtT2AndEndsWithTheTransaction) {
  wire.arrive(requestText("INVITE", "z9hG4bK-inv"), peerFlow());
  layer.respond(requests[0].get(), peerFlow(), 404, {});
  clock.advance(40000ms);
  const auto g = gaps(wire.times());
  ASSERT_GE(g.size(), 5u);
  EXPECT_EQ((std::vector<long long>(g.begin(), g.begin() + 5)), (std::vector<long long>{500, 1000, 2000, 4000, 4000}));
  EXPECT_LE(wire.sent.back().at, 32000);  // nothing after Timer H
  EXPECT_EQ(layer.serverCount(), 0u);
}

TEST_F(Transactions, A2xxToAnInviteIsNotRetransmittedByTheTransactionAndItsAckGoesUp) {
  wire.arrive(requestText("INVITE", "z9hG4bK-inv"), peerFlow());
  layer.respond(requests[0].get(), peerFlow(), 200, "us");
  clock.advance(10000ms);
  EXPECT_EQ(wire.sent.size(), 1u);  // 2xx retransmission is the INVITE usage's (§13.3.1.4)
  wire.arrive(requestText("ACK", "z9hG4bK-inv", 1, "us"), peerFlow());  // a peer reusing the INVITE's branch
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(method(requests[1].get()), "ACK");
}

TEST_F(Transactions, ServerTransactionsAreMatchedOnBranchAndSentBy) {
  const std::string first = requestText("INFO", "z9hG4bK-same", 2, "us");
  std::string other = first;
  other.replace(other.find("Via: SIP/2.0/UDP 127.0.0.1:5070"), 31, "Via: SIP/2.0/UDP 127.0.0.9:5070");
  wire.arrive(first, peerFlow());
  layer.respond(requests[0].get(), peerFlow(), 200, {});
  wire.arrive(other, peerFlow());  // the same branch from another sender is another transaction (§17.2.3)
  EXPECT_EQ(requests.size(), 2u);
  wire.arrive(first, peerFlow());
  EXPECT_EQ(requests.size(), 2u);
}

TEST_F(Transactions, AFinalResponseOutsideADialogGetsAToTag) {
  wire.arrive(requestText("OPTIONS", "z9hG4bK-opt"), peerFlow());
  layer.respond(requests[0].get(), peerFlow(), 100, {});
  EXPECT_EQ(toTag(wire.last().get()), "");
  layer.respond(requests[0].get(), peerFlow(), 404, {});
  EXPECT_FALSE(toTag(wire.last().get()).empty());
  wire.arrive(requestText("BYE", "z9hG4bK-bye", 2, "theirs-for-us"), peerFlow());
  layer.respond(requests[1].get(), peerFlow(), 481, {});
  EXPECT_EQ(toTag(wire.last().get()), "theirs-for-us");  // a tag already there is kept
}

TEST_F(Transactions, AResponseTellsThePeerWhereItsRequestCameFrom) {
  // rport asked for, from where the Via says: rport and received are filled in (RFC 3581 4).
  wire.arrive(requestText("OPTIONS", "z9hG4bK-r1"), peerFlow(5070));
  layer.respond(requests[0].get(), peerFlow(5070), 200, {});
  EXPECT_NE(wire.sent.back().wire.find("Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-r1;rport=5070;received=127.0.0.1"),
            std::string::npos) << wire.sent.back().wire;
  // From somewhere else than its Via says (a NAT): both say where it really came from.
  wire.arrive(requestText("OPTIONS", "z9hG4bK-r2"), peerFlow(40000, "127.0.0.9"));
  layer.respond(requests[1].get(), peerFlow(40000, "127.0.0.9"), 200, {});
  EXPECT_NE(wire.sent.back().wire.find(";rport=40000;received=127.0.0.9"), std::string::npos) << wire.sent.back().wire;
  // No rport asked for, and the host is right: the Via is left as it was.
  std::string plain = requestText("OPTIONS", "z9hG4bK-r3");
  plain.replace(plain.find(";rport"), 6, "");
  wire.arrive(plain, peerFlow(5070));
  layer.respond(requests[2].get(), peerFlow(5070), 200, {});
  EXPECT_NE(wire.sent.back().wire.find("Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-r3\r\n"), std::string::npos)
      << wire.sent.back().wire;
  // No rport, another host: received alone (RFC 3261 18.2.1).
  wire.arrive(plain.replace(plain.find("z9hG4bK-r3"), 10, "z9hG4bK-r4"), peerFlow(5070, "127.0.0.9"));
  layer.respond(requests[3].get(), peerFlow(5070, "127.0.0.9"), 200, {});
  EXPECT_NE(wire.sent.back().wire.find("branch=z9hG4bK-r4;received=127.0.0.9\r\n"), std::string::npos)
      << wire.sent.back().wire;
}

TEST_F(Transactions, AReliableTransportIsNotRetransmittedOn) {
  wire.setReliable(true);
  send("INFO");
  clock.advance(31999ms);
  EXPECT_EQ(wire.sent.size(), 1u);
  clock.advance(1ms);
  EXPECT_EQ(timeouts, 1);  // Timer F still runs
}

TEST_F(Transactions, AnAbandonedTransactionSendsNothingMoreAndReportsNothing) {
  auto handle = send("REFER");
  clock.advance(600ms);
  layer.abandon(handle);
  const std::size_t sent = wire.sent.size();
  clock.advance(60000ms);
  EXPECT_EQ(wire.sent.size(), sent);
  EXPECT_EQ(timeouts, 0);
  EXPECT_TRUE(responses.empty());
}

TEST_F(Transactions, AServerTransactionRepeatsItsLastResponseToARetransmittedRequest) {
  const std::string bye = requestText("BYE", "z9hG4bK-bye", 2, "us");
  wire.arrive(bye, peerFlow());
  ASSERT_EQ(requests.size(), 1u);
  layer.respond(requests[0].get(), peerFlow(), 200, {});
  wire.arrive(bye, peerFlow());
  wire.arrive(bye, peerFlow());
  EXPECT_EQ(requests.size(), 1u);  // absorbed
  ASSERT_EQ(wire.sent.size(), 3u);
  EXPECT_EQ(wire.sent[1].wire, wire.sent[0].wire);
  EXPECT_EQ(wire.sent[2].wire, wire.sent[0].wire);
  clock.advance(32000ms);  // Timer J
  EXPECT_EQ(layer.serverCount(), 0u);
  wire.arrive(bye, peerFlow());
  EXPECT_EQ(requests.size(), 2u);
}

TEST_F(Transactions, ARequestRetransmittedBeforeAnyResponseIsAbsorbedOnlyOnceAnswered) {
  const std::string info = requestText("INFO", "z9hG4bK-info", 2, "us");
  wire.arrive(info, peerFlow());
  wire.arrive(info, peerFlow());  // no server transaction yet: the user decides (and answers) each
  EXPECT_EQ(requests.size(), 2u);
  EXPECT_TRUE(wire.sent.empty());
}

TEST_F(Transactions, AnInviteServerTransactionKeepsItsRequestForALaterAnswer) {
  wire.arrive(requestText("INVITE", "z9hG4bK-inv"), peerFlow());
  ASSERT_EQ(requests.size(), 1u);
  const std::string key = TransactionLayer::serverKey(requests[0].get());
  EXPECT_FALSE(layer.hasServer(key));
  layer.respond(requests[0].get(), peerFlow(), 100, {});
  layer.keep(std::move(requests[0]));
  ASSERT_TRUE(layer.hasServer(key));
  osip_message_t* kept = layer.kept(key);
  ASSERT_TRUE(kept);
  EXPECT_EQ(method(kept), "INVITE");
  const std::string ok = layer.respond(kept, peerFlow(), 200, "us");
  EXPECT_EQ(wire.sent.back().wire, ok);
}

TEST_F(Transactions, AnAckAlwaysGoesUpToTheUser) {
  wire.arrive(requestText("INVITE", "z9hG4bK-inv"), peerFlow());
  layer.respond(requests[0].get(), peerFlow(), 200, "us");
  wire.arrive(requestText("ACK", "z9hG4bK-ack", 1, "us"), peerFlow());  // no transaction of its own: both go up
  wire.arrive(requestText("ACK", "z9hG4bK-ack", 1, "us"), peerFlow());
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(method(requests[1].get()), "ACK");
}

TEST_F(Transactions, AMalformedRequestGetsA400AndAMalformedResponseNothing) {
  std::string noCseq = requestText("OPTIONS", "z9hG4bK-opt");
  noCseq.erase(noCseq.find("CSeq: 1 OPTIONS\r\n"), 17);
  std::string badCseq = requestText("OPTIONS", "z9hG4bK-opt2");
  badCseq.replace(badCseq.find("CSeq: 1 OPTIONS"), 15, "CSeq: 1 INVITE");
  wire.arrive(badCseq, peerFlow());  // osip reads it; RFC 3261's checks refuse it
  ASSERT_EQ(wire.sent.size(), 1u);
  EXPECT_EQ(status(wire.last().get()), 400);
  wire.arrive(noCseq, peerFlow());  // too little to address an answer to
  wire.arrive("SIP/2.0 200 OK\r\nVia: x\r\n\r\n", peerFlow());
  wire.arrive("\r\n\r\n", peerFlow());  // a keepalive
  EXPECT_EQ(wire.sent.size(), 1u);
  EXPECT_TRUE(requests.empty());
  EXPECT_TRUE(strays.empty());
}

TEST_F(Transactions, ClearAbandonsEverythingWithoutCallbacks) {
  send("INFO", "z9hG4bK-1");
  send("INVITE", "z9hG4bK-2");
  layer.clear();
  const std::size_t sent = wire.sent.size();
  clock.advance(60000ms);
  EXPECT_EQ(wire.sent.size(), sent);
  EXPECT_EQ(timeouts, 0);
  EXPECT_EQ(clock.pending(), 0u);
}

// §18.1.1: a request longer than 1300 bytes is not sent over UDP (the path MTU is unknown) but over TCP to the
// same address and port, its top Via saying so; a peer that does not take TCP gets it over UDP after all.
struct LongRequests : Transactions {
  TransactionLayer::ClientHandle sendLong(const std::string& m, std::size_t padding = 1400) {
    auto request = newRequest(m, "sip:alice@127.0.0.1:5070", "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-long;rport",
                              "<sip:room@127.0.0.1>;tag=us", "<sip:alice@127.0.0.1>", "call-1@127.0.0.1", 2);
    addHeader(request.get(), "X-Pad", std::string(padding, 'a'));
    return layer.request(request.get(), peerFlow(), [this](osip_message_t* r) { responses.push_back(status(r)); },
                         [this](Failure f) { ++(f == Failure::Timeout ? timeouts : transportFailures); });
  }
  static std::string topVia(const std::string& wire) {
    const std::size_t at = wire.find("\r\nVia: ") + 7;
    return wire.substr(at, wire.find("\r\n", at) - at);
  }
};

TEST_F(LongRequests, GoOnceOverTcpWithATcpViaAndAreNotRetransmitted) {
  sendLong("INVITE");
  clock.advance(10000ms);
  ASSERT_EQ(wire.sent.size(), 1u);
  EXPECT_EQ(wire.sent[0].to.protocol, Protocol::Tcp);
  EXPECT_EQ(wire.sent[0].to.port, 5070);
  EXPECT_EQ(topVia(wire.sent[0].wire), "SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK-long;rport");
  answer(486);  // the ACK of a failure goes the same way
  ASSERT_EQ(wire.sent.size(), 2u);
  EXPECT_EQ(wire.sent[1].to.protocol, Protocol::Tcp);
  EXPECT_EQ(topVia(wire.sent[1].wire).rfind("SIP/2.0/TCP ", 0), 0u);
  EXPECT_EQ(responses, (std::vector<int>{486}));
}

TEST_F(LongRequests, ShortOnesStayOnUdp) {
  sendLong("INFO", 800);
  ASSERT_EQ(wire.sent.size(), 1u);
  EXPECT_EQ(wire.sent[0].to.protocol, Protocol::Udp);
  EXPECT_EQ(topVia(wire.sent[0].wire).rfind("SIP/2.0/UDP ", 0), 0u);
}

TEST_F(LongRequests, ATcpConnectionThatCannotBeMadeSendsItOverUdpAfterAll) {
  sendLong("INFO");
  ASSERT_EQ(wire.errors.size(), 1u);
  wire.errors[0]("connection refused");
  ASSERT_EQ(wire.sent.size(), 2u);
  EXPECT_EQ(wire.sent[1].to.protocol, Protocol::Udp);
  EXPECT_EQ(topVia(wire.sent[1].wire), "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-long;rport");
  EXPECT_EQ(transportFailures, 0);
  clock.advance(1600ms);  // and it is retransmitted as UDP is: at 500 and 1500
  EXPECT_EQ(wire.times(), (std::vector<long long>{0, 0, 500, 1500}));
  answer(200);
  EXPECT_EQ(responses, (std::vector<int>{200}));
}

TEST_F(LongRequests, ACancelFollowsItsInviteOverTcp) {
  sendLong("INVITE");
  answer(180);
  auto cancel = newRequest("CANCEL", "sip:alice@127.0.0.1:5070", "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-long;rport",
                           "<sip:room@127.0.0.1>;tag=us", "<sip:alice@127.0.0.1>", "call-1@127.0.0.1", 2);
  layer.request(cancel.get(), peerFlow(), {}, {});
  ASSERT_EQ(wire.sent.size(), 2u);
  EXPECT_EQ(wire.sent[1].to.protocol, Protocol::Tcp);
  EXPECT_EQ(topVia(wire.sent[1].wire), "SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK-long;rport");
}

TEST(TimerSlot, StartingAgainReplacesAndDestroyingCancels) {
  ManualTimers clock;
  std::vector<int> fired;
  {
    Timer timer(clock);
    timer.start(100ms, [&] { fired.push_back(1); });
    timer.start(200ms, [&] { fired.push_back(2); });
    clock.advance(150ms);
    EXPECT_TRUE(fired.empty());
    clock.advance(50ms);
    EXPECT_EQ(fired, (std::vector<int>{2}));
    EXPECT_FALSE(timer.pending());
    timer.start(100ms, [&] { fired.push_back(3); });
    EXPECT_TRUE(timer.pending());
  }
  clock.advance(1000ms);
  EXPECT_EQ(fired, (std::vector<int>{2}));
  EXPECT_EQ(clock.pending(), 0u);
}

TEST(TimerSlot, ItsCallbackMayDestroyItsOwner) {
  ManualTimers clock;
  auto owner = std::make_unique<Timer>(clock);
  bool fired = false;
  owner->start(10ms, [&] {
    owner.reset();
    fired = true;
  });
  clock.advance(10ms);
  EXPECT_TRUE(fired);
  EXPECT_FALSE(owner);
}

}  // namespace
}  // namespace daily::devserver::sip
