#pragma once

// The SDK's media thread: one per process, whatever the number of CallClients. It paces every attached
// CustomAudioSource (20 ms at a time, at real time) and runs the audio renderers, so that neither the network
// thread nor the event dispatcher carries audio, and audio does not wait behind events.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace daily::detail {

class MediaThread {
 public:
  /// The process's media thread, started on first use.
  static MediaThread& instance();
  ~MediaThread();

  /// Runs task on the media thread, in order.
  void post(std::function<void()> task);
  /// Calls tick every 20 ms on the media thread until it returns false (its owner is gone or detached).
  void every20ms(std::function<bool()> tick);
  bool onMediaThread() const { return std::this_thread::get_id() == thread_.get_id(); }
  /// Returns once every task posted before it has run (at once on the media thread itself).
  void drain();

 private:
  MediaThread();
  void run();

  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> tasks_;
  std::vector<std::function<bool()>> tickers_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace daily::detail
