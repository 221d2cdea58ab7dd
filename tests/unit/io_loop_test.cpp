// The network thread's loop (src/io_loop.hpp): it runs handlers as io_context::run() does, polls (and so burns
// CPU) only for its spin time after an answer arrived, and sleeps otherwise.

#include "io_loop.hpp"

#include <asio/post.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <future>
#include <pthread.h>
#include <string>
#include <thread>
#include <time.h>
#include <unistd.h>

namespace daily::detail {
namespace {

using namespace std::chrono_literals;

// A loop on a thread of its own, and that thread's CPU time.
class LoopThread {
 public:
  explicit LoopThread(std::chrono::microseconds spin) : loop_(io_, spin), thread_([this] { loop_.run(); }) {
    pthread_getcpuclockid(thread_.native_handle(), &clock_);
    run([this] { tid_ = gettid(); });
  }
  ~LoopThread() {
    io_.stop();
    thread_.join();
  }
  IoLoop& loop() { return loop_; }
  // Runs f on the loop's thread and waits for it.
  void run(std::function<void()> f) {
    std::promise<void> done;
    asio::post(io_, [&] {
      f();
      done.set_value();
    });
    done.get_future().get();
  }
  std::chrono::microseconds cpuTime() const {
    timespec t{};
    clock_gettime(clock_, &t);
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::seconds(t.tv_sec) +
                                                                 std::chrono::nanoseconds(t.tv_nsec));
  }
  // Waits (up to 5 s) until the loop's thread is asleep: blocked in epoll_wait, state S in its /proc stat. A polling
  // loop never blocks (it yields), so it is seen running or runnable until its spin time is over.
  bool waitUntilAsleep() {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (std::chrono::steady_clock::now() < deadline) {
      std::ifstream stat("/proc/self/task/" + std::to_string(tid_) + "/stat");
      std::string line;
      std::getline(stat, line);
      const auto close = line.rfind(')');
      if (close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'S') return true;
      std::this_thread::yield();
    }
    return false;
  }
  // How often the loop's thread has blocked (voluntary_ctxt_switches in /proc): a polling loop never blocks, it
  // yields, which the kernel counts as involuntary. Unlike its share of the CPU, that does not depend on the load.
  long timesBlocked() const {
    std::ifstream status("/proc/self/task/" + std::to_string(tid_) + "/status");
    const std::string key = "voluntary_ctxt_switches:";
    for (std::string line; std::getline(status, line);)
      if (line.rfind(key, 0) == 0) return std::stol(line.substr(key.size()));
    return -1;
  }
  // The CPU time the loop's thread uses in `window` of wall time, after it has done one piece of work.
  std::chrono::microseconds cpuUsedOver(std::chrono::milliseconds window) {
    run([] {});
    const auto before = cpuTime();
    std::this_thread::sleep_for(window);
    return cpuTime() - before;
  }

 private:
  asio::io_context io_{1};
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  IoLoop loop_;
  std::thread thread_;
  clockid_t clock_{};
  pid_t tid_ = 0;
};

TEST(IoLoop, RunsEveryHandlerAndReturnsWhenStopped) {
  for (auto spin : {0us, 1000000us}) {
    asio::io_context io{1};
    IoLoop loop(io, spin);
    loop.answered();  // polling, too, runs everything
    std::atomic<int> ran{0};
    for (int i = 0; i < 100; ++i) asio::post(io, [&] { ++ran; });
    asio::post(io, [&] { io.stop(); });
    loop.run();  // returns: stopped
    EXPECT_EQ(ran.load(), 100) << "spin " << spin.count();
  }
}

TEST(IoLoop, AHandlersExceptionPropagatesAndRunResumes) {
  asio::io_context io{1};
  IoLoop loop(io, 500us);
  asio::post(io, [] { throw std::runtime_error("handler failed"); });
  bool after = false;
  asio::post(io, [&] {
    after = true;
    io.stop();
  });
  EXPECT_THROW(loop.run(), std::runtime_error);
  loop.run();
  EXPECT_TRUE(after);
}

// The point of the loop, and its cost, seen as the thread's CPU time: it polls for the spin time after an answer,
// and sleeps otherwise. (CPU time, not latency: the latency it buys is measured by bench/, not asserted here.)
TEST(IoLoop, PollsForTheSpinTimeAfterAnAnswerAndSleepsOtherwise) {
  LoopThread t(400ms);
  EXPECT_LT(t.cpuUsedOver(200ms), 20ms) << "an idle loop sleeps";

  t.run([&] { t.loop().answered(); });  // as the network thread does when it completes a request
  const auto cpuBefore = t.cpuTime();
  const long blockedBefore = t.timesBlocked();
  std::this_thread::sleep_for(200ms);  // a window inside the 400 ms spin time, nothing posted to the loop
  EXPECT_EQ(t.timesBlocked(), blockedBefore) << "after an answer it polls: it never blocks";
  EXPECT_GT(t.cpuTime(), cpuBefore) << "and it runs";

  ASSERT_TRUE(t.waitUntilAsleep()) << "the spin time is over";
  EXPECT_LT(t.cpuUsedOver(200ms), 20ms) << "after the spin time it sleeps again";
}

TEST(IoLoop, SpinZeroNeverPolls) {
  LoopThread t(0us);
  t.run([&] { t.loop().answered(); });
  EXPECT_LT(t.cpuUsedOver(200ms), 20ms);
}

TEST(IoLoop, SpinTimeComesFromTheEnvironment) {
  const char* saved = std::getenv("DAILY_NETWORK_SPIN_US");
  const std::string restore = saved ? saved : "";
  auto with = [](const char* value) {
    if (value) setenv("DAILY_NETWORK_SPIN_US", value, 1);
    else unsetenv("DAILY_NETWORK_SPIN_US");
    return networkSpinFromEnvironment();
  };
  EXPECT_EQ(with(nullptr), 500us);
  EXPECT_EQ(with(""), 500us);
  EXPECT_EQ(with("0"), 0us);
  EXPECT_EQ(with("250"), 250us);
  EXPECT_EQ(with("1000000"), 1000000us);
  EXPECT_EQ(with("1000001"), 500us);  // out of range: the default, and a warning
  EXPECT_EQ(with("-5"), 500us);
  EXPECT_EQ(with("12us"), 500us);
  if (saved) setenv("DAILY_NETWORK_SPIN_US", restore.c_str(), 1);
  else unsetenv("DAILY_NETWORK_SPIN_US");
}

}  // namespace
}  // namespace daily::detail
