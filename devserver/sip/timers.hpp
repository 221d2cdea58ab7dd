#pragma once

// One-shot timers for the SIP layers. The server runs them on its io thread with Asio (AsioTimers); the unit
// tests of the transaction and dialog layers drive a manual clock instead, so that a retransmission schedule is
// checked step by step without waiting for it.

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>
#include <utility>

namespace daily::devserver::sip {

using Clock = std::chrono::steady_clock;

class Timers {
 public:
  using Id = std::uint64_t;
  virtual ~Timers() = default;
  /// Calls fire once, `after` from now, on the SIP thread, unless it is cancelled first. Never returns 0.
  virtual Id start(std::chrono::milliseconds after, std::function<void()> fire) = 0;
  /// Forgets a timer: its callback will not run. An id that fired or is unknown is ignored.
  virtual void cancel(Id id) = 0;
  virtual Clock::time_point now() const = 0;
};

/// One timer slot, owned by what it serves: starting it again replaces what it waited for, and destroying it
/// cancels it, so a callback never outlives its owner. The callback may destroy the slot's owner.
class Timer {
 public:
  explicit Timer(Timers& timers) : timers_(&timers) {}
  ~Timer() { cancel(); }
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  void start(std::chrono::milliseconds after, std::function<void()> fire) {
    cancel();
    id_ = timers_->start(after, [this, fire = std::move(fire)] {
      id_ = 0;
      fire();
    });
  }
  void cancel() {
    if (id_ != 0) timers_->cancel(std::exchange(id_, 0));
  }
  bool pending() const { return id_ != 0; }

 private:
  Timers* timers_;
  Timers::Id id_ = 0;
};

/// Timers on an Asio io_context: the SIP thread's.
class AsioTimers final : public Timers {
 public:
  explicit AsioTimers(asio::io_context& io) : io_(io) {}
  AsioTimers(const AsioTimers&) = delete;
  AsioTimers& operator=(const AsioTimers&) = delete;

  Id start(std::chrono::milliseconds after, std::function<void()> fire) override;
  void cancel(Id id) override { pending_.erase(id); }  // destroying the steady_timer aborts its wait
  Clock::time_point now() const override { return Clock::now(); }
  /// Cancels every timer.
  void clear() { pending_.clear(); }

 private:
  struct Entry {
    explicit Entry(asio::io_context& io) : timer(io) {}
    asio::steady_timer timer;
    std::function<void()> fire;
  };
  asio::io_context& io_;
  Id next_ = 1;
  std::unordered_map<Id, std::unique_ptr<Entry>> pending_;
};

}  // namespace daily::devserver::sip
