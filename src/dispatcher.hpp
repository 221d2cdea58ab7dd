#pragma once

#include <atomic>
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
  void finished();  // after each task: wakes waitIdle() callers, if any

  std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::deque<std::pair<const void*, std::function<void()>>> queue_;
  // The owner of the task running now. Atomic, not under mu_: the dispatcher runs a whole batch of tasks with one
  // lock (the network thread posting events as fast as it reads them would otherwise meet it on mu_ twice per
  // event). waitIdle() and finished() pair a seq_cst store and load each way, so neither misses the other.
  std::atomic<const void*> running_{nullptr};
  std::atomic<int> idleWaiters_{0};
  std::atomic<bool> pending_{false};  // set by post(): what the dispatcher watches for while it lingers
  bool idleWaiting_ = false;  // the thread is (about to be) blocked on wake_
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace daily::detail
