#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace daily::detail {

/// The one thread that runs event handlers for every CallClient of the process, in the order tasks were posted.
class Dispatcher {
 public:
  Dispatcher();
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  /// Queues task; owner identifies the client it belongs to (for waitIdle).
  void post(const void* owner, std::function<void()> task);
  /// Returns once no task of owner is running. Returns at once when called on the dispatcher thread
  /// (the caller is then inside a task, which may be owner's own: waiting would deadlock).
  void waitIdle(const void* owner);
  bool onDispatcherThread() const { return std::this_thread::get_id() == thread_.get_id(); }

 private:
  void run();

  std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::deque<std::pair<const void*, std::function<void()>>> queue_;
  const void* running_ = nullptr;
  bool idleWaiting_ = false;  // the thread is (about to be) blocked on wake_
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace daily::detail
