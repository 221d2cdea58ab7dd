#include "media_thread.hpp"

#include <pthread.h>

#include <future>

namespace daily::detail {

MediaThread& MediaThread::instance() {
  static MediaThread thread;
  return thread;
}

MediaThread::MediaThread() : thread_([this] { run(); }) { pthread_setname_np(thread_.native_handle(), "daily-media"); }

MediaThread::~MediaThread() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void MediaThread::post(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    tasks_.push_back(std::move(task));
  }
  wake_.notify_one();
}

void MediaThread::drain() {
  if (onMediaThread()) return;
  std::promise<void> done;
  auto finished = done.get_future();
  post([&done] { done.set_value(); });
  finished.wait();
}

void MediaThread::every20ms(std::function<bool()> tick) {
  post([this, tick = std::move(tick)]() mutable { tickers_.push_back(std::move(tick)); });
}

void MediaThread::run() {
  using Clock = std::chrono::steady_clock;
  constexpr auto kTick = std::chrono::milliseconds(20);
  auto next = Clock::now() + kTick;
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    // tickers_ is touched only on this thread; it is read here without the lock's help.
    if (tickers_.empty()) {
      wake_.wait(lock, [&] { return stopping_ || !tasks_.empty(); });
      next = Clock::now() + kTick;
    } else {
      wake_.wait_until(lock, next, [&] { return stopping_ || !tasks_.empty(); });
    }
    if (stopping_) break;
    auto tasks = std::move(tasks_);
    tasks_.clear();
    lock.unlock();
    for (auto& task : tasks) task();
    const auto now = Clock::now();
    if (!tickers_.empty() && now >= next) {
      next += kTick;
      if (now - next > 5 * kTick) next = now + kTick;  // far behind (a stalled process): no burst
      for (std::size_t i = 0; i < tickers_.size();) {
        if (tickers_[i]()) ++i;
        else tickers_.erase(tickers_.begin() + static_cast<std::ptrdiff_t>(i));
      }
    }
    lock.lock();
  }
}

}  // namespace daily::detail
