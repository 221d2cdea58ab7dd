// Packet loss on the SIP path: softphone callers in a network namespace of their own, 20 % of their packets
// dropped in each direction, and the bot referring every one of them. RFC 3261's retransmissions (the gateway's
// and the phones') must carry every call and every transfer through.
//
// The namespace, the veth pair (tests/support/netns) and the loss are made by the test itself (it needs root, as
// CI has). Loss comes from tc netem where the kernel has it; kernels built without netem (this project's CI
// machines among them) get the same random 20 % drop from netfilter's statistic match instead, and the test says
// which it used.

#include "baresip.hpp"
#include "devserver_fixture.hpp"
#include "events.hpp"
#include "netns.hpp"
#include "process.hpp"

#include <daily/daily.hpp>

#include <gtest/gtest.h>

#include <unistd.h>

#include "audio.hpp"

#include <condition_variable>
#include <mutex>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

namespace daily::test {
namespace {

using nlohmann::json;

// A namespace of its own (VethNamespace) with random loss on its side.
class LossyNamespace {
 public:
  explicit LossyNamespace(int lossPercent) : net_("dl", 213) {
    const std::string loss = std::to_string(lossPercent);
    if (sh("tc qdisc add dev " + net_.hostIf() + " root netem loss " + loss + "% delay 5ms") == 0 &&
        sh(net_.inside("tc qdisc add dev " + net_.nsIf() + " root netem loss " + loss + "% delay 5ms")) == 0) {
      method_ = "tc netem";
    } else {
      // Dropped on the way in, in each namespace: a drop on the way out would fail the sender's sendto() with
      // EPERM, which real loss never does.
      const std::string p = std::to_string(lossPercent / 100.0);
      const std::string hostRule =
          "INPUT -i " + net_.hostIf() + " -p udp -m statistic --mode random --probability " + p + " -j DROP";
      const std::string nsRule =
          "INPUT -i " + net_.nsIf() + " -p udp -m statistic --mode random --probability " + p + " -j DROP";
      if (sh("iptables -A " + hostRule) != 0) throw std::runtime_error("neither tc netem nor iptables' statistic match works here");
      net_.undo("iptables -D " + hostRule);
      if (sh(net_.inside("iptables -A " + nsRule)) != 0)
        throw std::runtime_error("neither tc netem nor iptables' statistic match works here");
      method_ = "netfilter statistic match (this kernel has no netem)";
    }
  }

  const std::string& name() const { return net_.name(); }
  const std::string& hostIp() const { return net_.hostIp(); }
  const std::string& nsIp() const { return net_.nsIp(); }
  const std::string& method() const { return method_; }

  // Packets dropped so far, where the netfilter rules count them (0 with netem, which does not say).
  long dropped() const {
    const std::string command =
        "iptables -L INPUT -n -v -x | grep " + net_.hostIf() + "; " + net_.inside("iptables -L INPUT -n -v -x");
    FILE* out = popen(command.c_str(), "r");
    if (!out) return 0;
    long total = 0;
    char line[512];
    while (std::fgets(line, sizeof line, out)) {
      if (!std::strstr(line, "DROP")) continue;
      total += std::strtol(line, nullptr, 10);  // the first column: packets
    }
    pclose(out);
    return total;
  }

 private:
  VethNamespace net_;
  std::string method_;
};

// A devserver on the host's end of the namespace, with short SIP timers.
devserver::Options serving(const LossyNamespace& net) {
  devserver::Options o;
  o.host = net.hostIp();
  o.sipT1 = std::chrono::milliseconds(100);
  o.sipTransactionTimeout = std::chrono::milliseconds(6400);  // 64 * T1, as RFC 3261 has it
  return o;
}

TEST(LossyPath, EveryCallAndEveryReferGetsThroughTwentyPercentLoss) {
  ASSERT_EQ(geteuid(), 0u) << "this test makes a network namespace: run it as root (CI does)";
  LossyNamespace net(20);
  std::cout << "[ loss     ] 20 % each way by " << net.method() << "\n";

  InProcessServer server(serving(net));
  const json room = server.createRoom({{"name", "support"}, {"properties", {{"sip", {{"sip_mode", "dial-in"}}}}}});
  CallClient bot;
  EventRecorder events(bot);
  await(bot.join({.url = room["url"], .token = server.token({{"is_owner", true}}), .userName = "bot"}));

  // The callers are baresip, a softphone with a real SIP stack (libre's transactions), each in the namespace:
  // they dial in, get referred, follow the REFER to a sipp target in the namespace, and report it by NOTIFY.
  constexpr int kCalls = 4;
  const std::string dir = tempDir("daily-lossy");
  const int targetPort = freeUdpPort();
  Process target({"ip", "netns", "exec", net.name(), "sipp", "-sn", "uas", "-i", net.nsIp(), "-p",
                  std::to_string(targetPort), "-m", std::to_string(kCalls), "-timeout", "60s", "-nostdin", "-mp",
                  std::to_string(freeMediaPort())},
                 dir, dir + "/target.log");
  // Each phone hangs up a call when its 15 s WAV ends: the call with the gateway must last until the transfer
  // (under loss and load that can take seconds; the gateway gives up on a missing ACK after 64*T1 = 6.4 s), and
  // the transferred call with the target ends that way too.
  std::vector<std::unique_ptr<Process>> phones;
  for (int i = 0; i < kCalls; ++i) {
    const std::string config = writeBaresipConfig(dir + "/phone" + std::to_string(i), net.nsIp(), freeUdpPort(),
                                                  "caller" + std::to_string(i), 15);
    phones.push_back(std::make_unique<Process>(
        std::vector<std::string>{"ip", "netns", "exec", net.name(), "baresip", "-f", config, "-e",
                                 "/dial sip:" + dialInUser(room) + "@" + net.hostIp() + ":" + std::to_string(server.sipPort()), "-t", "45"},
        dir, config + "/baresip.log"));
  }

  std::set<std::string> referred;
  for (int call = 0; call < kCalls; ++call) {
    SCOPED_TRACE("call " + std::to_string(call + 1));
    auto connected = events.waitFor(
        "dialin-connected", [&](const Event& e) { return !referred.count(e.payload.value("sessionId", "")); }, 30s);
    ASSERT_TRUE(connected);
    const std::string id = connected->payload["sessionId"];
    referred.insert(id);
    EXPECT_NO_THROW(await(bot.sipRefer({.sessionId = id,
                                        .toEndPoint = "sip:agent@" + net.nsIp() + ":" + std::to_string(targetPort)}),
                          30s));
  }
  for (const auto& id : referred) {
    auto done = events.waitFor(
        "sip-refer-progress",
        [&](const Event& e) { return e.payload.value("sessionId", "") == id && e.payload.value("final", false); }, 30s);
    ASSERT_TRUE(done) << id;
    EXPECT_EQ(done->payload["status"], "transferred") << done->payload.dump();
    EXPECT_TRUE(events.waitFor("dialin-stopped", [&](const Event& e) { return e.payload.value("sessionId", "") == id; }));
  }
  // Every caller really reached the target, through the loss, and hung up there.
  EXPECT_EQ(target.wait(40s), 0) << readFile(dir + "/target.log");
  if (net.method() != "tc netem") {
    EXPECT_GT(net.dropped(), 0) << "the loss was not applied";
  }
  std::cout << "[ loss     ] packets dropped: " << net.dropped() << "\n";
}

// Loss on the media path: a caller in the namespace plays 1000 Hz, 10 % of its RTP (and of the gateway's) is
// dropped, and the bot still hears the tone: the jitter buffer conceals the gaps.
TEST(LossyPath, ABotStillHearsACallerThroughTenPercentRtpLoss) {
  ASSERT_EQ(geteuid(), 0u) << "this test makes a network namespace: run it as root (CI does)";
  LossyNamespace net(10);
  std::cout << "[ loss     ] 10 % each way by " << net.method() << "\n";
  InProcessServer server(serving(net));
  const json room = server.createRoom({{"properties", {{"sip", {{"sip_mode", "dial-in"}}}}}});
  // What the renderer fills, declared before the bot so that it outlives the bot's renderer.
  std::mutex mu;
  std::condition_variable enough;
  std::vector<std::int16_t> heard;
  CallClient bot;
  EventRecorder events(bot);
  await(bot.join({.url = room["url"], .token = server.token({{"is_owner", true}}), .userName = "bot"}));
  const std::string dir = tempDir("daily-lossy-media");
  const std::string config = writeBaresipConfig(dir + "/phone", net.nsIp(), freeUdpPort(), "caller", 8, {.toneHz = 1000});
  Process phone({"ip", "netns", "exec", net.name(), "baresip", "-f", config, "-e",
                 "/dial sip:" + dialInUser(room) + "@" + net.hostIp() + ":" + std::to_string(server.sipPort()), "-t", "20"},
                dir, config + "/baresip.log");
  auto connected = events.waitFor("dialin-connected", {}, 30s);
  ASSERT_TRUE(connected) << readFile(config + "/baresip.log");
  const std::string id = connected->payload["sessionId"];
  bot.setAudioRenderer(id, [&](const std::string&, const AudioData& audio, const std::string&) {
    std::lock_guard<std::mutex> lock(mu);
    heard.insert(heard.end(), audio.audioFrames.begin(), audio.audioFrames.end());
    enough.notify_all();
  }, {.sampleRate = 8000});
  std::unique_lock<std::mutex> lock(mu);
  ASSERT_TRUE(enough.wait_for(lock, 15s, [&] { return heard.size() >= 8000 * 4; })) << heard.size() << " samples";
  // The first half second may be before the caller's stream began.
  const std::vector<std::int16_t> steady(heard.begin() + 4000, heard.end());
  lock.unlock();
  bot.setAudioRenderer(id, nullptr);  // no callback runs after this: heard is ours again
  const auto report = detectTones(steady, 8000, {500, 1000});
  EXPECT_GT(report.heard.at(1000), 0.8) << report.describe();
  const auto counters = server.mediaCounters(id);
  ASSERT_TRUE(counters);
  std::cout << "[ loss     ] RTP received " << counters->packetsReceived << ", concealed frames " << counters->concealed
            << ", netfilter dropped " << net.dropped() << "\n";
  if (net.method() != "tc netem") {
    EXPECT_GT(net.dropped(), 0) << "the loss was not applied";
  }
  EXPECT_GT(counters->concealed, 0u) << "no gap was concealed: was there loss?";
}

}  // namespace
}  // namespace daily::test
