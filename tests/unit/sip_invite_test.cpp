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
