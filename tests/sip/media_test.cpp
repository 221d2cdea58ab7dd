// Media end to end: real audio through the devserver's gateway between real SIP peers (baresip playing and
// recording WAV files, sipp streaming RTP and playing its RFC 4733 captures), checked by tone detection: each
// party sends its own frequency, and each must hear exactly the others.

#include "audio.hpp"
#include "baresip.hpp"
#include "certificates.hpp"
#include "devserver_fixture.hpp"
#include "events.hpp"
#include "process.hpp"

#include <daily/daily.hpp>

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <regex>
#include <set>
#include <thread>

namespace daily::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

const std::string kScenarios = DAILY_SIP_SCENARIOS;

devserver::Options mediaOptions() {
  devserver::Options o;
  o.sipT1 = std::chrono::milliseconds(100);
  o.sipTransactionTimeout = std::chrono::milliseconds(2000);
  return o;
}

class Media : public ::testing::Test {
 protected:
  explicit Media(devserver::Options options = mediaOptions()) : server(options), dir(tempDir("daily-media")) {
    room = server.createRoom({{"properties", {{"sip", {{"sip_mode", "dial-in"}, {"display_name", "Caller"}}}}}});
  }

  void joinOwner() { await(bot.join({.url = room["url"], .token = server.token({{"is_owner", true}}), .userName = "bot"})); }

  std::string gatewayUri() const { return "sip:" + dialInUser(room) + "@127.0.0.1:" + std::to_string(server.sipPort()); }

  // A sipp caller with one of tests/sip/scenarios, in a directory of its own holding tone.ulaw at `hz`.
  std::unique_ptr<Process> sippCaller(const std::string& scenario, const std::string& name, double hz = 0) {
    const std::string home = dir + "/" + name;
    std::filesystem::create_directories(home);
    if (hz > 0) writeToneUlaw(home + "/tone.ulaw", hz, 2);
    return std::make_unique<Process>(
        std::vector<std::string>{"sipp", "127.0.0.1:" + std::to_string(server.sipPort()), "-sf", kScenarios + "/" + scenario,
                                 "-s", dialInUser(room), "-i", "127.0.0.1", "-m", "1", "-timeout", "30s",
                                 "-timeout_error", "-nostdin", "-trace_msg", "-message_file", home + "/messages",
                                 "-mp", std::to_string(freeMediaPort())},
        home, home + "/log");
  }
  std::string sippLog(const std::string& name) const {
    return readFile(dir + "/" + name + "/log") + readFile(dir + "/" + name + "/messages");
  }

  // A baresip caller (or, with autoAnswer, a callee) playing hz for `seconds`, and recording what it hears.
  struct Phone {
    std::string home, record;
    int port = 0;
    std::unique_ptr<Process> process;
  };
  // extras: TLS (with a certificate it listens for TLS on port + 1) and media encryption.
  Phone baresip(const std::string& name, double hz, int seconds, const std::string& dial, bool autoAnswer = false,
                BaresipExtras extras = {}) {
    Phone phone;
    phone.home = dir + "/" + name;
    phone.record = phone.home + "/heard";
    std::filesystem::create_directories(phone.record);
    phone.port = extras.certificate.empty() ? freeSipPort() : freeSipTlsPort();
    extras.autoAnswer = autoAnswer;
    extras.toneHz = hz;
    extras.recordDir = phone.record;
    writeBaresipConfig(phone.home, "127.0.0.1", phone.port, name, seconds, extras);
    // -v: baresip logs the telephone-events it receives ("received event: '5'") only when verbose.
    std::vector<std::string> args{"baresip", "-v", "-f", phone.home, "-t", std::to_string(seconds + 10)};
    if (!dial.empty()) args.insert(args.end(), {"-e", "/dial " + dial});
    phone.process = std::make_unique<Process>(args, dir, phone.home + "/baresip.log");
    return phone;
  }
  // Waits until the phone's call has ended and its recording is closed (baresip stays up until its -t).
  static bool callEnded(const Phone& phone, std::chrono::milliseconds timeout = 20s) {
    return waitForFileContaining(phone.home + "/baresip.log", "audio: destroyed", timeout);
  }
  ToneReport heardBy(const Phone& phone, const std::vector<int>& frequencies) {
    int rate = 8000;
    const auto samples = baresipHeard(phone.record, &rate);
    return detectTones(samples, rate, frequencies);
  }

  // The next new caller's session id; when none comes, fails with log() (read then, not when the wait began).
  std::string waitForCaller(const std::function<std::string()>& log) {
    auto connected =
        events.waitFor("dialin-connected", [&](const Event& e) { return !seen.count(e.payload["sessionId"]); }, 20s);
    if (!connected) throw std::runtime_error("no dialin-connected; " + log());
    seen.insert(connected->payload["sessionId"].get<std::string>());
    return connected->payload["sessionId"];
  }

  // The RTP port the gateway answered a sipp caller with (its m= line in the 200), once sipp's trace has it (sipp
  // writes its message trace some time after it acts on the message).
  int gatewayRtpPort(const std::string& name) {
    waitForFileContaining(dir + "/" + name + "/messages", "o=daily-devserver", 5s);
    std::smatch m;
    const std::string messages = readFile(dir + "/" + name + "/messages");
    static const std::regex audio("o=daily-devserver[^]*?m=audio ([0-9]+) ");
    return std::regex_search(messages, m, audio) ? std::stoi(m[1]) : 0;
  }

  // A sipp caller (kept in `process`) replaying `capture` (writeRtpPcap) a second after its ACK; its session id.
  std::string callerPlaying(const std::string& name, const std::vector<Datagram>& capture, std::unique_ptr<Process>& process) {
    std::filesystem::create_directories(dir + "/" + name);
    writeRtpPcap(dir + "/" + name + "/capture.pcap", capture);
    process = sippCaller("caller_plays_capture.xml", name);
    return waitForCaller([&] { return sippLog(name); });
  }

  // What the bot's renderer hears of a participant, at 8 kHz, from listen() until the renderer is removed.
  struct Heard {
    std::mutex mu;
    std::vector<std::int16_t> samples;
    std::size_t size() {
      std::lock_guard<std::mutex> lock(mu);
      return samples.size();
    }
    std::vector<std::int16_t> all() {
      std::lock_guard<std::mutex> lock(mu);
      return samples;
    }
  };
  std::shared_ptr<Heard> listen(const std::string& participant) {
    auto heard = std::make_shared<Heard>();
    bot.setAudioRenderer(participant, [heard](const std::string&, const AudioData& audio, const std::string&) {
      std::lock_guard<std::mutex> lock(heard->mu);
      heard->samples.insert(heard->samples.end(), audio.audioFrames.begin(), audio.audioFrames.end());
    }, {.sampleRate = 8000});
    return heard;
  }

  InProcessServer server;
  std::string dir;
  json room;
  CallClient bot;
  EventRecorder events{bot};
  std::set<std::string> seen;
};

// Mix-minus: three callers in a room, each sending its own tone; each hears the two others and never itself.
TEST_F(Media, ARoomMixesEveryoneButTheListener) {
  joinOwner();
  auto streamer = sippCaller("caller_streams_audio.xml", "streamer", 1000);
  waitForCaller([&] { return sippLog("streamer"); });
  // One after the other: two baresips started in the same instant may draw the same Call-ID and tags (libre
  // seeds its random numbers from the clock).
  Phone low = baresip("low", 500, 4, gatewayUri());
  waitForCaller([&] { return readFile(low.home + "/baresip.log"); });
  Phone high = baresip("high", 1500, 4, gatewayUri());
  waitForCaller([&] { return readFile(high.home + "/baresip.log"); });
  // Each hangs up when its 4 s of tone end, and its recording is then complete.
  ASSERT_TRUE(callEnded(low)) << readFile(low.home + "/baresip.log");
  ASSERT_TRUE(callEnded(high)) << readFile(high.home + "/baresip.log");
  const auto lowHeard = heardBy(low, {500, 1000, 1500});
  const auto highHeard = heardBy(high, {500, 1000, 1500});
  EXPECT_GT(lowHeard.blocks, 100u) << lowHeard.describe();
  EXPECT_GT(lowHeard.heard.at(1000), 0.6) << lowHeard.describe();
  EXPECT_GT(lowHeard.heard.at(1500), 0.6) << lowHeard.describe();
  EXPECT_LT(lowHeard.heard.at(500), 0.1) << lowHeard.describe();
  EXPECT_GT(highHeard.blocks, 100u) << highHeard.describe();
  EXPECT_GT(highHeard.heard.at(1000), 0.6) << highHeard.describe();
  EXPECT_GT(highHeard.heard.at(500), 0.6) << highHeard.describe();
  EXPECT_LT(highHeard.heard.at(1500), 0.1) << highHeard.describe();
}

// sipCallTransfer: the gateway dials the target and bridges the caller to it; each hears the other, both ways.
TEST_F(Media, ABridgedTransferCarriesAudioBothWays) {
  joinOwner();
  Phone agent = baresip("agent", 1500, 8, {}, /*autoAnswer=*/true);
  ASSERT_TRUE(waitForTcpListener(agent.port, 10s)) << readFile(agent.home + "/baresip.log");  // it is up
  // 7 s: what the caller records before the bridge (time in the room, hearing nobody) counts against it, and a
  // busy machine (a full -j3 run beside the bench) once took long enough for 5 s to fall under 60 %.
  Phone caller = baresip("caller", 500, 7, gatewayUri());
  const std::string id = waitForCaller([&] { return readFile(caller.home + "/baresip.log"); });
  ASSERT_NO_THROW(await(bot.sipCallTransfer(
      {.sessionId = id, .toEndPoint = "sip:agent@127.0.0.1:" + std::to_string(agent.port)})));
  // The caller hangs up when its 7 s end; the gateway then hangs up the agent.
  ASSERT_TRUE(callEnded(caller)) << readFile(caller.home + "/baresip.log");
  ASSERT_TRUE(events.waitFor("sip-call-transfer-progress", [](const Event& e) { return e.payload["status"] == "answered"; }));
  ASSERT_TRUE(callEnded(agent)) << readFile(agent.home + "/baresip.log");
  const auto callerHeard = heardBy(caller, {500, 1500});
  const auto agentHeard = heardBy(agent, {500, 1500});
  EXPECT_GT(callerHeard.heard.at(1500), 0.6) << callerHeard.describe();
  EXPECT_LT(callerHeard.heard.at(500), 0.1) << callerHeard.describe();
  EXPECT_GT(agentHeard.blocks, 50u) << agentHeard.describe();
  EXPECT_GT(agentHeard.heard.at(500), 0.6) << agentHeard.describe();
  EXPECT_LT(agentHeard.heard.at(1500), 0.1) << agentHeard.describe();
}

// After a successful sipRefer the gateway has left the media path: its counters for the call stand still while
// the caller keeps streaming at its old address.
TEST_F(Media, AfterAReferTheGatewaySendsAndReceivesNoMoreRtp) {
  joinOwner();
  auto caller = sippCaller("caller_streams_and_accepts_refer.xml", "caller", 1000);
  const std::string id = waitForCaller([&] { return sippLog("caller"); });
  // Audio flows both ways before the transfer.
  const auto flowing = [&] {
    auto c = server.mediaCounters(id);
    return c && c->packetsReceived > 20 && c->packetsSent > 20;
  };
  ASSERT_TRUE(eventually(flowing)) << sippLog("caller");
  ASSERT_NO_THROW(await(bot.sipRefer({.sessionId = id, .toEndPoint = "sip:agent@127.0.0.1:5099"})));
  ASSERT_TRUE(events.waitFor("dialin-stopped", [&](const Event& e) { return e.payload["sessionId"] == id; }));
  const auto after = server.mediaCounters(id);
  ASSERT_TRUE(after);
  EXPECT_TRUE(after->closed);
  // sipp streams on for 1.5 s after the BYE: the gateway's socket is closed, nothing is received or sent.
  EXPECT_EQ(caller->wait(15s), 0) << sippLog("caller");
  const auto later = server.mediaCounters(id);
  EXPECT_EQ(later->packetsReceived, after->packetsReceived);
  EXPECT_EQ(later->packetsSent, after->packetsSent);
}

TEST_F(Media, KeysPressedAsTelephoneEventsReachTheRoomOncePerPress) {
  joinOwner();
  auto caller = sippCaller("caller_presses_keys.xml", "keys");
  const std::string id = waitForCaller([&] { return sippLog("keys"); });
  std::vector<json> presses;
  for (int i = 0; i < 3; ++i) {
    auto e = events.waitFor("dtmf-event", [&](const Event& ev) { return ev.payload["tone"] == std::string(1, "15#"[i]); }, 10s);
    ASSERT_TRUE(e) << "key " << "15#"[i] << ": " << sippLog("keys");
    presses.push_back(e->payload);
  }
  for (const auto& p : presses) {
    EXPECT_EQ(p["sessionId"], id);
    EXPECT_EQ(p["method"], "telephone-event");
    EXPECT_EQ(p["volume"], 10);
  }
  // Each capture carries its press in ten packets, the end three times: one event each, no more.
  EXPECT_TRUE(eventually([&] { return server.mediaCounters(id)->packetsReceived == 30; }))
      << server.mediaCounters(id)->packetsReceived << " packets";
  EXPECT_EQ(server.mediaCounters(id)->dtmfReceived, 3u);
  EXPECT_EQ(events.count("dtmf-event"), 3u);
}

TEST_F(Media, KeysSentInSipInfoReachTheRoom) {
  joinOwner();
  auto caller = sippCaller("caller_sends_info_dtmf.xml", "info");
  const std::string id = waitForCaller([&] { return sippLog("info"); });
  auto seven = events.waitFor("dtmf-event", [](const Event& e) { return e.payload["tone"] == "7"; }, 10s);
  auto nine = events.waitFor("dtmf-event", [](const Event& e) { return e.payload["tone"] == "9"; }, 10s);
  ASSERT_TRUE(seven && nine) << sippLog("info");
  EXPECT_EQ(seven->payload["method"], "sip-info");
  EXPECT_EQ(nine->payload["sessionId"], id);
}

// sendDTMF: by telephone-event when the call negotiated it (baresip does), by INFO when asked.
TEST_F(Media, SendDtmfUsesTelephoneEventsWhenTheCallHasThemAndInfoWhenAsked) {
  joinOwner();
  Phone phone = baresip("phone", 0, 12, gatewayUri());
  const std::string id = waitForCaller([&] { return readFile(phone.home + "/baresip.log"); });
  ASSERT_NO_THROW(await(bot.sendDTMF({.sessionId = id, .tones = "4", .method = "auto", .digitDuration = 100ms})));
  ASSERT_NO_THROW(await(bot.sendDTMF({.sessionId = id, .tones = "6", .method = "telephone-event", .digitDuration = 100ms})));
  ASSERT_NO_THROW(await(bot.sendDTMF({.sessionId = id, .tones = "8", .method = "sip-info"})));
  const std::string log = phone.home + "/baresip.log";
  // baresip reports a telephone-event as "received event" and an INFO as "received DTMF".
  EXPECT_TRUE(waitForFileContaining(log, "received event: '4' (end=1)", 5s)) << readFile(log);
  EXPECT_TRUE(waitForFileContaining(log, "received event: '6' (end=1)", 5s)) << readFile(log);
  EXPECT_TRUE(waitForFileContaining(log, "received DTMF: '8'", 5s)) << readFile(log);
  const std::string all = readFile(log);
  EXPECT_EQ(all.find("received event: '8'"), std::string::npos) << "the INFO's tone came in the RTP too";
  EXPECT_EQ(all.find("received DTMF: '4'"), std::string::npos) << "auto chose INFO";
}

TEST_F(Media, AHoldIsAnsweredRecvonlyFromTheSameSession) {
  joinOwner();
  auto caller = sippCaller("caller_holds.xml", "hold");
  const std::string id = waitForCaller([&] { return sippLog("hold"); });
  // The scenario checks the 200 to its re-INVITE (a=recvonly, the o= line); then the room ends the call.
  ASSERT_TRUE(waitForFileContaining(dir + "/hold/messages", "CSeq: 2 ACK", 10s)) << sippLog("hold");
  ASSERT_EQ(server.rest("DELETE", "/v1/rooms/" + room["name"].get<std::string>()).status, 200);
  EXPECT_EQ(caller->wait(15s), 0) << sippLog("hold");
  // Both of the gateway's answers came from one o= session id, the second a version up.
  static const std::regex origin("o=daily-devserver ([0-9]+) ([0-9]+)");
  const std::string messages = readFile(dir + "/hold/messages");
  std::vector<std::pair<std::string, unsigned long long>> origins;
  for (auto it = std::sregex_iterator(messages.begin(), messages.end(), origin); it != std::sregex_iterator(); ++it)
    origins.emplace_back((*it)[1], std::stoull((*it)[2]));
  ASSERT_GE(origins.size(), 2u) << messages;
  EXPECT_EQ(origins.front().first, origins.back().first);
  EXPECT_EQ(origins.back().second, origins.front().second + 1);
}

// Participant objects say which tracks carry audio (daily-js's DailyTrackState), as another client of the room
// sees them: a caller's audio is playable, off while it holds with a=inactive, playable again when it resumes; a
// bot's custom track appears under its name while it is there. daily-js's own track keys are not custom names.
TEST_F(Media, ParticipantsShowWhichTracksArePlayable) {
  joinOwner();
  CallClient watcher;
  EventRecorder seen{watcher};
  await(watcher.join({.url = room["url"], .token = server.token({{"is_owner", false}}), .userName = "watcher"}));
  const auto audioOf = [](const json& participant) { return participant["tracks"]["audio"]; };
  auto caller = sippCaller("caller_holds_inactive.xml", "holder");
  const std::string id = waitForCaller([&] { return sippLog("holder"); });
  auto joined = seen.waitFor("participant-joined", [&](const Event& e) { return e.payload["participant"]["session_id"] == id; });
  ASSERT_TRUE(joined);
  EXPECT_EQ(audioOf(joined->payload["participant"]), json({{"subscribed", true}, {"state", "playable"}}));
  EXPECT_EQ(joined->payload["participant"]["tracks"]["video"]["state"], "off");
  const auto updateOf = [&](const std::string& session, const std::function<bool(const json&)>& wanted) {
    return seen.waitFor("participant-updated", [&](const Event& e) {
      return e.payload["participant"]["session_id"] == session && wanted(e.payload["participant"]);
    }, 10s);
  };
  auto held = updateOf(id, [&](const json& p) { return audioOf(p)["state"] == "off"; });
  ASSERT_TRUE(held) << sippLog("holder");
  EXPECT_EQ(audioOf(held->payload["participant"]), json({{"subscribed", true}, {"state", "off"}, {"off", {{"byUser", true}}}}));
  auto resumed = updateOf(id, [&](const json& p) { return audioOf(p)["state"] == "playable"; });
  ASSERT_TRUE(resumed) << sippLog("holder");
  EXPECT_EQ(watcher.participants()[id]["tracks"]["audio"]["state"], "playable");
  ASSERT_TRUE(waitForFileContaining(dir + "/holder/messages", "CSeq: 3 ACK", 10s)) << sippLog("holder");

  const std::string botId = bot.participants()["local"]["session_id"];
  auto source = std::make_shared<CustomAudioSource>(16000, 1);
  EXPECT_EQ(expectError([&] { await(bot.addCustomAudioTrack("audio", std::make_shared<CustomAudioTrack>(source))); }).code(),
            ErrorCode::InvalidArgument);
  ASSERT_NO_THROW(await(bot.addCustomAudioTrack("greeting", std::make_shared<CustomAudioTrack>(source))));
  auto added = updateOf(botId, [](const json& p) { return p["tracks"].contains("greeting"); });
  ASSERT_TRUE(added);
  EXPECT_EQ(added->payload["participant"]["tracks"]["greeting"], json({{"subscribed", true}, {"state", "playable"}}));
  EXPECT_EQ(added->payload["participant"]["tracks"]["audio"]["state"], "off");  // a bot has no microphone
  ASSERT_NO_THROW(await(bot.removeCustomAudioTrack("greeting")));
  ASSERT_TRUE(updateOf(botId, [](const json& p) { return !p["tracks"].contains("greeting"); }));
  EXPECT_FALSE(watcher.participants()[botId]["tracks"].contains("greeting"));
  // Nothing changed, nothing sent: the hold, the resume, the track added and removed, one update each.
  EXPECT_EQ(seen.count("participant-updated"), 4u);
  await(watcher.leave());
}

TEST_F(Media, AnOfferWithoutG711IsRefused488) {
  joinOwner();
  // An INVITE whose only stream is G.722: nothing the gateway can take.
  const int port = freeUdpPort();
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in local{};
  local.sin_family = AF_INET;
  local.sin_port = htons(static_cast<std::uint16_t>(port));
  local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local), 0);
  const std::string sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 9\r\n";
  const std::string invite = "INVITE " + gatewayUri() + " SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:" + std::to_string(port) +
                             ";branch=z9hG4bK-g722\r\nFrom: <sip:x@127.0.0.1>;tag=1\r\nTo: <" + gatewayUri() +
                             ">\r\nCall-ID: g722-only\r\nCSeq: 1 INVITE\r\nContact: <sip:x@127.0.0.1:" + std::to_string(port) +
                             ">\r\nMax-Forwards: 70\r\nContent-Type: application/sdp\r\nContent-Length: " +
                             std::to_string(sdp.size()) + "\r\n\r\n" + sdp;
  sockaddr_in to = local;
  to.sin_port = htons(static_cast<std::uint16_t>(server.sipPort()));
  ASSERT_GT(sendto(fd, invite.data(), invite.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to), 0);
  timeval timeout{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  std::string final;
  char buffer[4096];
  for (int i = 0; i < 5 && final.empty(); ++i) {
    const auto n = recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    const std::string response(buffer, static_cast<std::size_t>(n));
    if (response.rfind("SIP/2.0 1", 0) != 0) final = response;
  }
  close(fd);
  EXPECT_EQ(final.rfind("SIP/2.0 488", 0), 0u) << final;
  // The Warning says why (RFC 3261 20.43: 304, media type not available).
  EXPECT_NE(final.find("Warning: 304 daily-devserver \"the offer has no audio stream over RTP/AVP in PCMU or PCMA\"\r\n"),
            std::string::npos) << final;
  EXPECT_FALSE(events.waitFor("dialin-connected", {}, 300ms));
}

// Garbage and RTP from a stranger at a call's RTP port: dropped and counted; the call goes on.
TEST_F(Media, MalformedRtpAndStrangersAreDroppedAndCounted) {
  joinOwner();
  auto caller = sippCaller("caller_streams_audio.xml", "victim", 1000);
  const std::string id = waitForCaller([&] { return sippLog("victim"); });
  const int rtpPort = gatewayRtpPort("victim");
  ASSERT_GT(rtpPort, 0) << sippLog("victim");
  const auto live = [&] { auto c = server.mediaCounters(id); return c && c->packetsReceived > 10; };
  ASSERT_TRUE(eventually(live));
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<std::uint16_t>(rtpPort));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  auto send = [&](const std::string& d) { sendto(fd, d.data(), d.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to); };
  for (int i = 0; i < 50; ++i) send(std::string(i % 12, 'x'));                       // not RTP
  for (int i = 0; i < 50; ++i) send(std::string("\x80\x00\x00\x01", 4) + std::string(8 + 160, '\x7f'));  // a stranger's stream
  close(fd);
  const auto counted = [&] {
    auto c = server.mediaCounters(id);
    return c && c->malformed >= 50 && c->wrongSource >= 50;
  };
  EXPECT_TRUE(eventually(counted)) << "malformed " << server.mediaCounters(id)->malformed << ", wrong source "
                         << server.mediaCounters(id)->wrongSource;
  EXPECT_TRUE(bot.participants().contains(id));  // the call is still up
  EXPECT_EQ(events.count("dtmf-event"), 0u);
}

// A caller whose keypad floods the gateway: 100 distinct presses at 50 a second, each a start and two ends. At
// most 20 a second become dtmf-events, the rest are dropped and counted, and the call goes on.
TEST_F(Media, AKeyPressFloodIsRateLimitedAndCounted) {
  joinOwner();
  std::vector<Datagram> flood;
  for (int press = 0; press < 100; ++press) {
    const double at = press * 0.020;
    const auto ts = static_cast<std::uint32_t>(press * 800);
    const auto seq = static_cast<std::uint16_t>(press * 3);
    flood.push_back({at, rtpPacket(101, true, seq, ts, 0x5eed, telephoneEvent(press % 16, false, 10, 160))});
    for (int end = 1; end <= 2; ++end)
      flood.push_back({at + 0.001 * end, rtpPacket(101, false, static_cast<std::uint16_t>(seq + end), ts, 0x5eed,
                                                   telephoneEvent(press % 16, true, 10, 400))});
  }
  std::unique_ptr<Process> caller;
  const std::string id = callerPlaying("flood", flood, caller);
  const auto all = [&] { auto c = server.mediaCounters(id); return c && c->packetsReceived == flood.size(); };
  ASSERT_TRUE(eventually(all, 15s)) << server.mediaCounters(id)->packetsReceived << " packets; " << sippLog("flood");
  const auto c = *server.mediaCounters(id);
  EXPECT_EQ(c.dtmfReceived + c.dtmfDropped, 100u);
  // Arriving over two seconds, at most 20 in any second: about 40 pass (fewer if they arrive bunched up).
  EXPECT_GE(c.dtmfReceived, 20u);
  EXPECT_LE(c.dtmfReceived, 60u);
  EXPECT_GE(c.dtmfDropped, 40u);
  EXPECT_TRUE(eventually([&] { return events.count("dtmf-event") == c.dtmfReceived; })) << events.count("dtmf-event");
  EXPECT_EQ(c.malformed, 0u);
  EXPECT_TRUE(bot.participants().contains(id));  // the call is still up
}

// Reordering and duplicates on the wire, from sipp replaying a capture of a 1000 Hz tone in which some packets
// are swapped with the next, some held back behind two later ones and some sent twice. The jitter buffer puts each
// in its place: every one is counted as what it is, none is late, nothing is concealed but the stream's end.
TEST_F(Media, ReorderedAndDuplicatedPacketsArePlayedInTheirPlace) {
  joinOwner();
  const auto frames = toneFramesUlaw(1000, 3);
  std::vector<std::size_t> order(frames.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::size_t swapped = 0, held = 0;
  for (std::size_t i = 10; i + 1 < order.size(); i += 10) std::swap(order[i], order[i + 1]), ++swapped;
  for (std::size_t i = 35; i + 2 < order.size(); i += 30) std::rotate(order.begin() + i, order.begin() + i + 1, order.begin() + i + 3), ++held;
  std::vector<Datagram> stream;
  std::size_t duplicated = 0;
  for (std::size_t slot = 0; slot < order.size(); ++slot) {
    const std::size_t i = order[slot];
    const auto packet = rtpPacket(0, i == 0, static_cast<std::uint16_t>(1000 + i), static_cast<std::uint32_t>(i * 160), 0x70e, frames[i]);
    stream.push_back({slot * 0.020, packet});
    if (i % 50 == 42) stream.push_back({slot * 0.020 + 0.001, packet}), ++duplicated;
  }
  std::unique_ptr<Process> caller;
  const std::string id = callerPlaying("shuffled", stream, caller);
  const auto heard = listen(id);
  const auto all = [&] { auto c = server.mediaCounters(id); return c && c->packetsReceived == stream.size(); };
  ASSERT_TRUE(eventually(all, 15s)) << server.mediaCounters(id)->packetsReceived << " packets; " << sippLog("shuffled");
  // The stream's end (the jitter delay and the concealment after it) is played out too.
  ASSERT_TRUE(eventually([&] { return server.mediaCounters(id)->concealed >= 1; }));
  const auto c = *server.mediaCounters(id);
  EXPECT_EQ(c.reordered, swapped + held);
  EXPECT_EQ(c.duplicates, duplicated);
  EXPECT_EQ(c.late, 0u);
  EXPECT_LE(c.concealed, 3u) << "only the stream's end is concealed";
  bot.setAudioRenderer(id, nullptr, {});
  const auto report = detectTones(heard->all(), 8000, {500, 1000});
  EXPECT_GT(report.blocks, 120u) << report.describe();
  EXPECT_GT(report.heard.at(1000), 0.95) << report.describe();
}

// A second stream from the caller's own address (another SSRC, a 500 Hz tone) interleaved with its 1000 Hz one:
// the latched stream is played, every packet of the other is dropped and counted as a wrong source.
TEST_F(Media, AnotherSsrcFromTheCallersAddressIsDroppedAndCounted) {
  joinOwner();
  const auto tone = toneFramesUlaw(1000, 3), other = toneFramesUlaw(500, 3);
  std::vector<Datagram> stream;
  std::size_t strangers = 0;
  for (std::size_t i = 0; i < tone.size(); ++i) {
    const auto at = static_cast<double>(i) * 0.020;
    stream.push_back({at, rtpPacket(0, i == 0, static_cast<std::uint16_t>(i), static_cast<std::uint32_t>(i * 160), 0xaaaa, tone[i])});
    if (i >= 5 && i % 2 == 1)  // once the first stream is latched
      stream.push_back({at + 0.005, rtpPacket(0, false, static_cast<std::uint16_t>(7000 + i), static_cast<std::uint32_t>(i * 160),
                                               0xbbbb, other[i])}), ++strangers;
  }
  std::unique_ptr<Process> caller;
  const std::string id = callerPlaying("twostreams", stream, caller);
  const auto heard = listen(id);
  const auto all = [&] {
    auto c = server.mediaCounters(id);
    return c && c->packetsReceived + c->wrongSource == stream.size() && c->concealed >= 1;  // and played out
  };
  ASSERT_TRUE(eventually(all, 15s)) << server.mediaCounters(id)->packetsReceived << " packets; " << sippLog("twostreams");
  const auto c = *server.mediaCounters(id);
  EXPECT_EQ(c.wrongSource, strangers);
  EXPECT_EQ(c.packetsReceived, tone.size());
  bot.setAudioRenderer(id, nullptr, {});
  const auto report = detectTones(heard->all(), 8000, {500, 1000});
  EXPECT_GT(report.heard.at(1000), 0.95) << report.describe();
  EXPECT_LT(report.heard.at(500), 0.05) << report.describe();
}

// A bot's renderer hears a caller: 1000 Hz from sipp, at the rate the bot asked for, callbackInterval at a time,
// off the network thread and off the event dispatcher.
TEST_F(Media, ABotsRendererHearsTheCaller) {
  struct Threads {  // where event handlers run: the dispatcher (shared: the fixture's bot outlives this body)
    std::mutex mu;
    std::set<std::thread::id> ids;
  };
  auto handlerThreads = std::make_shared<Threads>();
  bot.on("*", [handlerThreads](const Event&) {
    std::lock_guard<std::mutex> lock(handlerThreads->mu);
    handlerThreads->ids.insert(std::this_thread::get_id());
  });
  joinOwner();
  auto caller = sippCaller("caller_streams_audio.xml", "caller", 1000);
  const std::string id = waitForCaller([&] { return sippLog("caller"); });
  // Shared with the renderer, which the fixture's bot outlives this body with if an assertion returns early.
  struct Heard {
    std::mutex mu;
    std::condition_variable enough;
    std::vector<std::int16_t> samples;
    std::vector<AudioData> chunks;
    std::set<std::thread::id> threads;
    std::vector<std::string> wrong;  // a participant or source other than the caller's microphone
  };
  auto heard = std::make_shared<Heard>();
  bot.setAudioRenderer(id, [heard, id](const std::string& participant, const AudioData& audio, const std::string& source) {
    std::lock_guard<std::mutex> lock(heard->mu);
    if (participant != id || source != "microphone") heard->wrong.push_back(participant + "/" + source);
    heard->threads.insert(std::this_thread::get_id());
    if (heard->chunks.size() < 3) heard->chunks.push_back(audio);
    heard->samples.insert(heard->samples.end(), audio.audioFrames.begin(), audio.audioFrames.end());
    heard->enough.notify_all();
  }, {.sampleRate = 16000, .callbackInterval = 40ms});
  {
    std::unique_lock<std::mutex> lock(heard->mu);
    ASSERT_TRUE(heard->enough.wait_for(lock, 10s, [&] { return heard->samples.size() >= 16000 * 2; }))
        << heard->samples.size() << " samples";
  }
  // Removing the renderer stops the audio: from here nothing else touches what it filled.
  bot.setAudioRenderer(id, nullptr, {});
  EXPECT_TRUE(heard->wrong.empty()) << heard->wrong.front();
  for (const auto& c : heard->chunks) {
    EXPECT_EQ(c.sampleRate, 16000);
    EXPECT_EQ(c.numChannels, 1);
    EXPECT_EQ(c.bitsPerSample, 16);
    EXPECT_EQ(c.numAudioFrames, 640u);  // 40 ms at 16 kHz
    EXPECT_EQ(c.audioFrames.size(), 640u);
  }
  EXPECT_EQ(heard->threads.size(), 1u);
  {
    std::lock_guard<std::mutex> handlers(handlerThreads->mu);
    ASSERT_EQ(handlerThreads->ids.size(), 1u);
    EXPECT_NE(*heard->threads.begin(), *handlerThreads->ids.begin()) << "audio must not wait behind events";
  }
  const auto report = detectTones(heard->samples, 16000, {500, 1000, 1500});
  EXPECT_GT(report.heard.at(1000), 0.8) << report.describe();
  EXPECT_LT(report.heard.at(500), 0.1) << report.describe();
}

// A caller hears a bot: its custom track plays a 1500 Hz tone written at 16 kHz, paced at real time.
TEST_F(Media, ACallerHearsTheBotsCustomTrack) {
  joinOwner();
  Phone phone = baresip("phone", 0, 5, gatewayUri());
  waitForCaller([&] { return readFile(phone.home + "/baresip.log"); });
  auto source = std::make_shared<CustomAudioSource>(16000, 1);
  EXPECT_EQ(source->writeFrames(std::vector<std::int16_t>(320)).get(), 0u);  // not attached: nothing is sent
  ASSERT_NO_THROW(await(bot.addCustomAudioTrack("greeting", std::make_shared<CustomAudioTrack>(source))));
  EXPECT_EQ(expectError([&] { await(bot.addCustomAudioTrack("greeting", std::make_shared<CustomAudioTrack>(source))); }).code(),
            ErrorCode::InvalidArgument);
  std::vector<std::int16_t> tone(16000 * 2);
  for (std::size_t i = 0; i < tone.size(); ++i)
    tone[i] = static_cast<std::int16_t>(6000 * std::sin(2 * M_PI * 1500 * static_cast<double>(i) / 16000));
  const auto start = std::chrono::steady_clock::now();
  auto written = source->writeFrames(tone);
  ASSERT_EQ(written.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(written.get(), tone.size());
  // Paced at real time: 2 s of audio take about 2 s to send, not a burst.
  EXPECT_GT(std::chrono::steady_clock::now() - start, 1500ms);
  ASSERT_NO_THROW(await(bot.removeCustomAudioTrack("greeting")));
  EXPECT_EQ(source->writeFrames(std::vector<std::int16_t>(320)).get(), 0u);  // detached again
  ASSERT_TRUE(callEnded(phone)) << readFile(phone.home + "/baresip.log");
  const auto report = heardBy(phone, {500, 1500});
  EXPECT_GT(report.blocks, 50u) << report.describe();
  EXPECT_GT(report.heard.at(1500), 0.8) << report.describe();
  EXPECT_LT(report.heard.at(500), 0.1) << report.describe();
}

class MediaTimeout : public Media {
 protected:
  static devserver::Options options() {
    auto o = mediaOptions();
    o.rtpTimeout = 1s;
    return o;
  }
  MediaTimeout() : Media(options()) {}
};

// --rtp-timeout: a caller that sends no RTP is hung up once the timeout passes; one that streams is not.
TEST_F(MediaTimeout, ACallerSendingNoRtpIsHungUp) {
  joinOwner();
  auto streaming = sippCaller("caller_streams_audio.xml", "streaming", 1000);
  const std::string kept = waitForCaller([&] { return sippLog("streaming"); });
  auto silent = sippCaller("caller_waits_for_bye.xml", "silent");
  const std::string dropped = waitForCaller([&] { return sippLog("silent"); });
  auto stopped = events.waitFor("dialin-stopped", [&](const Event& e) { return e.payload["sessionId"] == dropped; }, 10s);
  ASSERT_TRUE(stopped) << sippLog("silent");
  EXPECT_EQ(silent->wait(10s), 0) << sippLog("silent");
  EXPECT_TRUE(bot.participants().contains(kept));
}

#ifdef DAILY_EXAMPLES_DIR
// examples/ivr_bot end to end: baresip dials in and hears the prompt, presses 2 (an RFC 4733 event, from its
// keypad over its cons module), hears "transferring you", and follows the REFER to the sipp agent key 2 chose.
TEST_F(Media, TheIvrExampleGreetsCollectsAKeyAndTransfers) {
  const std::string bin = DAILY_EXAMPLES_DIR;
  writeToneWav(dir + "/prompt.wav", 440, 1.5);
  writeToneWav(dir + "/transferring.wav", 880, 1.0);
  const int salesPort = freeUdpPort(), supportPort = freeUdpPort();
  const int consPort = freeSipPort();
  Process support({"sipp", "-sn", "uas", "-i", "127.0.0.1", "-p", std::to_string(supportPort), "-m", "1", "-timeout",
                   "30s", "-nostdin", "-trace_msg", "-message_file", dir + "/support.messages", "-mp",
                   std::to_string(freeMediaPort())},
                  dir, dir + "/support.log");
  Process ivr({bin + "/ivr_bot", "--room-url", room["url"], "--token", server.token({{"is_owner", true}}), "--prompt",
               dir + "/prompt.wav", "--transferring", dir + "/transferring.wav", "--route",
               "1=sip:sales@127.0.0.1:" + std::to_string(salesPort), "--route",
               "2=sip:support@127.0.0.1:" + std::to_string(supportPort), "--timeout", "20"},
              dir, dir + "/ivr.log");
  ASSERT_TRUE(waitForFileContaining(dir + "/ivr.log", "joined-meeting", 10s)) << readFile(dir + "/ivr.log");
  Phone phone;
  phone.home = dir + "/phone";
  phone.record = phone.home + "/heard";
  std::filesystem::create_directories(phone.record);
  writeBaresipConfig(phone.home, "127.0.0.1", freeSipPort(), "phone", 20, {.recordDir = phone.record, .consPort = consPort});
  phone.process = std::make_unique<Process>(
      std::vector<std::string>{"baresip", "-v", "-f", phone.home, "-e", "/dial " + gatewayUri(), "-t", "30"}, dir,
      phone.home + "/baresip.log");
  ASSERT_TRUE(waitForFileContaining(dir + "/ivr.log", "waiting for a key", 15s)) << readFile(dir + "/ivr.log");
  baresipCommand(consPort, "2");  // a key of its keypad, in the call: sent as a telephone-event
  ASSERT_EQ(ivr.wait(30s), 0) << readFile(dir + "/ivr.log") << readFile(phone.home + "/baresip.log");
  const std::string log = readFile(dir + "/ivr.log");
  EXPECT_NE(log.find("key 2: transferring to sip:support@"), std::string::npos) << log;
  EXPECT_NE(log.find("outcome: transferred (SIP 200)"), std::string::npos) << log;
  EXPECT_NE(log.find("\"method\":\"telephone-event\""), std::string::npos) << log;
  // baresip followed the REFER to the agent key 2 chose.
  EXPECT_TRUE(waitForFileContaining(dir + "/support.messages", "INVITE sip:support@", 10s)) << readFile(dir + "/support.log");
  // What the caller heard from the gateway: the prompt, then "transferring you".
  ASSERT_TRUE(waitForFileContaining(phone.home + "/baresip.log", "audio: destroyed", 20s)) << readFile(phone.home + "/baresip.log");
  const auto heard = heardBy(phone, {440, 880});
  EXPECT_GT(heard.heard.at(440), 0.3) << heard.describe();
  EXPECT_GT(heard.heard.at(880), 0.2) << heard.describe();
}
#endif

// SRTP for calls over TLS (SDES, RFC 4568): baresip with mediaenc=srtp-mand places and takes calls only with
// SRTP. Both directions of audio cross the gateway encrypted under each side's key, so each tone heard proves the
// other side's SRTP: baresip would drop plain RTP, and the gateway drops whatever fails authentication.
devserver::Options mediaOverTls() { return withSipTls(mediaOptions()); }

class MediaOverTls : public Media {
 protected:
  explicit MediaOverTls(devserver::Options options = mediaOverTls()) : Media(options) {}
  // baresip over TLS, with SRTP mandatory or without SRTP at all.
  BaresipExtras srtpPhone() const { return tlsPhone("srtp-mand"); }
  BaresipExtras plainTlsPhone() const { return tlsPhone(""); }
  static BaresipExtras tlsPhone(std::string mediaEncryption) {
    return {.certificate = certificates().peerBundle, .caFile = certificates().ca, .mediaEncryption = std::move(mediaEncryption)};
  }
  std::string tlsGatewayUri() const {
    return "sip:" + dialInUser(room) + "@127.0.0.1:" + std::to_string(server.sipTlsPort()) + ";transport=tls";
  }
  // A bot's track playing hz at 16 kHz for `seconds`, written at once (paced by the SDK).
  std::future<std::size_t> play(const std::shared_ptr<CustomAudioSource>& source, double hz, double seconds) {
    std::vector<std::int16_t> tone(static_cast<std::size_t>(16000 * seconds));
    for (std::size_t i = 0; i < tone.size(); ++i)
      tone[i] = static_cast<std::int16_t>(6000 * std::sin(2 * M_PI * hz * static_cast<double>(i) / 16000));
    return source->writeFrames(std::move(tone));
  }
  // What a bot's renderer hears of a participant until it has `samples` (or 10 s have passed).
  std::vector<std::int16_t> render(const std::string& participant, std::size_t samples) {
    const auto heard = listen(participant);
    eventually([&] { return heard->size() >= samples; }, 10s);
    bot.setAudioRenderer(participant, nullptr, {});
    return heard->all();
  }
};

TEST_F(MediaOverTls, ACallerDialingInWithSrtpHearsTheRoomAndIsHeard) {
  joinOwner();
  auto source = std::make_shared<CustomAudioSource>(16000, 1);
  ASSERT_NO_THROW(await(bot.addCustomAudioTrack("voice", std::make_shared<CustomAudioTrack>(source))));
  Phone phone = baresip("secure", 500, 4, tlsGatewayUri(), false, srtpPhone());
  const std::string id = waitForCaller([&] { return readFile(phone.home + "/baresip.log"); });
  auto spoken = play(source, 1500, 2.5);
  const auto heard = render(id, 8000 * 2);
  const auto fromCaller = detectTones(heard, 8000, {500, 1500});
  EXPECT_GT(fromCaller.heard.at(500), 0.8) << fromCaller.describe();
  EXPECT_LT(fromCaller.heard.at(1500), 0.1) << fromCaller.describe();
  ASSERT_EQ(spoken.wait_for(10s), std::future_status::ready);
  const auto c = *server.mediaCounters(id);
  EXPECT_TRUE(c.srtp);
  EXPECT_GT(c.packetsReceived, 50u);
  EXPECT_GT(c.packetsSent, 50u);
  EXPECT_EQ(c.unauthenticated, 0u);
  EXPECT_EQ(c.malformed, 0u);
  ASSERT_TRUE(callEnded(phone)) << readFile(phone.home + "/baresip.log");
  const auto report = heardBy(phone, {500, 1500});
  EXPECT_GT(report.heard.at(1500), 0.8) << report.describe();
  EXPECT_LT(report.heard.at(500), 0.1) << report.describe();
}

TEST_F(MediaOverTls, ADialOutToASipsTargetOffersSrtpAndCarriesAudioBothWays) {
  joinOwner();
  auto source = std::make_shared<CustomAudioSource>(16000, 1);
  ASSERT_NO_THROW(await(bot.addCustomAudioTrack("voice", std::make_shared<CustomAudioTrack>(source))));
  Phone callee = baresip("callee", 700, 6, "", true, srtpPhone());
  ASSERT_TRUE(waitForTcpListener(callee.port + 1, 10s)) << readFile(callee.home + "/baresip.log");
  const DialOutSession s = await(bot.startDialOut({.sipUri = "sips:callee@127.0.0.1:" + std::to_string(callee.port + 1)}));
  ASSERT_TRUE(events.waitFor("dialout-answered", [&](const Event& e) { return e.payload["sessionId"] == s.sessionId; }, 15s))
      << readFile(callee.home + "/baresip.log");
  auto spoken = play(source, 1500, 2.5);
  const auto heard = render(s.sessionId, 8000 * 2);
  const auto fromCallee = detectTones(heard, 8000, {700, 1500});
  EXPECT_GT(fromCallee.heard.at(700), 0.8) << fromCallee.describe();
  ASSERT_EQ(spoken.wait_for(10s), std::future_status::ready);
  const auto c = *server.mediaCounters(s.sessionId);
  EXPECT_TRUE(c.srtp);
  EXPECT_EQ(c.unauthenticated, 0u);
  EXPECT_NO_THROW(await(bot.stopDialOut({.sessionId = s.sessionId})));
  ASSERT_TRUE(callEnded(callee)) << readFile(callee.home + "/baresip.log");
  const auto report = heardBy(callee, {700, 1500});
  EXPECT_GT(report.heard.at(1500), 0.8) << report.describe();
  EXPECT_LT(report.heard.at(700), 0.1) << report.describe();
}

// A callee over TLS that takes no SRTP refuses the gateway's SRTP offer (baresip answers 488); under the default
// policy the gateway calls again with plain RTP, and the call carries audio.
TEST_F(MediaOverTls, ADialOutToATlsCalleeWithoutSrtpIsCalledAgainWithPlainRtp) {
  joinOwner();
  const BaresipExtras plain = plainTlsPhone();
  Phone callee = baresip("plain", 700, 6, "", true, plain);
  ASSERT_TRUE(waitForTcpListener(callee.port + 1, 10s)) << readFile(callee.home + "/baresip.log");
  const DialOutSession s = await(bot.startDialOut({.sipUri = "sips:plain@127.0.0.1:" + std::to_string(callee.port + 1)}));
  ASSERT_TRUE(events.waitFor("dialout-answered", [&](const Event& e) { return e.payload["sessionId"] == s.sessionId; }, 15s))
      << readFile(callee.home + "/baresip.log");
  const auto heard = render(s.sessionId, 8000);
  EXPECT_GT(detectTones(heard, 8000, {700}).heard.at(700), 0.8) << detectTones(heard, 8000, {700}).describe();
  EXPECT_FALSE(server.mediaCounters(s.sessionId)->srtp);
  // baresip saw two INVITEs: the SRTP one it refused, then the plain one it answered.
  const std::string log = readFile(callee.home + "/baresip.log");
  const auto refused = log.find("no common audio codecs - rejected");  // baresip's 488 to RTP/SAVP
  ASSERT_NE(refused, std::string::npos) << log;
  EXPECT_NE(log.find("Call established", refused), std::string::npos) << log;
  EXPECT_NO_THROW(await(bot.stopDialOut({.sessionId = s.sessionId})));
}

class MediaRequiringSrtp : public MediaOverTls {
 protected:
  static devserver::Options options() {
    auto o = mediaOverTls();
    o.sipSrtp = devserver::media::SrtpPolicy::Required;
    return o;
  }
  MediaRequiringSrtp() : MediaOverTls(options()) {}
};

// --sip-srtp required: a TLS caller offering plain RTP is refused 488 (with the reason), and a TLS callee that
// takes no SRTP is not called again with plain RTP: the dial-out fails.
TEST_F(MediaRequiringSrtp, PlainRtpOverTlsIsRefusedBothWays) {
  joinOwner();
  const BaresipExtras plain = plainTlsPhone();
  Phone caller = baresip("plaincaller", 500, 3, tlsGatewayUri(), false, plain);
  ASSERT_TRUE(waitForFileContaining(caller.home + "/baresip.log", "488", 10s)) << readFile(caller.home + "/baresip.log");
  EXPECT_FALSE(events.waitFor("dialin-connected", {}, 300ms));

  Phone callee = baresip("plaincallee", 700, 6, "", true, plain);
  ASSERT_TRUE(waitForTcpListener(callee.port + 1, 10s)) << readFile(callee.home + "/baresip.log");
  const DialOutSession s = await(bot.startDialOut({.sipUri = "sips:plaincallee@127.0.0.1:" + std::to_string(callee.port + 1)}));
  auto error = events.waitFor("dialout-error", [&](const Event& e) { return e.payload["sessionId"] == s.sessionId; }, 15s);
  ASSERT_TRUE(error) << readFile(callee.home + "/baresip.log");
  EXPECT_NE(error->payload.dump().find("488"), std::string::npos) << error->payload.dump();
  EXPECT_FALSE(bot.participants().contains(s.sessionId));

  // An SRTP caller is still taken.
  Phone secure = baresip("securecaller", 500, 3, tlsGatewayUri(), false, srtpPhone());
  const std::string id = waitForCaller([&] { return readFile(secure.home + "/baresip.log"); });
  EXPECT_TRUE(eventually([&] { auto c = server.mediaCounters(id); return c && c->srtp && c->packetsReceived > 10; }));
}

// SDES keys offered over UDP would have crossed the network in clear: the gateway refuses the call (488, with
// the reason in a Warning) rather than take them, and nobody joins the room.
TEST_F(MediaOverTls, SrtpKeysOfferedOverUdpAreRefused) {
  joinOwner();
  Phone phone = baresip("clear", 500, 3, gatewayUri(), false, {.mediaEncryption = "srtp-mand"});
  ASSERT_TRUE(waitForFileContaining(phone.home + "/baresip.log", "488", 10s)) << readFile(phone.home + "/baresip.log");
  EXPECT_FALSE(events.waitFor("dialin-connected", {}, 300ms));
}

}  // namespace
}  // namespace daily::test
