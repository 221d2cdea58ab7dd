// A caller behind a NAT: its Via and Contact name a private address the gateway cannot reach, and its packets
// arrive from the NAT's public address. The gateway must answer it there (RFC 3581's received and rport for
// responses; the NAT binding, not the Contact, for the REFER and BYE it sends within the dialog).
//
// The NAT is real: a network namespace (tests/support/netns) in which sipp binds a private address
// (192.168.77.2, on its loopback interface) and netfilter masquerades what leaves it as the namespace's veth address.
// The test's namespace has no route to 192.168.77.2 (an unreachable route, so that nothing sent there leaves the
// machine). Needs root, as CI has.

#include "devserver_fixture.hpp"
#include "events.hpp"
#include "netns.hpp"
#include "process.hpp"

#include <daily/daily.hpp>

#include <gtest/gtest.h>

#include <unistd.h>

namespace daily::test {
namespace {

using nlohmann::json;

const std::string kScenarios = DAILY_SIP_SCENARIOS;
constexpr const char* kPrivateIp = "192.168.77.2";

// A namespace whose outgoing traffic from kPrivateIp is masqueraded as its veth address: a phone behind a home
// router, in one namespace.
class NatNamespace {
 public:
  NatNamespace() : net_("dn", 214) {
    const std::vector<std::string> setup{
        net_.inside(std::string("ip addr add ") + kPrivateIp + "/32 dev lo"),
        net_.inside("iptables -t nat -A POSTROUTING -o " + net_.nsIf() + " -s " + kPrivateIp + " -j MASQUERADE"),
    };
    for (const auto& c : setup)
      if (sh(c) != 0) throw std::runtime_error("cannot build the NAT (needs root, iproute2 and iptables): " + c);
    const std::string unreachable = std::string("ip route add unreachable ") + kPrivateIp + "/32";
    if (sh(unreachable) != 0) throw std::runtime_error("cannot add: " + unreachable);
    net_.undo(std::string("ip route del unreachable ") + kPrivateIp + "/32");
  }
  const VethNamespace& net() const { return net_; }

 private:
  VethNamespace net_;
};

TEST(SipNat, ACallerBehindANatIsReferredAndHungUpThroughItsBinding) {
  ASSERT_EQ(geteuid(), 0u) << "this test makes a network namespace: run it as root (CI does)";
  NatNamespace nat;
  devserver::Options o;
  o.apiKey = kApiKey;
  o.host = nat.net().hostIp();
  o.sipT1 = std::chrono::milliseconds(100);
  o.sipTransactionTimeout = std::chrono::milliseconds(2000);
  InProcessServer server(o);
  const json room = server.createRoom({{"name", "support"}, {"properties", {{"sip", {{"sip_mode", "dial-in"}}}}}});
  CallClient bot;
  EventRecorder events(bot);
  await(bot.join({.url = room["url"], .token = server.token({{"is_owner", true}}), .userName = "bot"}));

  const std::string dir = tempDir("daily-nat");
  const std::string scenario = "caller_accepts_refer.xml";
  Process caller(nat.net().inside({"sipp", nat.net().hostIp() + ":" + std::to_string(server.sipPort()), "-sf",
                                   kScenarios + "/" + scenario, "-s", dialInUser(room), "-i", kPrivateIp, "-p",
                                   std::to_string(freeUdpPort()), "-m", "1", "-timeout", "20s", "-timeout_error",
                                   "-nostdin", "-trace_msg", "-message_file", dir + "/caller.messages", "-mp",
                                   std::to_string(freeMediaPort())}),
                 dir, dir + "/caller.log");
  auto connected = events.waitFor("dialin-connected");
  ASSERT_TRUE(connected) << readFile(dir + "/caller.log");
  const std::string id = connected->payload["sessionId"];
  EXPECT_NO_THROW(await(bot.sipRefer({.sessionId = id, .toEndPoint = "sip:agent@192.0.2.10:5060"})));
  auto done = events.waitFor("sip-refer-progress", [](const Event& e) { return e.payload["final"] == true; });
  ASSERT_TRUE(done) << readFile(dir + "/caller.log");
  EXPECT_EQ(done->payload["status"], "transferred");
  EXPECT_TRUE(events.waitFor("dialin-stopped", [&](const Event& e) { return e.payload.value("sessionId", "") == id; }));
  EXPECT_EQ(caller.wait(15s), 0) << readFile(dir + "/caller.log");
  const std::string wire = readFile(dir + "/caller.messages");
  // What the caller said of itself, and what it got back through the NAT.
  EXPECT_NE(wire.find(std::string("Contact: <sip:caller@") + kPrivateIp), std::string::npos) << wire;
  EXPECT_NE(wire.find("received=" + nat.net().nsIp()), std::string::npos) << wire;  // the 200's Via (RFC 3581)
  EXPECT_NE(wire.find(std::string("REFER sip:caller@") + kPrivateIp), std::string::npos) << wire;
  EXPECT_NE(wire.find(std::string("BYE sip:caller@") + kPrivateIp), std::string::npos) << wire;
}

}  // namespace
}  // namespace daily::test
