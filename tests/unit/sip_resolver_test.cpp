// The choices of RFC 3263 resolution, without a wire: which NAPTR records are followed and in which order, and
// how SRV records are ordered (RFC 2782). The lookups themselves run against dnsmasq in tests/sip/dns_test.cpp.

#include "sip/resolver.hpp"

#include <gtest/gtest.h>

#include <map>

namespace daily::devserver::sip {
namespace {

TEST(Naptr, OrderThenPreferenceDecideAndOnlyKnownSipServicesWithTheSFlagCount) {
  const auto choices = orderNaptr({{20, 10, "s", "SIP+D2U", "_sip._udp.a"},
                                   {10, 20, "s", "SIP+D2T", "_sip._tcp.a"},
                                   {10, 10, "S", "sips+d2t", "_sips._tcp.a"},  // case does not matter
                                   {5, 10, "s", "SIP+D2S", "_sip._sctp.a"},    // SCTP: not spoken
                                   {5, 10, "u", "E2U+sip", ""},                // not an SRV step
                                   {5, 10, "a", "SIP+D2U", "a.a"}},            // an A step: not followed
                                  /*secure=*/false, /*tls=*/true);
  ASSERT_EQ(choices.size(), 3u);
  EXPECT_EQ(choices[0].srvName, "_sips._tcp.a");
  EXPECT_EQ(choices[0].protocol, Protocol::Tls);
  EXPECT_EQ(choices[1].srvName, "_sip._tcp.a");
  EXPECT_EQ(choices[1].protocol, Protocol::Tcp);
  EXPECT_EQ(choices[2].srvName, "_sip._udp.a");
  EXPECT_EQ(choices[2].protocol, Protocol::Udp);
}

TEST(Naptr, ASipsUriTakesOnlyTlsAndAGatewayWithoutTlsNone) {
  const std::vector<NaptrRecord> records{{10, 10, "s", "SIP+D2U", "_sip._udp.a"}, {20, 10, "s", "SIPS+D2T", "_sips._tcp.a"}};
  const auto secure = orderNaptr(records, /*secure=*/true, /*tls=*/true);
  ASSERT_EQ(secure.size(), 1u);
  EXPECT_EQ(secure[0].protocol, Protocol::Tls);
  EXPECT_TRUE(orderNaptr(records, /*secure=*/true, /*tls=*/false).empty());
  const auto plain = orderNaptr(records, /*secure=*/false, /*tls=*/false);
  ASSERT_EQ(plain.size(), 1u);
  EXPECT_EQ(plain[0].protocol, Protocol::Udp);
}

TEST(Srv, LowerPriorityFirstAndTheDotTargetMeansNone) {
  std::mt19937 random(1);
  const auto ordered = orderSrv({{20, 0, 5062, "c"}, {10, 0, 5060, "a"}, {30, 5, 5063, "."}}, random);
  ASSERT_EQ(ordered.size(), 2u);
  EXPECT_EQ(ordered[0].target, "a");
  EXPECT_EQ(ordered[1].target, "c");
  EXPECT_TRUE(orderSrv({{0, 0, 0, "."}}, random).empty());
}

TEST(Srv, WithinAPriorityTheFirstIsPickedInProportionToItsWeight) {
  std::mt19937 random(42);
  std::map<std::string, int> first;
  constexpr int kRuns = 20000;
  for (int i = 0; i < kRuns; ++i) {
    const auto ordered = orderSrv({{10, 60, 1, "heavy"}, {10, 30, 2, "middle"}, {10, 10, 3, "light"}, {20, 100, 4, "later"}},
                                  random);
    ASSERT_EQ(ordered.size(), 4u);
    EXPECT_EQ(ordered.back().target, "later");  // a worse priority never comes before, whatever its weight
    ++first[ordered.front().target];
  }
  // 60 %, 30 %, 10 % within a few points (the chance of a miss at this many runs is far below one in a million).
  EXPECT_NEAR(first["heavy"] / double(kRuns), 0.60, 0.03);
  EXPECT_NEAR(first["middle"] / double(kRuns), 0.30, 0.03);
  EXPECT_NEAR(first["light"] / double(kRuns), 0.10, 0.03);
}

TEST(Srv, WeightZeroIsRarelyFirstButAlwaysTried) {
  std::mt19937 random(7);
  int zeroFirst = 0;
  for (int i = 0; i < 10000; ++i) {
    const auto ordered = orderSrv({{10, 0, 1, "zero"}, {10, 100, 2, "hundred"}}, random);
    ASSERT_EQ(ordered.size(), 2u);
    zeroFirst += ordered.front().target == "zero";
  }
  EXPECT_LT(zeroFirst, 200);  // about 1 in 101: 99 expected
  EXPECT_GT(zeroFirst, 30);
}

}  // namespace
}  // namespace daily::devserver::sip
