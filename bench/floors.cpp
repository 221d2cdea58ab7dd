#include "floors.hpp"

#include <asio.hpp>
#include <websocketpp/client.hpp>
#include <websocketpp/config/asio_no_tls.hpp>
#include <websocketpp/config/asio_no_tls_client.hpp>
#include <websocketpp/server.hpp>

#include <dirent.h>
#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <condition_variable>
#include <future>
#include <mutex>
#include <numeric>
#include <thread>

namespace daily::bench {
namespace {

using Clock = std::chrono::steady_clock;
using WsServer = websocketpp::server<websocketpp::config::asio>;
using WsClient = websocketpp::client<websocketpp::config::asio_client>;

double micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

// A websocketpp server on its own thread: echoes every frame, or answers "blast N" with N frames.
class RawServer {
 public:
  RawServer() {
    ws_.clear_access_channels(websocketpp::log::alevel::all);
    ws_.clear_error_channels(websocketpp::log::elevel::all);
    ws_.init_asio();
    ws_.set_reuse_addr(true);
    ws_.set_message_handler([this](websocketpp::connection_hdl h, WsServer::message_ptr m) {
      const std::string& p = m->get_payload();
      if (p.rfind("blast ", 0) == 0) {
        const int n = std::stoi(p.substr(6));
        const std::string frame = sampleFrame();
        for (int i = 0; i < n; ++i) ws_.send(h, frame, websocketpp::frame::opcode::text);
        return;
      }
      ws_.send(h, p, websocketpp::frame::opcode::text);
    });
    ws_.listen(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    ws_.start_accept();
    asio::error_code ec;
    port_ = ws_.get_local_endpoint(ec).port();
    thread_ = std::thread([this] { ws_.run(); });
  }
  ~RawServer() {
    ws_.stop();
    thread_.join();
  }
  std::string url() const { return "ws://127.0.0.1:" + std::to_string(port_) + "/ws"; }

 private:
  WsServer ws_;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

// A websocketpp client on its own thread that hands each received frame to onFrame.
class RawClient {
 public:
  explicit RawClient(const std::string& url, std::function<void()> onFrame) : onFrame_(std::move(onFrame)) {
    ws_.clear_access_channels(websocketpp::log::alevel::all);
    ws_.clear_error_channels(websocketpp::log::elevel::all);
    ws_.init_asio();
    std::promise<void> open;
    ws_.set_open_handler([&open](websocketpp::connection_hdl) { open.set_value(); });
    ws_.set_message_handler([this](websocketpp::connection_hdl, WsClient::message_ptr) { onFrame_(); });
    websocketpp::lib::error_code ec;
    con_ = ws_.get_connection(url, ec);
    ws_.connect(con_);
    thread_ = std::thread([this] { ws_.run(); });
    open.get_future().wait();
  }
  ~RawClient() {
    websocketpp::lib::error_code ec;
    con_->terminate(ec);
    ws_.stop();
    thread_.join();
  }
  void send(const std::string& text) { con_->send(text, websocketpp::frame::opcode::text); }

 private:
  std::function<void()> onFrame_;
  WsClient ws_;
  WsClient::connection_ptr con_;
  std::thread thread_;
};

}  // namespace

std::string sampleFrame() {
  return R"({"v":1,"type":"event","action":"participant-updated","payload":{"participant":{"session_id":"6f0ce557-e6e4-409f-bae9-fe5663ba4ae7","user_name":"bench","owner":false}}})";
}

Percentiles percentiles(std::vector<double> v) {
  Percentiles p;
  if (v.empty()) return p;
  std::sort(v.begin(), v.end());
  p.p50 = v[v.size() / 2];
  p.p99 = v[std::min(v.size() - 1, v.size() * 99 / 100)];
  p.mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  return p;
}

Percentiles rawWebsocketRoundTrip(int iterations) {
  RawServer server;
  std::mutex mu;
  std::condition_variable cv;
  bool got = false;
  RawClient client(server.url(), [&] {
    std::lock_guard<std::mutex> lock(mu);
    got = true;
    cv.notify_one();
  });
  const std::string frame = sampleFrame();
  std::vector<double> samples;
  for (int i = 0; i < iterations + iterations / 10; ++i) {
    const auto start = Clock::now();
    client.send(frame);
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return got; });
    got = false;
    if (i >= iterations / 10) samples.push_back(micros(Clock::now() - start));  // the first tenth warms up
  }
  return percentiles(std::move(samples));
}

double rawWebsocketFramesPerSecond(int frames) {
  RawServer server;
  std::mutex mu;
  std::condition_variable cv;
  int received = 0;
  RawClient client(server.url(), [&] {
    std::lock_guard<std::mutex> lock(mu);
    if (++received == frames) cv.notify_one();
  });
  const auto start = Clock::now();
  client.send("blast " + std::to_string(frames));
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return received == frames; });
  return frames / std::chrono::duration<double>(Clock::now() - start).count();
}

namespace {

// A set of one CPU.
cpu_set_t onlyCpu(int cpu) {
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  return one;
}

// The set's first CPU after `after` (-1: its first CPU).
int nextCpu(const cpu_set_t& set, int after) {
  int c = after + 1;
  while (c < CPU_SETSIZE - 1 && !CPU_ISSET(c, &set)) ++c;
  return c;
}

void pinThisThread(int cpu) {
  const cpu_set_t one = onlyCpu(cpu);
  pthread_setaffinity_np(pthread_self(), sizeof one, &one);
}

// Sets the CPUs of every thread of this process.
void setProcessCpus(const cpu_set_t& cpus) {
  DIR* tasks = opendir("/proc/self/task");
  if (!tasks) return;
  while (dirent* e = readdir(tasks)) {
    if (e->d_name[0] == '.') continue;
    sched_setaffinity(std::atoi(e->d_name), sizeof cpus, &cpus);
  }
  closedir(tasks);
}

}  // namespace

Percentiles rawUdpRoundTrip(int iterations, bool apart) {
  cpu_set_t mine;
  const bool pin = apart && pthread_getaffinity_np(pthread_self(), sizeof mine, &mine) == 0 && CPU_COUNT(&mine) >= 2;
  const int first = pin ? nextCpu(mine, -1) : -1;
  const int second = pin ? nextCpu(mine, first) : -1;
  if (pin) pinThisThread(first);

  asio::io_context io;
  asio::ip::udp::socket echo(io, {asio::ip::make_address("127.0.0.1"), 0});
  asio::ip::udp::socket client(io, {asio::ip::make_address("127.0.0.1"), 0});
  std::thread echoer([&] {
    if (pin) pinThisThread(second);
    char buf[2048];
    asio::ip::udp::endpoint from;
    for (;;) {
      asio::error_code ec;
      const std::size_t n = echo.receive_from(asio::buffer(buf), from, 0, ec);
      if (ec || n == 1) return;
      echo.send_to(asio::buffer(buf, n), from, 0, ec);
    }
  });
  const std::string datagram(800, 'x');
  char buf[2048];
  std::vector<double> samples;
  for (int i = 0; i < iterations + iterations / 10; ++i) {
    const auto start = Clock::now();
    client.send_to(asio::buffer(datagram), echo.local_endpoint());
    client.receive(asio::buffer(buf));
    if (i >= iterations / 10) samples.push_back(micros(Clock::now() - start));
  }
  client.send_to(asio::buffer("x", 1), echo.local_endpoint());  // stop the echoer
  echoer.join();
  if (pin) pthread_setaffinity_np(pthread_self(), sizeof mine, &mine);
  return percentiles(std::move(samples));
}

OnOneCpu::OnOneCpu() {
  sched_getaffinity(0, sizeof before_, &before_);
  setProcessCpus(onlyCpu(nextCpu(before_, -1)));
}

OnOneCpu::~OnOneCpu() { setProcessCpus(before_); }

}  // namespace daily::bench
