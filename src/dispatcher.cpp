#include "dispatcher.hpp"

#include "common/log.hpp"

#include <exception>

namespace daily::detail {

Dispatcher::Dispatcher() : thread_([this] { run(); }) {}

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
  if (wasIdle) wake_.notify_one();  // a busy dispatcher finds the task without a wake-up (no futex call per event)
}

void Dispatcher::waitIdle(const void* owner) {
  if (onDispatcherThread()) return;
  std::unique_lock<std::mutex> lock(mu_);
  idle_.wait(lock, [&] { return running_ != owner; });
}

void Dispatcher::run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    while (!stopping_ && queue_.empty()) {
      idleWaiting_ = true;
      wake_.wait(lock);
    }
    idleWaiting_ = false;
    if (queue_.empty()) return;  // stopping and drained
    auto [owner, task] = std::move(queue_.front());
    queue_.pop_front();
    running_ = owner;
    lock.unlock();
    try {
      task();
    } catch (const std::exception& e) {
      DAILY_LOG(Error, "dispatcher", "an event handler threw: " << e.what());
    } catch (...) {
      DAILY_LOG(Error, "dispatcher", "an event handler threw a non-std exception");
    }
    task = nullptr;  // release captures before the owner is reported idle
    lock.lock();
    running_ = nullptr;
    idle_.notify_all();
  }
}

}  // namespace daily::detail
