// The INVITE session's answering side without a wire (RFC 3261 §13.3.1.4): our 2xx is retransmitted from T1
// doubling to T2 until its ACK, given up on after 64*T1, and what waits for the ACK hears how it went.
#include "sip/invite.hpp"
#include "sip_fakes.hpp"

#include <gtest/gtest.h>

namespace daily::devserver::sip {
namespace {

using namespace testing;

struct Answered : ::testing::Test {
  ManualTimers clock;
  FakeTransport wire{clock};
  Flow peer = peerFlow();
  AnsweredInvite invite{wire, clock};
  int noAcks = 0;
  std::vector<bool> heard;

  void start() {
    invite.start("SIP/2.0 200 OK\r\n\r\n", &peer, {500ms, 4000ms, 32000ms}, [this] { ++noAcks; });
  }
  void wait() { invite.whenAcked([this](bool acked) { heard.push_back(acked); }); }
};

TEST_F(Answered, The2xxGoesAgainFromT1DoublingToT2UntilTheAck) {
  start();
  clock.advance(12000ms);
  EXPECT_EQ(wire.times(), (std::vector<long long>{500, 1500, 3500, 7500, 11500}));
  wait();
  EXPECT_TRUE(heard.empty());
  invite.acked();
  EXPECT_EQ(heard, std::vector<bool>{true});
  clock.advance(30000ms);
  EXPECT_EQ(wire.sent.size(), 5u);
  EXPECT_EQ(noAcks, 0);
  EXPECT_FALSE(invite.awaitingAck());
}

TEST_F(Answered, WithoutAnAckIn64T1TheWaitersHearFalseAndTheCallIsGivenUp) {
  start();
  wait();
  clock.advance(40000ms);
  EXPECT_EQ(heard, std::vector<bool>{false});
  EXPECT_EQ(noAcks, 1);
  EXPECT_EQ(wire.times().back(), 31500);  // the last before the deadline
  EXPECT_EQ(clock.pending(), 0u);
}

TEST_F(Answered, WhatComesAfterTheAckOrWithoutA2xxRunsAtOnce) {
  wait();  // nothing awaits an ACK
  EXPECT_EQ(heard, std::vector<bool>{true});
  start();
  invite.acked();
  wait();
  EXPECT_EQ(heard, (std::vector<bool>{true, true}));
}

TEST_F(Answered, AnAbandonedCallsWaitersHearFalseAndNothingMoreIsSent) {
  start();
  wait();
  clock.advance(600ms);
  invite.abandon();
  EXPECT_EQ(heard, std::vector<bool>{false});
  clock.advance(40000ms);
  EXPECT_EQ(wire.sent.size(), 1u);
  EXPECT_EQ(noAcks, 0);
}

}  // namespace
}  // namespace daily::devserver::sip

namespace daily::devserver::sip {
namespace {

using namespace testing;

// The calling side over the fake transport: DNS is a list of lookups the test answers, credentials a header.
struct Calling : ::testing::Test {
  ManualTimers clock;
  FakeTransport wire{clock};
  TransactionLayer layer{wire, clock, TransactionConfig{500ms, 4000ms, 32000ms}};
  Dialog dialog = Dialog::calling("call-9@127.0.0.1", "<sip:room@127.0.0.1:5060>", "sip:bob@127.0.0.1:5070",
                                  peerFlow(), "us");
  struct Lookup {
    std::string uri;
    CallingInvite::Targets done;
  };
  std::vector<Lookup> lookups;
  bool haveCredentials = true;
  std::unique_ptr<CallingInvite> invite = std::make_unique<CallingInvite>(
      layer, dialog, [this](const std::string& uri, CallingInvite::Targets done) { lookups.push_back({uri, done}); },
      [this](const osip_message_t*, const osip_message_t*) -> MessagePtr {
        if (!haveCredentials) return nullptr;
        ++dialog.localCseq;
        std::string branch;
        auto again = dialog.invite(wire, &branch);
        addHeader(again.get(), "Authorization", "Digest username=\"gw\"");
        return again;
      });
  std::vector<int> progress;
  int answered = 0;
  std::vector<std::pair<int, std::string>> failed;

  void SetUp() override {
    wire.onReceive([this](std::string_view m, const Flow& from) { layer.receive(m, from); });
    layer.setUser({[](MessagePtr, const Flow&) {}, [this](osip_message_t* r, const Flow&) {
                     if (invite) invite->repeated2xx(r);
                   }});
    invite->offer().headers.emplace_back("X-Test", "1");
    invite->offer().sdp = [] { return std::string("v=0\r\n"); };
  }
  void start(const std::string& hop = "sip:bob@127.0.0.1:5070") {
    invite->start(hop, {[this](int code) { progress.push_back(code); }, [this](osip_message_t*) { ++answered; },
                        [this](int code, const std::string& why) { failed.emplace_back(code, why); }});
  }
  // The peer at `from` answers the last INVITE sent; a 2xx carries a Contact.
  void answer(int code, const Flow& from, const std::string& tag = "bob", const std::string& contact = "") {
    std::string wireText;
    for (auto it = wire.sent.rbegin(); it != wire.sent.rend(); ++it)
      if (it->wire.rfind("INVITE ", 0) == 0) { wireText = it->wire; break; }
    std::string response = responseTo(wireText, code, tag);
    const std::string c = contact.empty() ? "<sip:bob@" + hostPort(from.address.to_string(), from.port) + ">" : contact;
    if (code >= 200 && code < 300) response.insert(response.find("\r\n") + 2, "Contact: " + c + "\r\n");
    wire.arrive(response, from);
  }
  std::vector<std::string> sentLines() const {
    std::vector<std::string> out;
    for (const auto& s : wire.sent) out.push_back(std::string(firstLine(s.wire)));
    return out;
  }
  static std::string branchOf(const std::string& wire) {
    const auto at = wire.find(";branch=");
    return wire.substr(at + 8, wire.find_first_of(";\r\n", at + 8) - at - 8);
  }
};

TEST_F(Calling, AnAnsweredInviteIsAckedAndEachRepeated2xxAckedAgain) {
  start();
  ASSERT_EQ(wire.sent.size(), 1u);
  EXPECT_NE(wire.sent[0].wire.find("X-Test: 1"), std::string::npos);
  EXPECT_NE(wire.sent[0].wire.find("application/sdp"), std::string::npos);
  answer(180, peerFlow());
  answer(200, peerFlow());
  EXPECT_EQ(progress, std::vector<int>{180});
  EXPECT_EQ(answered, 1);
  ASSERT_EQ(sentLines().back(), "ACK sip:bob@127.0.0.1:5070 SIP/2.0");
  const std::string ack = wire.sent.back().wire;
  answer(200, peerFlow());  // the 2xx again (RFC 6026): the same ACK again, and no second answer
  EXPECT_EQ(wire.sent.back().wire, ack);
  EXPECT_EQ(answered, 1);
  EXPECT_TRUE(failed.empty());
}

TEST_F(Calling, A503SendsTheInviteToTheNextTargetInANewTransaction) {
  start("sip:bob@example.test");
  ASSERT_EQ(lookups.size(), 1u);
  EXPECT_EQ(lookups[0].uri, "sip:bob@example.test");
  EXPECT_TRUE(wire.sent.empty());  // nothing goes before DNS answers
  lookups[0].done({peerFlow(5071), peerFlow(5072)}, "");
  ASSERT_EQ(wire.sent.size(), 1u);
  EXPECT_EQ(wire.sent[0].to.port, 5071);
  answer(503, peerFlow(5071));
  ASSERT_EQ(sentLines().back(), "INVITE sip:bob@127.0.0.1:5070 SIP/2.0");
  EXPECT_EQ(wire.sent.back().to.port, 5072);
  EXPECT_NE(branchOf(wire.sent.back().wire), branchOf(wire.sent[0].wire));
  answer(200, peerFlow(5072));
  EXPECT_EQ(answered, 1);
}

TEST_F(Calling, ATargetThatNeverAnswersIsFailedOverFromOneThatRangIsNot) {
  start("sip:bob@example.test");
  lookups[0].done({peerFlow(5071), peerFlow(5072), peerFlow(5073)}, "");
  clock.advance(32000ms);  // Timer B: 5071 never answered
  ASSERT_EQ(wire.sent.back().to.port, 5072);
  answer(100, peerFlow(5072));
  clock.advance(32000ms);  // 5072 answered, then went quiet: no failover, but a CANCEL
  EXPECT_EQ(failed, (std::vector<std::pair<int, std::string>>{{0, ""}}));
  EXPECT_EQ(sentLines().back().rfind("CANCEL ", 0), 0u);
  for (const auto& s : wire.sent) EXPECT_NE(s.to.port, 5073);
}

TEST_F(Calling, ATargetThatCannotBeReachedIsFailedOverFromAtOnce) {
  start("sip:bob@example.test");
  lookups[0].done({peerFlow(5071), peerFlow(5072)}, "");
  ASSERT_EQ(wire.errors.size(), 1u);
  wire.errors[0]("connection refused");
  ASSERT_EQ(wire.sent.size(), 2u);
  EXPECT_EQ(wire.sent.back().to.port, 5072);
  wire.errors[1]("connection refused");
  EXPECT_EQ(failed, (std::vector<std::pair<int, std::string>>{{0, "could not be reached"}}));
}

TEST_F(Calling, ANameWithNoTargetsFailsWithWhy) {
  start("sip:bob@nowhere.test");
  lookups[0].done({}, "no SIP server found for nowhere.test");
  EXPECT_EQ(failed, (std::vector<std::pair<int, std::string>>{{0, "could not be resolved: no SIP server found for nowhere.test"}}));
  EXPECT_TRUE(wire.sent.empty());
}

TEST_F(Calling, AChallengeIsAnsweredOnceWithCredentialsAndANewCseq) {
  start();
  answer(407, peerFlow());
  ASSERT_EQ(wire.sent.size(), 3u);  // the INVITE, the ACK of the 407, the INVITE again
  EXPECT_EQ(sentLines()[1].rfind("ACK ", 0), 0u);
  const std::string again = wire.sent[2].wire;
  EXPECT_NE(again.find("Authorization: Digest"), std::string::npos);
  EXPECT_NE(again.find("CSeq: 2 INVITE"), std::string::npos);
  EXPECT_NE(branchOf(again), branchOf(wire.sent[0].wire));
  answer(407, peerFlow());  // challenged again: that stands
  EXPECT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].first, 407);
}

TEST_F(Calling, AChallengeWithoutCredentialsFailsTheCallWithItsStatus) {
  haveCredentials = false;
  start();
  answer(401, peerFlow());
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].first, 401);
}

TEST_F(Calling, ACancelWhileTheNameIsLookedUpEndsTheCallAtOnce) {
  start("sip:bob@example.test");
  invite->cancel();
  EXPECT_EQ(failed, (std::vector<std::pair<int, std::string>>{{487, "Request Terminated"}}));
  lookups[0].done({peerFlow(5071)}, "");  // DNS answers late: nothing is sent
  EXPECT_TRUE(wire.sent.empty());
  EXPECT_EQ(failed.size(), 1u);
}

TEST_F(Calling, ACancelSendsCancelForTheInviteUnderWayAndA2xxThatCrossesItSaysSo) {
  start();
  answer(180, peerFlow());
  invite->cancel();
  ASSERT_EQ(sentLines().back(), "CANCEL sip:bob@127.0.0.1:5070 SIP/2.0");
  EXPECT_EQ(branchOf(wire.sent.back().wire), branchOf(wire.sent[0].wire));
  EXPECT_TRUE(invite->cancelled());
  answer(200, peerFlow());  // it crossed the CANCEL: the dialog is confirmed, and the application hangs it up
  EXPECT_EQ(answered, 1);
}

TEST_F(Calling, A2xxWhoseContactNamesAHostIsAckedWhereDnsSays) {
  start();
  answer(200, peerFlow(), "bob", "<sip:bob@pbx.example.test>");
  ASSERT_EQ(lookups.size(), 1u);
  EXPECT_EQ(lookups[0].uri, "sip:bob@pbx.example.test");
  EXPECT_EQ(answered, 0);  // not before its ACK has gone
  lookups[0].done({peerFlow(5090)}, "");
  EXPECT_EQ(answered, 1);
  ASSERT_EQ(sentLines().back(), "ACK sip:bob@pbx.example.test SIP/2.0");
  EXPECT_EQ(wire.sent.back().to.port, 5090);
  EXPECT_EQ(dialog.peer.port, 5090);  // and so do the dialog's requests after it
}

TEST_F(Calling, A2xxFromAnotherForkIsAckedThenEndedWithABye) {
  start();
  answer(200, peerFlow());
  ASSERT_EQ(answered, 1);
  answer(200, peerFlow(5071), "carol");
  answer(200, peerFlow(5071), "carol");  // its 2xx again: ACKed again, but one BYE
  std::vector<std::string> toFork;
  for (const auto& s : wire.sent)
    if (s.to.port == 5071) toFork.push_back(std::string(firstLine(s.wire)).substr(0, 4));
  EXPECT_EQ(toFork, (std::vector<std::string>{"ACK ", "BYE ", "ACK "}));
  EXPECT_EQ(dialog.remoteTag, "bob");
  EXPECT_EQ(answered, 1);
}

TEST_F(Calling, A488MayBeAnsweredWithAnotherOfferOnce) {
  int offers = 0;
  invite->offer().offerAgain = [&] { return ++offers == 1; };
  start();
  answer(488, peerFlow());
  ASSERT_EQ(sentLines().back(), "INVITE sip:bob@127.0.0.1:5070 SIP/2.0");
  EXPECT_NE(wire.sent.back().wire.find("CSeq: 2 INVITE"), std::string::npos);
  answer(488, peerFlow());
  EXPECT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].first, 488);
}

TEST_F(Calling, NoEventComesAfterTheUsageIsGone) {
  start();
  invite.reset();
  answer(200, peerFlow());
  clock.advance(40000ms);
  EXPECT_EQ(answered, 0);
  EXPECT_TRUE(failed.empty());
}

}  // namespace
}  // namespace daily::devserver::sip
