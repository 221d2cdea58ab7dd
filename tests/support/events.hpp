#pragma once

// Records a CallClient's events and waits for them with a deadline (never a bare sleep).

#include <daily/daily.hpp>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <optional>
#include <vector>

namespace daily::test {

using namespace std::chrono_literals;

class EventRecorder {
 public:
  explicit EventRecorder(CallClient& client) : client_(client) {
    id_ = client.on("*", [this](const Event& e) {
      std::lock_guard<std::mutex> lock(mu_);
      events_.push_back(e);
      cv_.notify_all();
    });
  }
  ~EventRecorder() { client_.off(id_); }

  /// The first event named action (after the ones already consumed by earlier waits) matching pred.
  std::optional<Event> waitFor(const std::string& action, std::function<bool(const Event&)> pred = {},
                               std::chrono::milliseconds timeout = 10s) {
    std::unique_lock<std::mutex> lock(mu_);
    std::optional<Event> found;
    cv_.wait_for(lock, timeout, [&] {
      for (const auto& e : events_)
        if (e.action == action && (!pred || pred(e))) {
          found = e;
          return true;
        }
      return false;
    });
    return found;
  }

  std::vector<Event> all() const {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }

  std::vector<std::string> actions() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::string> out;
    for (const auto& e : events_) out.push_back(e.action);
    return out;
  }

  bool seen(const std::string& action) const {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& e : events_)
      if (e.action == action) return true;
    return false;
  }

  std::size_t count(const std::string& action) const {
    std::lock_guard<std::mutex> lock(mu_);
    std::size_t n = 0;
    for (const auto& e : events_) n += e.action == action;
    return n;
  }

 private:
  CallClient& client_;
  ListenerId id_ = 0;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Event> events_;
};

/// Waits until condition() holds, checking it every 5 ms, for state that raises no event (a server's counters);
/// false when it still does not at the deadline.
inline bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

/// Waits for a future with a deadline; fails the test (by throwing) instead of hanging.
template <class T>
T await(std::future<T> f, std::chrono::milliseconds timeout = 15s) {
  if (f.wait_for(timeout) != std::future_status::ready) throw std::runtime_error("future did not complete in time");
  return f.get();
}

/// Runs f, expecting it to throw daily::Error; returns the error.
template <class F>
Error expectError(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  throw std::runtime_error("expected a daily::Error, but nothing was thrown");
}

}  // namespace daily::test
