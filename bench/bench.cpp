// daily_bench: every figure beside the floor it is compared to, measured in the same run, and their ratio.
//
//   daily_bench            the full run recorded in docs/performance.md (scripts/bench.sh)
//   daily_bench --quick    a short run for CI: reports, never fails on timings, fails only if something broke
//   daily_bench --events N   only the event throughput, N events, and each thread's CPU per event (for profiling:
//                            perf record daily_bench --events ...)
//   daily_bench --rtt N      only the request round trip and its floor, N samples each
//   daily_bench --floors N   only the websocket and UDP round-trip floors, N samples each
//   daily_bench --refer N [P]  only the sipRefer latency, N transfers in a room of P participants (default 1)
//   daily_bench --media-latency N    only the media latency through the gateway, N clicks each way
//   daily_bench --media-calls N S    only N concurrent calls with live audio, over a window of S seconds
//   daily_bench --crowd URL N   (internal) N clients in ROOM URL, in a process of their own; see Crowd below
//
// Prints Markdown: one table per benchmark.

#include "floors.hpp"
#include "media.hpp"
#include "refer_responder.hpp"

#include "certificates.hpp"
#include "devserver.hpp"
#include "devserver_fixture.hpp"

#include <daily/daily.hpp>

#include <websocketpp/config/asio_no_tls.hpp>
#include <websocketpp/server.hpp>

#include "common/protocol.hpp"

#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <deque>
#include <dirent.h>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <malloc.h>
#include <pthread.h>
#include <sstream>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

namespace daily::bench {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

bool quick = false;
int failures = 0;

double micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

std::string fmt(double v, int precision = 1) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(precision) << v;
  return s.str();
}

void fail(const std::string& what) {
  std::cout << "\n**FAILED: " << what << "**\n";
  ++failures;
}

void table(const std::string& title, const std::vector<std::vector<std::string>>& rows) {
  std::cout << "\n### " << title << "\n\n";
  for (std::size_t i = 0; i < rows.size(); ++i) {
    std::cout << "|";
    for (const auto& cell : rows[i]) std::cout << " " << cell << " |";
    std::cout << "\n";
    if (i == 0) {
      std::cout << "|";
      for (std::size_t c = 0; c < rows[i].size(); ++c) std::cout << "---|";
      std::cout << "\n";
    }
  }
  std::cout << std::flush;
}

// The ids of this process's threads (/proc/self/task).
std::vector<std::string> threadIds() {
  std::vector<std::string> ids;
  if (DIR* d = opendir("/proc/self/task")) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') ids.emplace_back(e->d_name);
    closedir(d);
  }
  return ids;
}

int threadCount() { return static_cast<int>(threadIds().size()); }

double rssKiB() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / 1024.0;
}

devserver::Options serverOptions() {
  devserver::Options o;
  o.apiKey = test::kApiKey;
  return o;
}

// (This file includes websocketpp, so it is C++17: no designated initializers here.)
MeetingTokenProperties ownerTokenProperties(const std::string& room) {
  MeetingTokenProperties p;
  p.roomName = room;
  p.isOwner = true;
  return p;
}

RestClientOptions restOptions(const std::string& httpUrl) {
  RestClientOptions o;
  o.apiKey = test::kApiKey;
  o.baseUrl = httpUrl + "/v1";
  return o;
}

CreateRoomOptions roomOptions(const std::string& name, bool dialIn) {
  CreateRoomOptions o;
  o.name = name;
  if (dialIn) o.properties = {{"sip", {{"sip_mode", "dial-in"}}}};
  return o;
}

std::string ownerToken(RestClient& rest, const std::string& room) {
  return rest.createMeetingToken(ownerTokenProperties(room));
}

RestClient restFor(const std::string& httpUrl) {
  return RestClient(restOptions(httpUrl));
}

// ---- sipRefer latency, and its growth with the room's size -------------------------------------------------------

struct ReferRun {
  Percentiles latency;
  int refers = 0;
};

// The other participants of a room, in a process of their own (this binary with --crowd), as the people in a
// real room are: they do not share the bot's network and dispatcher threads. They join as guests (no token), as
// most of a big room's people do. It says "ready" on a pipe once all have joined, and leaves when its stdin closes.
class Crowd {
 public:
  Crowd(const std::string& url, int n) {
    if (n == 0) return;
    int toChild[2], fromChild[2];
    if (pipe(toChild) != 0 || pipe(fromChild) != 0) throw std::runtime_error("pipe failed");
    const std::string count = std::to_string(n);  // before fork(): the child of a threaded process must not allocate
    pid_ = fork();
    if (pid_ == 0) {
      dup2(toChild[0], STDIN_FILENO);
      dup2(fromChild[1], STDOUT_FILENO);
      for (int fd : {toChild[0], toChild[1], fromChild[0], fromChild[1]}) close(fd);
      execl("/proc/self/exe", "daily_bench", "--crowd", url.c_str(), count.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    close(toChild[0]);
    close(fromChild[1]);
    toChild_ = toChild[1];
    fromChild_ = fdopen(fromChild[0], "r");
    char line[64];
    if (!std::fgets(line, sizeof line, fromChild_) || std::string(line) != "ready\n")
      throw std::runtime_error("the crowd process did not join");
  }
  ~Crowd() {
    if (pid_ <= 0) return;
    close(toChild_);  // its stdin closes: it leaves and exits
    std::fclose(fromChild_);
    waitpid(pid_, nullptr, 0);
  }

  // The child's side.
  static int serve(const std::string& url, int n) {
    std::vector<std::unique_ptr<CallClient>> members;
    // In batches of 50: every join is announced to everyone already there, so a thousand concurrent joins keep
    // the devserver busy past websocketpp's 5 s handshake timeout.
    for (int i = 0; i < n; i += 50) {
      std::vector<std::future<json>> joins;
      for (int k = i; k < std::min(n, i + 50); ++k) {
        members.push_back(std::make_unique<CallClient>());
        joins.push_back(members.back()->join(JoinOptions{url, "", "crowd"}));
      }
      for (auto& j : joins) j.get();
    }
    std::cout << "ready" << std::endl;
    while (std::cin.get() != EOF) {
    }
    std::_Exit(0);  // the crowd need not leave politely: the bench tears its server down next
  }

 private:
  pid_t pid_ = -1;
  int toChild_ = -1;
  FILE* fromChild_ = nullptr;
};

// Refers one SIP call (an in-process responder, over UDP, TCP or TLS) `iterations` times, through a devserver in a
// process of its own, with `extraClients` more participants in the room, who are in a process of their own too.
ReferRun referLoop(int iterations, int extraClients, Wire wire = Wire::Udp) {
  const test::Certificates* certs = wire == Wire::Tls ? &test::certificates() : nullptr;
  // The devserver in a process of its own, as users run it; over TLS with the test certificates.
  test::ChildServer server(certs ? std::vector<std::string>{"--sip-tls-cert", certs->goodCert, "--sip-tls-key", certs->goodKey}
                                 : std::vector<std::string>{});
  RestClient rest = restFor(server.httpUrl());
  const Room room = rest.createRoom(roomOptions("bench", true));
  Crowd crowd(room.url, extraClients);

  CallClient bot;
  std::mutex mu;
  std::condition_variable cv;
  std::string caller;
  int finals = 0;
  bot.on("dialin-connected", [&](const Event& e) {
    std::lock_guard<std::mutex> lock(mu);
    caller = e.payload["sessionId"];
    cv.notify_all();
  });
  bot.on("sip-refer-progress", [&](const Event& e) {
    if (e.payload["final"] != true) return;
    std::lock_guard<std::mutex> lock(mu);
    ++finals;
    cv.notify_all();
  });
  bot.join(JoinOptions{room.url, ownerToken(rest, "bench"), "bot"}).get();
  // TCP listens on the UDP port's number.
  const int port = wire == Wire::Tls ? server.ready()["sip_tls_port"].get<int>() : server.sipPort();
  ReferResponder phone(test::dialInUser(room.raw), static_cast<std::uint16_t>(port), wire,
                       certs ? certs->ca : std::string());
  phone.dialIn();
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return !caller.empty(); });
  }
  std::vector<double> samples;
  const int warmup = std::max(5, iterations / 10);
  for (int i = 0; i < iterations + warmup; ++i) {
    const auto start = Clock::now();
    bot.sipRefer(SipReferOptions{caller, "sip:agent@127.0.0.1:5099", {}}).get();
    const auto took = Clock::now() - start;
    if (i >= warmup) samples.push_back(micros(took));
    // Not measured: the NOTIFY that reports the (failed) transfer, so that the call can be referred again. Each
    // sipRefer then starts with the server and this process idle, and measures its own cost, not the previous
    // one's tail.
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return finals == i + 1; });
    lock.unlock();
    // And the server has finished its writes: a request it answers comes after everything it had queued.
    try {
      bot.stopDialOut(StopDialOutOptions{"nobody"}).get();
    } catch (const Error& e) {
      if (e.code() != ErrorCode::NotFound) throw;
    }
  }
  return {percentiles(std::move(samples)), phone.refersAnswered()};
}

// ---- request round trip and event throughput ---------------------------------------------------------------------

Percentiles requestRoundTrip(int iterations) {
  devserver::Devserver server(serverOptions());
  server.start();
  RestClient rest = restFor(server.httpUrl());
  const Room room = rest.createRoom(roomOptions("rtt", false));
  CallClient bot;
  bot.join(JoinOptions{room.url, ownerToken(rest, "rtt"), ""}).get();
  std::vector<double> samples;
  for (int i = 0; i < iterations + iterations / 10; ++i) {
    const auto start = Clock::now();
    try {
      // The cheapest full request: checked by the client, sent, checked by the server, answered NotFound.
      bot.stopDialOut(StopDialOutOptions{"nobody"}).get();
    } catch (const Error& e) {
      if (e.code() != ErrorCode::NotFound) throw;
    }
    if (i >= iterations / 10) samples.push_back(micros(Clock::now() - start));
  }
  return percentiles(std::move(samples));
}

// Each thread's CPU time so far (utime + stime from /proc/self/task/*/stat) divided by `events`, in µs, by thread
// name: which thread an event's cost lands on, which throughput alone does not show (docs/performance.md).
std::string threadCpuPerEvent(int events) {
  std::ostringstream out;
  const double usPerTick = 1e6 / static_cast<double>(sysconf(_SC_CLK_TCK));
  for (const std::string& id : threadIds()) {
    std::ifstream stat("/proc/self/task/" + id + "/stat");
    std::string line;
    std::getline(stat, line);
    const auto open = line.find('('), close = line.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    std::istringstream fields(line.substr(close + 2));  // from field 3, the state
    std::string field;
    long ticks = 0;
    for (int n = 3; n <= 15 && fields >> field; ++n)
      if (n == 14 || n == 15) ticks += std::stol(field);  // utime, stime
    if (ticks == 0) continue;
    out << " " << line.substr(open + 1, close - open - 1) << " " << fmt(ticks * usPerTick / events, 2);
  }
  return out.str();
}

// A websocketpp server that answers join and then sends `events` participant-updated events as fast as it can;
// the figure is events handled per second by a handler on the dispatcher thread, from join() to the last one.
double eventsPerSecond(int events, std::string* cpuPerEvent = nullptr) {
  using WsServer = websocketpp::server<websocketpp::config::asio>;
  WsServer ws;
  ws.clear_access_channels(websocketpp::log::alevel::all);
  ws.clear_error_channels(websocketpp::log::elevel::all);
  ws.init_asio();
  const std::string frame = protocol::encodeEvent(
      "participant-updated", {{"participant", {{"session_id", "6f0ce557-e6e4-409f-bae9-fe5663ba4ae7"},
                                               {"user_name", "bench"}, {"owner", false}}}});
  ws.set_message_handler([&](websocketpp::connection_hdl h, WsServer::message_ptr m) {
    auto f = protocol::decodeFrame(m->get_payload(), nullptr);
    if (!f || f->method != "join") return;
    ws.send(h, protocol::encodeResult(f->id, {{"local", {{"session_id", "me"}, {"owner", false}}},
                                              {"participants", json::array()}}),
            websocketpp::frame::opcode::text);
    for (int i = 0; i < events; ++i) ws.send(h, frame, websocketpp::frame::opcode::text);
  });
  ws.listen(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  ws.start_accept();
  asio::error_code ec;
  const auto port = ws.get_local_endpoint(ec).port();
  std::thread serverThread([&] {
    pthread_setname_np(pthread_self(), "bench-sender");  // as --events reports it
    ws.run();
  });

  double rate = 0;
  {
    CallClient client;
    std::mutex mu;
    std::condition_variable cv;
    int received = 0;
    client.on("participant-updated", [&](const Event&) {
      std::lock_guard<std::mutex> lock(mu);
      if (++received == events) cv.notify_all();
    });
    const auto start = Clock::now();
    client.join(JoinOptions{"http://127.0.0.1:" + std::to_string(port) + "/bench", "", ""}).get();
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return received == events; });
    rate = events / std::chrono::duration<double>(Clock::now() - start).count();
    if (cpuPerEvent) *cpuPerEvent = threadCpuPerEvent(events);
  }
  ws.stop();
  serverThread.join();
  return rate;
}

// ---- many clients --------------------------------------------------------------------------------------------------

// count clients in rooms of roomSize (a bot farm: each bot in its own call with a few others).
void manyClients(int count, int roomSize) {
  test::ChildServer server;  // in a child process: this process's threads and memory are the clients' alone
  RestClient rest = restFor(server.httpUrl());
  std::vector<std::string> urls;
  for (int r = 0; r < (count + roomSize - 1) / roomSize; ++r)
    urls.push_back(rest.createRoom(roomOptions("crowd-" + std::to_string(r), false)).url);
  {
    CallClient warm;  // the shared runtime's threads exist before the baseline is taken
    warm.join(JoinOptions{urls[0], "", ""}).get();
    warm.leave().get();
  }
  const int threadsBefore = threadCount();
  // Free heap left by the benchmarks before (200,000 queued events) would be reused without raising RSS, and
  // the clients would seem to cost almost nothing: hand it back to the kernel first.
  malloc_trim(0);
  const double rssBefore = rssKiB();
  std::vector<std::unique_ptr<CallClient>> clients;
  std::vector<std::future<json>> joins;
  const auto start = Clock::now();
  for (int i = 0; i < count; ++i) {
    clients.push_back(std::make_unique<CallClient>());
    joins.push_back(clients.back()->join(JoinOptions{urls[i / roomSize], "", "client-" + std::to_string(i)}));
  }
  int joined = 0;
  for (auto& j : joins) {
    try {
      j.get();
      ++joined;
    } catch (const Error& e) {
      std::cerr << "join failed: " << e.what() << "\n";
    }
  }
  const double joinSeconds = std::chrono::duration<double>(Clock::now() - start).count();
  // Wait until every room's first member has seen the whole room (the last participant-joined events).
  for (auto deadline = Clock::now() + 60s; Clock::now() < deadline;) {
    bool all = true;
    for (int i = 0; i < count && all; i += roomSize)
      all = clients[static_cast<std::size_t>(i)]->participants().size() >= static_cast<std::size_t>(std::min(roomSize, count - i));
    if (all) break;
    std::this_thread::sleep_for(10ms);
  }
  const int threads = threadCount();
  const double perClient = (rssKiB() - rssBefore) / count;
  if (joined != count) fail(std::to_string(count - joined) + " of " + std::to_string(count) + " joins failed");
  table("Many clients: " + std::to_string(count) + " CallClients joined to one devserver from one process, in rooms of " +
            std::to_string(roomSize),
        {{"figure", "value", "target"},
         {"threads in the process (main + SDK)", std::to_string(threads) + " (" + std::to_string(threadsBefore) +
                                                     " with 1 client)", "independent of clients, <= 4 besides main"},
         {"RSS per joined client", fmt(perClient) + " KiB", "<= 100 KiB"},
         {"join time for all (concurrent joins)", fmt(joinSeconds * 1000) + " ms", "-"},
         {"joined", std::to_string(joined) + " / " + std::to_string(count), "all"}});
  if (threads != threadsBefore) fail("the thread count grew with the clients");
}

// ---- gateway load with sipp ----------------------------------------------------------------------------------------

void gatewayLoad(int calls, int rate, std::chrono::seconds hold) {
  test::ChildServer server;  // in a child process: this process's threads and memory are the clients' alone
  RestClient rest = restFor(server.httpUrl());
  const Room room = rest.createRoom(roomOptions("load", true));
  CallClient bot;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::pair<Clock::time_point, std::string>> due;  // when to refer which caller
  int inRoom = 0, maxInRoom = 0, stopped = 0;
  bot.on("dialin-connected", [&](const Event& e) {
    std::lock_guard<std::mutex> lock(mu);
    maxInRoom = std::max(maxInRoom, ++inRoom);
    due.emplace_back(Clock::now() + hold, e.payload["sessionId"]);
    cv.notify_all();
  });
  bot.on("dialin-stopped", [&](const Event&) {
    std::lock_guard<std::mutex> lock(mu);
    --inRoom;
    ++stopped;
    cv.notify_all();
  });
  bot.join(JoinOptions{room.url, ownerToken(rest, "load"), "load-bot"}).get();

  // The referrer: sipRefer each caller once its hold is over; a collector takes the answers in order.
  std::deque<std::pair<Clock::time_point, std::future<void>>> inFlight;
  std::vector<Clock::time_point> accepted;
  int referFailures = 0;
  std::atomic<bool> done{false};
  std::thread referrer([&] {
    std::unique_lock<std::mutex> lock(mu);
    while (!done) {
      if (due.empty()) {
        cv.wait_for(lock, 100ms);
        continue;
      }
      if (due.front().first > Clock::now()) {
        cv.wait_until(lock, due.front().first);
        continue;
      }
      const std::string id = due.front().second;
      due.pop_front();
      inFlight.emplace_back(Clock::now(), bot.sipRefer(SipReferOptions{id, "sip:agent@127.0.0.1:5099", {}}));
      cv.notify_all();
    }
  });
  std::thread collector([&] {
    std::unique_lock<std::mutex> lock(mu);
    while (!done || !inFlight.empty()) {
      if (inFlight.empty()) {
        cv.wait_for(lock, 100ms);
        continue;
      }
      auto f = std::move(inFlight.front().second);
      inFlight.pop_front();
      lock.unlock();
      bool ok = true;
      try {
        f.get();
      } catch (const Error& e) {
        ok = false;
        std::cerr << "sipRefer failed: " << e.what() << "\n";
      }
      lock.lock();
      if (ok) accepted.push_back(Clock::now());
      else ++referFailures;
    }
  });

  const std::string dir = "/tmp/daily-bench-sipp-" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  const std::string stats = dir + "/stats.csv";
  // Every string the child needs is made before fork(): the child of a threaded process must not allocate.
  const std::string log = dir + "/sipp.log";
  const std::string target = "127.0.0.1:" + std::to_string(server.sipPort());
  const std::string user = test::dialInUser(room.raw);
  const std::string rateText = std::to_string(rate), callsText = std::to_string(calls);
  pid_t sipp = fork();
  if (sipp == 0) {
    if (chdir(dir.c_str()) != 0) _exit(126);
    const int out = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(out, STDOUT_FILENO);
    dup2(out, STDERR_FILENO);
    execlp("sipp", "sipp", target.c_str(), "-sf", DAILY_SIP_SCENARIOS "/caller_accepts_refer.xml", "-s", user.c_str(), "-i",
           "127.0.0.1", "-r", rateText.c_str(), "-l", callsText.c_str(), "-m", callsText.c_str(), "-timeout", "300s",
           "-timeout_error", "-nostdin", "-trace_stat", "-stf", stats.c_str(), "-fd", "1", "-max_socket", "4096", nullptr);
    _exit(127);
  }
  int status = 0;
  const auto start = Clock::now();
  waitpid(sipp, &status, 0);
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, 30s, [&] { return stopped >= calls || referFailures + static_cast<int>(accepted.size()) >= calls; });
  }
  done = true;
  cv.notify_all();
  referrer.join();
  collector.join();

  // sipp's own count of successful and failed calls: the last line of its statistics file.
  long successful = -1, failed = -1;
  {
    std::ifstream csv(stats);
    std::string header, line, last;
    std::getline(csv, header);
    while (std::getline(csv, line))
      if (!line.empty()) last = line;
    auto column = [&](const std::string& name) {
      std::stringstream h(header), v(last);
      std::string hc, vc;
      while (std::getline(h, hc, ';') && std::getline(v, vc, ';'))
        if (hc == name) return std::atol(vc.c_str());
      return -1L;
    };
    successful = column("SuccessfulCall(C)");
    failed = column("FailedCall(C)");
  }
  double refersPerSecond = 0;
  if (accepted.size() > 1) {
    std::sort(accepted.begin(), accepted.end());
    const double span = std::chrono::duration<double>(accepted.back() - accepted.front()).count();
    refersPerSecond = span > 0 ? static_cast<double>(accepted.size() - 1) / span : 0;
  }
  table("Gateway load: sipp callers at " + std::to_string(rate) + " calls/s, each referred after " +
            std::to_string(hold.count()) + " s",
        {{"figure", "value", "target"},
         {"calls placed by sipp", std::to_string(calls), "-"},
         {"concurrent dial-in calls held (max in the room)", std::to_string(maxInRoom), "1,000"},
         {"REFER transfers accepted per second", fmt(refersPerSecond), ">= 200"},
         {"sipp successful / failed calls", std::to_string(successful) + " / " + std::to_string(failed), "0 failed"},
         {"sipRefer() failures", std::to_string(referFailures), "0"},
         {"wall time of the sipp run", fmt(elapsed) + " s", "-"}});
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || failed != 0 || referFailures != 0)
    fail("the gateway load run had failed calls (sipp exit " + std::to_string(WEXITSTATUS(status)) + ", logs in " + dir + ")");
  else std::filesystem::remove_all(dir);
}

void run() {
  const int rttIterations = quick ? 500 : 5000;
  std::cout << "# daily_bench" << (quick ? " --quick" : "") << "\n\nAll times in microseconds unless marked; "
            << "p50/p99 over the stated number of samples after a warm-up.\n";

  const Percentiles ws = rawWebsocketRoundTrip(rttIterations);
  const double wsFrames = rawWebsocketFramesPerSecond(quick ? 20000 : 200000);
  const Percentiles udp = rawUdpRoundTrip(rttIterations, true);
  const Percentiles udpFree = rawUdpRoundTrip(rttIterations);
  Percentiles wsOne, udpOne;
  {
    OnOneCpu one;
    wsOne = rawWebsocketRoundTrip(rttIterations);
    udpOne = rawUdpRoundTrip(rttIterations);
  }
  table("Floors (raw websocketpp and UDP on loopback, no SDK)",
        {{"floor", "p50", "p99", "samples"},
         {"websocket round trip, 200-byte JSON frame", fmt(ws.p50), fmt(ws.p99), std::to_string(rttIterations)},
         {"UDP round trip, 800-byte datagram, the two ends on different CPUs", fmt(udp.p50), fmt(udp.p99),
          std::to_string(rttIterations)},
         {"websocket frames per second, pipelined", fmt(wsFrames, 0) + " /s", "", ""},
         {"for reference: UDP round trip, the ends placed by the scheduler", fmt(udpFree.p50), fmt(udpFree.p99),
          std::to_string(rttIterations)},
         {"for reference: websocket round trip, everything on one CPU", fmt(wsOne.p50), fmt(wsOne.p99),
          std::to_string(rttIterations)},
         {"for reference: UDP round trip, everything on one CPU", fmt(udpOne.p50), fmt(udpOne.p99),
          std::to_string(rttIterations)}});

  const int refers = quick ? 200 : 2000;
  const ReferRun refer = referLoop(refers, 0);
  ReferRun referOne;
  {
    OnOneCpu one;
    referOne = referLoop(refers / 2, 0);
  }
  const ReferRun referTcp = referLoop(refers / 2, 0, Wire::Tcp);
  const ReferRun referTls = referLoop(refers / 2, 0, Wire::Tls);
  const double floor = ws.p50 + udp.p50;
  const double floorOne = wsOne.p50 + udpOne.p50;
  table("sipRefer(): call to future resolved, the SIP peer answering 202 (in-process UDP responder)",
        {{"figure", "p50", "p99", "floor (ws RTT + UDP RTT, p50)", "ratio p50 / floor", "target"},
         {"sipRefer latency over " + std::to_string(refers) + " transfers", fmt(refer.latency.p50), fmt(refer.latency.p99),
          fmt(floor), fmt(refer.latency.p50 / floor, 2), "<= 1.3"},
         {"for reference: everything on one CPU, " + std::to_string(refers / 2) + " transfers", fmt(referOne.latency.p50),
          fmt(referOne.latency.p99), fmt(floorOne) + " (both on one CPU)", fmt(referOne.latency.p50 / floorOne, 2), "-"},
         {"the SIP peer over TCP, " + std::to_string(refers / 2) + " transfers", fmt(referTcp.latency.p50),
          fmt(referTcp.latency.p99), fmt(floor) + " (the UDP floor's)", fmt(referTcp.latency.p50 / floor, 2), "-"},
         {"the SIP peer over TLS, " + std::to_string(refers / 2) + " transfers", fmt(referTls.latency.p50),
          fmt(referTls.latency.p99), fmt(floor) + " (the UDP floor's)", fmt(referTls.latency.p50 / floor, 2), "-"}});
  if (refer.refers < refers || referOne.refers < refers / 2 || referTcp.refers < refers / 2 ||
      referTls.refers < refers / 2)
    fail("the responder answered fewer REFERs than were sent");

  const Percentiles rtt = requestRoundTrip(rttIterations);
  const int events = quick ? 20000 : 200000;
  const double eps = eventsPerSecond(events);
  table("Request round trip and event throughput",
        {{"figure", "value", "floor", "ratio", "target"},
         {"request round trip p50 (stopDialOut answered NotFound)", fmt(rtt.p50), fmt(ws.p50) + " (raw ws RTT)",
          fmt(rtt.p50 / ws.p50, 2), "<= 1.2"},
         {"request round trip p99", fmt(rtt.p99), fmt(ws.p99), fmt(rtt.p99 / ws.p99, 2), "-"},
         {"events/s to a handler on the dispatcher thread (" + std::to_string(events) + " events)", fmt(eps, 0),
          fmt(wsFrames, 0) + " (raw frames/s)", fmt(eps / wsFrames, 2), ">= 0.5"}});

  manyClients(quick ? 100 : 1000, 10);
  manyClients(quick ? 100 : 300, quick ? 100 : 300);  // one big room: each client also holds every participant

  std::vector<std::vector<std::string>> growth{{"participants in the room", "sipRefer p50", "p99", "vs 1 participant"}};
  double base = 0;
  for (int n : quick ? std::vector<int>{1, 10, 100} : std::vector<int>{1, 10, 100, 1000}) {
    const ReferRun r = referLoop(quick ? 50 : 300, n - 1);
    if (base == 0) base = r.latency.p50;
    growth.push_back({std::to_string(n), fmt(r.latency.p50), fmt(r.latency.p99), fmt(r.latency.p50 / base, 2)});
  }
  table("Cost growth: sipRefer p50 against the room's size, the others in a process of their own (target: flat)",
        growth);

  if (quick) gatewayLoad(40, 20, 1s);
  else gatewayLoad(6000, 200, 5s);

  mediaLatency(quick ? 10 : 100);
  mediaCalls(quick ? 20 : 1000, quick ? 2 : 10);  // the target: 1,000 calls with live audio
}

}  // namespace
}  // namespace daily::bench

int main(int argc, char** argv) {
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }
  if (argc == 4 && std::string(argv[1]) == "--crowd") return daily::bench::Crowd::serve(argv[2], std::stoi(argv[3]));
  if (argc == 3 && std::string(argv[1]) == "--events") {
    std::string cpu;
    std::cout << daily::bench::eventsPerSecond(std::stoi(argv[2]), &cpu) << " events/s; CPU us per event by thread:"
              << cpu << "\n";
    return 0;
  }
  if (argc == 3 && std::string(argv[1]) == "--floors") {
    const int n = std::stoi(argv[2]);
    const auto ws = daily::bench::rawWebsocketRoundTrip(n);
    const auto udp = daily::bench::rawUdpRoundTrip(n, true);
    const auto udpFree = daily::bench::rawUdpRoundTrip(n);
    std::cout << "p50 (p99) in us: websocket round trip " << ws.p50 << " (" << ws.p99 << "); UDP round trip, ends on "
              << "different CPUs " << udp.p50 << " (" << udp.p99 << "), placed by the scheduler " << udpFree.p50 << " ("
              << udpFree.p99 << ")\n";
    return 0;
  }
  if (argc == 3 && std::string(argv[1]) == "--rtt") {
    const auto floor = daily::bench::rawWebsocketRoundTrip(std::stoi(argv[2]));
    const auto rtt = daily::bench::requestRoundTrip(std::stoi(argv[2]));
    std::cout << "request round trip p50 " << rtt.p50 << " us, raw websocket " << floor.p50 << " us\n";
    return 0;
  }
  if (argc == 3 && (std::string(argv[1]) == "--refer-tcp" || std::string(argv[1]) == "--refer-tls")) {
    const bool tls = std::string(argv[1]) == "--refer-tls";
    const auto run = daily::bench::referLoop(std::stoi(argv[2]), 0, tls ? daily::bench::Wire::Tls : daily::bench::Wire::Tcp);
    std::cout << "sipRefer over " << (tls ? "TLS" : "TCP") << " p50 " << run.latency.p50 << " us, p99 "
              << run.latency.p99 << " us" << std::endl;
    return 0;
  }
  if (argc == 3 && std::string(argv[1]) == "--media-latency") return daily::bench::mediaLatency(std::stoi(argv[2])), 0;
  if (argc == 4 && std::string(argv[1]) == "--media-calls")
    return daily::bench::mediaCalls(std::stoi(argv[2]), std::stoi(argv[3])), 0;
  if ((argc == 3 || argc == 4) && std::string(argv[1]) == "--refer") {
    const auto run = daily::bench::referLoop(std::stoi(argv[2]), argc == 4 ? std::stoi(argv[3]) - 1 : 0);
    std::cout << "sipRefer p50 " << run.latency.p50 << " us, p99 " << run.latency.p99 << " us\n";
    return 0;
  }
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]) == "--quick") daily::bench::quick = true;
  std::signal(SIGPIPE, SIG_IGN);
  try {
    daily::bench::run();
  } catch (const std::exception& e) {
    std::cout << "\n**FAILED: " << e.what() << "**\n";
    return 1;
  }
  return daily::bench::failures == 0 ? 0 : 1;
}
