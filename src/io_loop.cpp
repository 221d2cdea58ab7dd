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

void IoLoop::Awaiting::release() {
  if (!loop_) return;
  loop_->lastAnswer_.store(Clock::now().time_since_epoch().count(), std::memory_order_relaxed);
  loop_->awaiting_.fetch_sub(1, std::memory_order_relaxed);
  loop_ = nullptr;
}

bool IoLoop::shouldPoll(Clock::time_point now, Clock::time_point lastWork) const {
  if (spin_.count() == 0) return false;
  if (awaiting_.load(std::memory_order_relaxed) > 0 && now - lastWork < spin_) return true;
  return now - Clock::time_point(Clock::duration(lastAnswer_.load(std::memory_order_relaxed))) < spin_;
}

void IoLoop::run() {
  auto lastWork = Clock::now();
  while (!io_.stopped()) {
    if (shouldPoll(Clock::now(), lastWork)) {
      if (io_.poll() > 0) lastWork = Clock::now();
      else std::this_thread::yield();
    } else if (io_.run_one() > 0) {
      lastWork = Clock::now();
    }
  }
}

}  // namespace daily::detail
