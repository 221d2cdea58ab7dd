// The REFER usages (RFC 3515, RFC 6665's ids) without a wire: which NOTIFYs belong to a refer subscription, what
// a NOTIFY says of the transfer, and the NOTIFY the gateway sends as a REFER server.
#include "sip/refer.hpp"
#include "sip_fakes.hpp"

#include <gtest/gtest.h>

namespace daily::devserver::sip {
namespace {

using namespace testing;

MessagePtr notify(const std::string& state, const std::string& sipfrag) {
  const std::string text = "NOTIFY sip:gateway@127.0.0.1:5060 SIP/2.0\r\n"
                           "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-n1\r\nMax-Forwards: 70\r\n"
                           "From: <sip:alice@127.0.0.1>;tag=a\r\nTo: <sip:room@127.0.0.1>;tag=r\r\n"
                           "Call-ID: refer-1\r\nCSeq: 5 NOTIFY\r\nEvent: refer\r\nSubscription-State: " + state + "\r\n"
                           "Content-Type: message/sipfrag\r\nContent-Length: " + std::to_string(sipfrag.size()) +
                           "\r\n\r\n" + sipfrag;
  std::string why;
  auto m = parse(text, &why);
  EXPECT_TRUE(m) << why;
  return m;
}

TEST(ReferSubscription, OwnsTheNotifiesOfItsReferCseqsAndOnesWithoutAnId) {
  ReferSubscription s;
  s.ids = {2, 3};  // a REFER challenged once went again as CSeq 3
  EXPECT_TRUE(s.owns("refer"));
  EXPECT_TRUE(s.owns("refer;id=2"));
  EXPECT_TRUE(s.owns("refer;id=3;x=y"));
  EXPECT_FALSE(s.owns("refer;id=4"));
  EXPECT_FALSE(s.owns("refer;id="));
  EXPECT_FALSE(s.owns("refer;id=abc"));
  EXPECT_FALSE(s.owns("refer;id=99999999999"));  // more than a CSeq can be
}

TEST(ReferNotify, ReadsTheSipfragAndTheSubscriptionState) {
  auto trying = readReferNotify(notify("active;expires=60", "SIP/2.0 100 Trying\r\n").get());
  EXPECT_EQ(trying.status, 100);
  EXPECT_FALSE(trying.final());
  EXPECT_EQ(trying.progress(), "progress");
  EXPECT_EQ(trying.expires, std::chrono::seconds(60));

  auto ok = readReferNotify(notify("terminated;reason=noresource", "SIP/2.0 200 OK\r\n").get());
  EXPECT_TRUE(ok.final());
  EXPECT_TRUE(ok.terminated);
  EXPECT_EQ(ok.progress(), "transferred");
  EXPECT_FALSE(ok.expires);

  EXPECT_EQ(readReferNotify(notify("active", "SIP/2.0 486 Busy Here\r\n").get()).progress(), "failed");
  auto ended = readReferNotify(notify("terminated;reason=timeout", "").get());  // over with no status: unknown
  EXPECT_TRUE(ended.final());
  EXPECT_EQ(ended.progress(), "unknown");
  EXPECT_EQ(readReferNotify(notify("active;expires=-5", "SIP/2.0 180 Ringing\r\n").get()).expires, std::chrono::seconds(0));
}

TEST(ReferNotify, TheServersNotifyNamesTheReferAndEndsTheSubscriptionWithTheFinalStatus) {
  ManualTimers clock;
  FakeTransport transport{clock};
  Dialog d = Dialog::calling("refer-2", "<sip:room@127.0.0.1:5060>", "sip:alice@127.0.0.1:5070", peerFlow(), "us");
  d.remoteTag = "them";
  auto progress = referNotify(d, transport, 7, 100, "Trying", false);
  ASSERT_TRUE(progress);
  EXPECT_EQ(header(progress.get(), "event"), "refer;id=7");
  EXPECT_EQ(header(progress.get(), "subscription-state"), "active;expires=60");
  EXPECT_EQ(body(progress.get()), "SIP/2.0 100 Trying\r\n");
  auto done = referNotify(d, transport, 7, 200, "OK", true);
  EXPECT_EQ(header(done.get(), "subscription-state"), "terminated;reason=noresource");
  EXPECT_EQ(sipfragStatus(body(done.get())), 200);
  EXPECT_GT(cseq(done.get()), cseq(progress.get()));  // each its own request of the dialog
}

}  // namespace
}  // namespace daily::devserver::sip
