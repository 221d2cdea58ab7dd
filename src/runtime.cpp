#include "runtime.hpp"

#include "common/log.hpp"
#include "common/openssl_init.hpp"

#include <exception>

namespace daily::detail {

Runtime& Runtime::instance() {
  // Deliberately never destroyed: handlers may still be running at exit, and joining the network thread from a
  // static destructor would race with them. The OS reclaims the threads.
  static Runtime* runtime = (initOpenSsl(), new Runtime());
  return *runtime;
}

Runtime::Runtime()
    : work_(asio::make_work_guard(io_)), thread_([this] {
        for (;;) {
          try {
            io_.run();
            return;
          } catch (const std::exception& e) {
            DAILY_LOG(Error, "runtime", "network thread caught: " << e.what());
          }
        }
      }) {}

}  // namespace daily::detail
