#pragma once

// The network thread's loop: io_context::run(), except that it polls instead of sleeping while an answer to one of
// the process's requests is due.

#include <asio/io_context.hpp>

#include <atomic>
#include <chrono>
#include <utility>

namespace daily::detail {

/// DAILY_NETWORK_SPIN_US: how long the network thread polls after its last piece of work while an answer is
/// awaited or was just received (0 turns polling off). 500 microseconds when unset; an invalid value is logged
/// and the default used.
std::chrono::microseconds networkSpinFromEnvironment();

/// Runs an io_context until it is stopped. While a request awaits its answer (an Awaiting is alive), and for
/// `spin` after an answer arrived, the thread polls the io_context for up to `spin` after its last piece of work
/// instead of sleeping in epoll_wait. The answer is then read as it lands, and the request that often follows an
/// answer (a bot's next call) is written at once: neither waits for the wake-up of a sleeping thread, which costs
/// tens of microseconds on a VM (docs/performance.md). A process that only receives events, or is idle, sleeps as
/// io_context::run() does; polling yields the CPU between polls.
class IoLoop {
 public:
  /// Held while an answer is awaited; its release (destruction, or assignment from {}) counts as the answer.
  class Awaiting {
   public:
    Awaiting() = default;
    Awaiting(Awaiting&& o) noexcept : loop_(std::exchange(o.loop_, nullptr)) {}
    Awaiting& operator=(Awaiting&& o) noexcept {
      if (this != &o) {
        release();
        loop_ = std::exchange(o.loop_, nullptr);
      }
      return *this;
    }
    Awaiting(const Awaiting&) = delete;
    Awaiting& operator=(const Awaiting&) = delete;
    ~Awaiting() { release(); }

   private:
    friend class IoLoop;
    explicit Awaiting(IoLoop& loop) : loop_(&loop) { loop.awaiting_.fetch_add(1, std::memory_order_relaxed); }
    void release();
    IoLoop* loop_ = nullptr;
  };

  explicit IoLoop(asio::io_context& io, std::chrono::microseconds spin = networkSpinFromEnvironment())
      : io_(io), spin_(spin) {}
  IoLoop(const IoLoop&) = delete;
  IoLoop& operator=(const IoLoop&) = delete;

  /// From any thread.
  Awaiting awaitAnswer() { return Awaiting(*this); }
  /// How many Awaiting are alive.
  int awaiting() const { return awaiting_.load(std::memory_order_relaxed); }
  /// On the thread that runs the loop; returns when the io_context is stopped. A handler's exception propagates,
  /// as from io_context::run(), and calling run() again resumes.
  void run();

 private:
  bool shouldPoll(std::chrono::steady_clock::time_point now, std::chrono::steady_clock::time_point lastWork) const;

  asio::io_context& io_;
  const std::chrono::microseconds spin_;
  std::atomic<int> awaiting_{0};
  std::atomic<std::chrono::steady_clock::rep> lastAnswer_{0};  // steady_clock ticks at the last release
};

}  // namespace daily::detail
