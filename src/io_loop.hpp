#pragma once

// The network thread's loop: io_context::run(), except that it polls instead of sleeping for a short while after
// an answer to a request arrived.

#include <asio/io_context.hpp>

#include <atomic>
#include <chrono>

namespace daily::detail {

/// DAILY_NETWORK_SPIN_US: how long the network thread polls after an answer arrived (0 turns polling off).
/// 500 microseconds when unset; an invalid value is logged and the default used.
std::chrono::microseconds networkSpinFromEnvironment();

/// Runs an io_context until it is stopped. For `spin` after answered() was last called, the thread polls the
/// io_context (yielding the CPU between polls) instead of sleeping in epoll_wait. A caller whose future just
/// completed often sends its next request at once (a bot's sequence of calls); that request, and its answer if it
/// comes within the time, are then handled without the wake-up of a sleeping thread, which costs tens of
/// microseconds on a VM (docs/performance.md). Otherwise the loop sleeps as io_context::run() does: a process
/// that is idle, or only receives events, never polls.
class IoLoop {
 public:
  explicit IoLoop(asio::io_context& io, std::chrono::microseconds spin = networkSpinFromEnvironment())
      : io_(io), spin_(spin) {}
  IoLoop(const IoLoop&) = delete;
  IoLoop& operator=(const IoLoop&) = delete;

  /// An answer to a request arrived: poll for the spin time from now. Any thread.
  void answered();
  /// On the thread that runs the loop; returns when the io_context is stopped. A handler's exception propagates,
  /// as from io_context::run(), and calling run() again resumes.
  void run();

 private:
  asio::io_context& io_;
  const std::chrono::microseconds spin_;
  std::atomic<std::chrono::steady_clock::rep> pollUntil_{0};  // steady_clock ticks
};

}  // namespace daily::detail
