#include "io_loop.hpp"

#include "common/log.hpp"

#include <cstdlib>
#include <thread>

namespace daily::detail {

using Clock = std::chrono::steady_clock;

std::chrono::microseconds networkSpinFromEnvironment() {
  constexpr long kDefault = 500;
  const char* env = std::getenv("DAILY_NETWORK_SPIN_US");
  if (!env || !*env) return std::chrono::microseconds(kDefault);
  char* end = nullptr;
  const long us = std::strtol(env, &end, 10);
  if (*end != '\0' || us < 0 || us > 1000000) {
    DAILY_LOG(Warn, "network", "DAILY_NETWORK_SPIN_US must be 0..1000000 (microseconds); using " << kDefault);
    return std::chrono::microseconds(kDefault);
  }
  return std::chrono::microseconds(us);
}

void IoLoop::answered() {
  if (spin_.count() == 0) return;
  pollUntil_.store((Clock::now() + spin_).time_since_epoch().count(), std::memory_order_relaxed);
}

void IoLoop::run() {
  while (!io_.stopped()) {
    if (Clock::now().time_since_epoch().count() < pollUntil_.load(std::memory_order_relaxed)) {
      if (io_.poll() == 0) std::this_thread::yield();
    } else {
      io_.run_one();
    }
  }
}

}  // namespace daily::detail
