#include "dispatcher.hpp"

#include "common/log.hpp"

#include <chrono>
#include <exception>
#include <pthread.h>

namespace daily::detail {

constexpr auto kLinger = std::chrono::microseconds(30);

Dispatcher::Dispatcher()
    : thread_([this] { run(); }) {
  pthread_setname_np(thread_.native_handle(), "daily-events");  // as top, perf and gdb show it, from the start
}

Dispatcher::~Dispatcher() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();  // (not conditional: the dispatcher may be about to wait)
  if (thread_.joinable()) thread_.join();
}

void Dispatcher::post(const void* owner, std::function<void()> task) {
  bool wasIdle;
  {
    std::lock_guard<std::mutex> lock(mu_);
    wasIdle = idleWaiting_;
    idleWaiting_ = false;
    queue_.emplace_back(owner, std::move(task));
  }
  pending_.store(true, std::memory_order_release);
  if (wasIdle) wake_.notify_one();  // a busy dispatcher finds the task without a wake-up (no futex call per event)
}

void Dispatcher::waitIdle(const void* owner) {
  if (onDispatcherThread()) return;
  std::unique_lock<std::mutex> lock(mu_);
  ++idleWaiters_;
  idle_.wait(lock, [&] { return running_.load() != owner; });
  --idleWaiters_;
}

void Dispatcher::finished() {
  running_.store(nullptr);
  if (idleWaiters_.load() > 0) {
    std::lock_guard<std::mutex> lock(mu_);  // a waiter between its check and its wait holds mu_: none is missed
    idle_.notify_all();
  }
}

void Dispatcher::run() {
  std::deque<std::pair<const void*, std::function<void()>>> batch;
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (!stopping_ && queue_.empty()) {
      // Events come in bursts (the network thread reads many frames at once): looking again for a few
      // microseconds before sleeping saves the burst a futex wake-up and a context switch per event.
      lock.unlock();
      const auto until = std::chrono::steady_clock::now() + kLinger;
      while (!pending_.load(std::memory_order_acquire) && std::chrono::steady_clock::now() < until)
        std::this_thread::yield();
      lock.lock();
    }
    while (!stopping_ && queue_.empty()) {
      idleWaiting_ = true;
      wake_.wait(lock);
    }
    pending_.store(false, std::memory_order_relaxed);
    idleWaiting_ = false;
    if (queue_.empty()) return;  // stopping and drained
    batch.swap(queue_);  // everything posted so far, taken with this one lock
    lock.unlock();
    for (auto& [owner, task] : batch) {
      running_.store(owner);
      try {
        task();
      } catch (const std::exception& e) {
        DAILY_LOG(Error, "dispatcher", "an event handler threw: " << e.what());
      } catch (...) {
        DAILY_LOG(Error, "dispatcher", "an event handler threw a non-std exception");
      }
      task = nullptr;  // release captures before the owner is reported idle
      finished();
    }
    batch.clear();
    lock.lock();
  }
}

}  // namespace daily::detail
