#include "runtime.hpp"

#include "common/log.hpp"
#include "common/openssl_init.hpp"

#include <asio/error.hpp>
#include <asio/ssl/error.hpp>
#include <websocketpp/error.hpp>
#include <websocketpp/processors/base.hpp>
#include <websocketpp/transport/asio/base.hpp>
#include <websocketpp/transport/asio/security/base.hpp>
#include <websocketpp/transport/base/connection.hpp>

#include <cstdlib>
#include <pthread.h>
#include <unistd.h>
#include <exception>

namespace daily::detail {

Runtime& Runtime::instance() {
  // Deliberately never destroyed: handlers may still be running at exit on the dispatcher thread, and the OS
  // reclaims the threads. The network thread alone is stopped at exit (stopAtExit).
  static Runtime* runtime = [] {
    initOpenSsl();
    // The error categories the network thread compares codes against are function-local statics, made on first
    // use. Made now, before stopAtExit is registered, they are destroyed after it has stopped the thread; made
    // later, on the network thread, exit() destroyed one while a connect timer's handler still used it (UBSan).
    websocketpp::error::get_category();
    websocketpp::transport::error::get_category();
    websocketpp::transport::asio::error::get_category();
    websocketpp::transport::asio::socket::get_socket_category();
    websocketpp::processor::error::get_processor_category();
    asio::error::get_misc_category();
    asio::error::get_netdb_category();
    asio::error::get_addrinfo_category();
    asio::error::get_ssl_category();
    asio::ssl::error::get_stream_category();
    auto* r = new Runtime();
    std::atexit(&Runtime::stopAtExit);
    return r;
  }();
  return *runtime;
}

// Runs before the destructors of the statics that existed when the runtime started (atexit order), such as
// websocketpp's and Asio's own: a network thread still completing a handshake while exit() destroys them
// raced with their destruction (TSan). Stopping the io_context ends the thread after its current handler.
void Runtime::stopAtExit() {
  Runtime& r = instance();
  if (getpid() != r.pid_) return;  // a forked child that exits: the threads stayed in the parent
  r.io_.stop();
  if (!r.onNetworkThread() && r.thread_.joinable()) r.thread_.join();
}

Runtime::Runtime()
    : work_(asio::make_work_guard(io_)), thread_([this] {
        for (;;) {
          try {
            loop_.run();
            return;
          } catch (const std::exception& e) {
            DAILY_LOG(Error, "runtime", "network thread caught: " << e.what());
          }
        }
      }) {
  // As top, perf and gdb show it; named here, not by the thread itself, so that it has its name once the runtime
  // exists.
  pthread_setname_np(thread_.native_handle(), "daily-network");
}

}  // namespace daily::detail
