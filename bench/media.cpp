// The media benchmarks: latency through the gateway (a caller's RTP to a bot's renderer, a bot's writeFrames to the
// caller's RTP) beside the raw UDP round trip, and concurrent calls with live audio (sipp streaming PCMU) with the
// packets the gateway received, sent and lost, and its CPU per call.

#include "media.hpp"

#include "devserver_fixture.hpp"
#include "floors.hpp"
#include "media/rtp.hpp"
#include "process.hpp"

#include <daily/daily.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <mutex>
#include <regex>
#include <thread>

namespace daily::bench {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

std::string fmt(double v, int precision = 1) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(precision) << v;
  return s.str();
}

// G.711 as the gateway codes it.
std::uint8_t ulaw(std::int16_t v) {
  std::uint8_t u = 0;
  devserver::media::encodeG711(devserver::media::Codec::Pcmu, &v, 1, &u);
  return u;
}

std::int16_t linear(std::uint8_t u) {
  std::int16_t v = 0;
  devserver::media::decodeG711(devserver::media::Codec::Pcmu, &u, 1, &v);
  return v;
}

struct Udp {
  int fd = -1;
  int port = 0;
  Udp() {
    fd = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  ~Udp() { close(fd); }
  void sendTo(int to, const std::string& data) const {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(to));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sendto(fd, data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
  }
  std::string receive(int timeoutMs) const {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, timeoutMs) <= 0) return {};
    char buffer[4096];
    const auto n = recv(fd, buffer, sizeof buffer, 0);
    return n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : std::string();
  }
};

std::string rtpPacket(std::uint16_t seq, std::uint32_t ts, const std::vector<std::uint8_t>& payload) {
  std::string p(12, '\0');
  p[0] = static_cast<char>(0x80);
  p[1] = 0;  // PCMU
  p[2] = static_cast<char>(seq >> 8);
  p[3] = static_cast<char>(seq);
  for (int i = 0; i < 4; ++i) p[4 + i] = static_cast<char>(ts >> (24 - 8 * i));
  for (int i = 0; i < 4; ++i) p[8 + i] = static_cast<char>(0x11223344u >> (24 - 8 * i));
  p.append(payload.begin(), payload.end());
  return p;
}

}  // namespace

void mediaLatency(int samples) {
  test::InProcessServer server;
  const json room = server.createRoom({{"properties", {{"sip", {{"sip_mode", "dial-in"}}}}}});
  CallClient bot;
  std::mutex mu;
  std::condition_variable cv;
  std::string caller;
  bot.on("dialin-connected", [&](const Event& e) {
    std::lock_guard<std::mutex> lock(mu);
    caller = e.payload["sessionId"];
    cv.notify_all();
  });
  JoinOptions join;
  join.url = room["url"];
  join.token = server.token({{"is_owner", true}});
  join.userName = "bot";
  bot.join(join).get();

  // The phone: a dial-in by hand over UDP, its RTP on a socket of its own.
  Udp sip, rtp;
  const std::string user = test::dialInUser(room);
  const std::string target = "sip:" + user + "@127.0.0.1:" + std::to_string(server.sipPort());
  const std::string sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio " +
                          std::to_string(rtp.port) + " RTP/AVP 0\r\n";
  const std::string via = "Via: SIP/2.0/UDP 127.0.0.1:" + std::to_string(sip.port) + ";branch=z9hG4bK-bench";
  const std::string common = "From: <sip:bench@127.0.0.1>;tag=bench\r\nCall-ID: media-bench\r\nMax-Forwards: 70\r\n"
                             "Contact: <sip:bench@127.0.0.1:" + std::to_string(sip.port) + ">\r\n";
  sip.sendTo(server.sipPort(), "INVITE " + target + " SIP/2.0\r\n" + via + "\r\n" + common + "To: <" + target +
                                   ">\r\nCSeq: 1 INVITE\r\nContent-Type: application/sdp\r\nContent-Length: " +
                                   std::to_string(sdp.size()) + "\r\n\r\n" + sdp);
  std::string ok;
  for (int i = 0; i < 5 && ok.rfind("SIP/2.0 200", 0) != 0; ++i) ok = sip.receive(2000);
  std::smatch m;
  if (!std::regex_search(ok, m, std::regex("m=audio ([0-9]+)"))) {
    std::cout << "\n**FAILED: the media bench's call was not answered**\n";
    return;
  }
  const int gatewayRtp = std::stoi(m[1]);
  std::smatch tag;
  std::regex_search(ok, tag, std::regex("To: [^\r\n]*;tag=([^;\r\n]+)"));
  sip.sendTo(server.sipPort(), "ACK " + target + " SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:" + std::to_string(sip.port) +
                                   ";branch=z9hG4bK-bench-ack\r\n" + common + "To: <" + target + ">;tag=" +
                                   std::string(tag[1]) + "\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n");
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, 5s, [&] { return !caller.empty(); });
  }

  // The phone streams silence every 20 ms; sample k carries a click. The renderer and the phone's receiver note
  // when a click arrives.
  std::atomic<bool> running{true};
  std::atomic<long long> clickSent{0};  // steady_clock ticks of the last click sent, 0 when none is pending
  std::atomic<bool> clickNow{false};
  std::vector<double> inbound, outbound;
  std::thread phone([&] {
    std::uint16_t seq = 0;
    std::uint32_t ts = 0;
    auto next = Clock::now();
    while (running) {
      std::vector<std::uint8_t> payload(160, ulaw(0));
      if (clickNow.exchange(false)) {
        for (int i = 0; i < 8; ++i) payload[i] = ulaw(20000);
        clickSent = Clock::now().time_since_epoch().count();
      }
      rtp.sendTo(gatewayRtp, rtpPacket(seq++, ts, payload));
      ts += 160;
      next += 20ms;
      std::this_thread::sleep_until(next);
    }
  });
  bot.setAudioRenderer(caller, [&](const std::string&, const AudioData& audio, const std::string&) {
    const long long sent = clickSent.load();
    if (!sent) return;
    for (auto v : audio.audioFrames)
      if (std::abs(v) > 10000) {
        const auto now = Clock::now().time_since_epoch().count();
        std::lock_guard<std::mutex> lock(mu);
        inbound.push_back(std::chrono::duration<double, std::micro>(Clock::duration(now - sent)).count());
        clickSent = 0;
        cv.notify_all();
        return;
      }
  }, AudioRendererOptions{"microphone", 8000, 20ms});
  std::this_thread::sleep_for(300ms);  // the stream is latched and buffered
  for (int i = 0; i < samples; ++i) {
    clickNow = true;
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, 2s, [&] { return static_cast<int>(inbound.size()) > i; });
    lock.unlock();
    std::this_thread::sleep_for(100ms);  // the click has left the buffer
  }
  bot.setAudioRenderer(caller, nullptr, {});

  // The bot speaks: a click written at t0 arrives in the phone's RTP.
  auto source = std::make_shared<CustomAudioSource>(8000, 1);
  bot.addCustomAudioTrack("click", std::make_shared<CustomAudioTrack>(source)).get();
  for (int i = 0; i < samples; ++i) {
    while (!rtp.receive(0).empty()) {
    }
    std::vector<std::int16_t> click(160, 0);
    for (int k = 0; k < 8; ++k) click[static_cast<std::size_t>(k)] = 20000;
    const auto t0 = Clock::now();
    auto done = source->writeFrames(click);
    bool seen = false;
    while (!seen && Clock::now() - t0 < 2s) {
      const std::string packet = rtp.receive(100);
      for (std::size_t b = 12; b < packet.size() && !seen; ++b)
        if (std::abs(linear(static_cast<std::uint8_t>(packet[b]))) > 10000) seen = true;
      if (seen) outbound.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    }
    done.get();
    std::this_thread::sleep_for(100ms);
  }
  running = false;
  phone.join();

  const auto floor = rawUdpRoundTrip(2000);
  const auto in = percentiles(inbound), out = percentiles(outbound);
  std::cout << "\n### Media latency through the gateway (" << inbound.size() << " + " << outbound.size()
            << " clicks; latency by design beside what the wire and the code add)\n\n"
            << "| path | p50 | p99 | floor: raw UDP round trip p50 | delay by design |\n|---|---|---|---|---|\n"
            << "| caller RTP in -> bot renderer | " << fmt(in.p50 / 1000) << " ms | " << fmt(in.p99 / 1000) << " ms | "
            << fmt(floor.p50) << " us | 60 ms jitter buffer + up to 20 ms to the next tick |\n"
            << "| bot writeFrames -> caller RTP out | " << fmt(out.p50 / 1000) << " ms | " << fmt(out.p99 / 1000) << " ms | "
            << fmt(floor.p50) << " us | up to 20 ms to the SDK's next tick + 40 ms queued (or waited) in the track + up to 20 ms to the engine's |\n"
            << std::flush;
  if (inbound.size() < static_cast<std::size_t>(samples) || outbound.size() < static_cast<std::size_t>(samples))
    std::cout << "\n**FAILED: clicks were lost on the way through the gateway**\n";
}

void mediaCalls(int calls, int seconds) {
  // A port range of its own, wide enough for the calls (the tests' per-process block holds only 250).
  devserver::Options options;
  options.rtpFirstPort = 20000;
  options.rtpLastPort = static_cast<std::uint16_t>(20000 + std::max(2 * calls + 100, 1000));
  test::InProcessServer server(options);
  const json room = server.createRoom({{"properties", {{"sip", {{"sip_mode", "dial-in"}}}}}});
  const std::string dir = "/tmp/daily-bench-media-" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  {
    // 2 s of 1 kHz, looped: sipp streams it on every call.
    std::ofstream tone(dir + "/tone.ulaw", std::ios::binary);
    for (int i = 0; i < 16000; ++i) tone.put(static_cast<char>(ulaw(static_cast<std::int16_t>(4000 * std::sin(2 * M_PI * 1000 * i / 8000.0)))));
  }
  test::Process sipp({"sipp", "127.0.0.1:" + std::to_string(server.sipPort()), "-sf",
                      DAILY_SIP_SCENARIOS "/caller_streams_audio.xml", "-s", test::dialInUser(room), "-i", "127.0.0.1",
                      "-r", "100", "-l", std::to_string(calls), "-m", std::to_string(calls), "-timeout", "300s",
                      "-nostdin", "-max_socket", "4096", "-mp", "40000"},
                     dir, dir + "/sipp.log");
  // Every call up, then a steady window.
  std::size_t open = 0;
  const auto setupDeadline = Clock::now() + std::chrono::seconds(30 + calls / 50);
  while (Clock::now() < setupDeadline) {
    server.mediaTotals(&open);
    if (static_cast<int>(open) >= calls) break;
    std::this_thread::sleep_for(100ms);
  }
  std::this_thread::sleep_for(1s);  // streams latched, buffers filled
  const auto before = server.mediaTotals(&open);
  rusage r0{};
  getrusage(RUSAGE_SELF, &r0);
  const auto t0 = Clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  const auto after = server.mediaTotals();
  rusage r1{};
  getrusage(RUSAGE_SELF, &r1);
  const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  auto cpu = [](const rusage& r) {
    return static_cast<double>(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
           static_cast<double>(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
  };
  const double cpuSeconds = cpu(r1) - cpu(r0);
  server.rest("DELETE", "/v1/rooms/" + room["name"].get<std::string>());  // hangs every call up
  sipp.wait(std::chrono::seconds(30 + calls / 50));

  const double expected = static_cast<double>(open) * 50.0 * elapsed;
  const double received = static_cast<double>(after.packetsReceived - before.packetsReceived);
  const double sent = static_cast<double>(after.packetsSent - before.packetsSent);
  const double late = static_cast<double>(after.late - before.late + after.duplicates - before.duplicates);
  const double missingIn = std::max(0.0, expected - received) + late;
  const double missingOut = std::max(0.0, expected - sent);
  std::cout << "\n### Concurrent calls with live audio (" << open << " calls up of " << calls
            << " asked, sipp streaming PCMU at 50 packets/s each way, one room, " << fmt(elapsed, 1) << " s window)\n\n"
            << "| figure | measured | floor / target |\n|---|---|---|\n"
            << "| RTP packets received by the gateway per second | " << fmt(received / elapsed, 0) << " | "
            << fmt(static_cast<double>(open) * 50, 0) << " sent by sipp |\n"
            << "| RTP packets sent by the gateway per second | " << fmt(sent / elapsed, 0) << " | "
            << fmt(static_cast<double>(open) * 50, 0) << " (one per call per 20 ms) |\n"
            << "| received late, duplicated or missing | " << fmt(100 * missingIn / std::max(expected, 1.0), 3)
            << " % | < 0.1 % |\n"
            << "| not sent on time | " << fmt(100 * missingOut / std::max(expected, 1.0), 3) << " % | < 0.1 % |\n"
            << "| devserver process CPU (all its threads) | " << fmt(100 * cpuSeconds / elapsed, 0) << " % of a core | "
            << "2 cores, shared with sipp |\n"
            << "| CPU per call | " << fmt(1e6 * cpuSeconds / elapsed / std::max<double>(static_cast<double>(open), 1), 1)
            << " us per second of call | |\n"
            << "| packets relayed per CPU-second | " << fmt((received + sent) / std::max(cpuSeconds, 1e-9), 0) << " | |\n"
            << std::flush;
}

}  // namespace daily::bench
