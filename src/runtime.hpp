#pragma once

#include "dispatcher.hpp"
#include "io_loop.hpp"

#include <asio/io_context.hpp>
#include <asio/executor_work_guard.hpp>

#include <thread>
#include <unistd.h>

namespace daily::detail {

/// What every CallClient of the process shares: one network thread running one io_context, and the dispatcher
/// thread for event handlers. Created on first use and kept for the life of the process, so that the number of
/// threads never depends on the number of clients (two, whatever that number is).
class Runtime {
 public:
  static Runtime& instance();

  asio::io_context& io() { return io_; }
  Dispatcher& dispatcher() { return dispatcher_; }
  bool onNetworkThread() const { return std::this_thread::get_id() == thread_.get_id(); }
  /// Told of every answer to a request (IoLoop::answered).
  IoLoop& loop() { return loop_; }

 private:
  Runtime();
  static void stopAtExit();

  const pid_t pid_ = getpid();
  asio::io_context io_{1};
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  Dispatcher dispatcher_;
  IoLoop loop_{io_};
  std::thread thread_;
};

}  // namespace daily::detail
