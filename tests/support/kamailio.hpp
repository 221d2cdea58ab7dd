#pragma once

// kamailio (Debian's, 5.6) as a Record-Routing SIP proxy in a test: it relays every initial request by its
// Request-URI, stays on the path of the dialogs it creates (record_route), and routes in-dialog requests by
// their Route headers (loose_route). It routes the domain callee.test to 127.0.0.1, a host name that the gateway
// cannot resolve and the proxy can. Each request it relays is logged ("proxy: METHOD URI from ADDR:PORT") in its
// log file.

#include "process.hpp"

#include <memory>
#include <string>

namespace daily::test {

class KamailioProxy {
 public:
  /// Starts kamailio listening on 127.0.0.1:port for UDP and TCP, its config and log in dir; throws
  /// std::runtime_error when it does not come up.
  KamailioProxy(const std::string& dir, int port);

  int port() const { return port_; }
  /// "sip:127.0.0.1:PORT;lr": how a Route or an outbound proxy names it.
  std::string uri() const;
  /// What it has logged: its relays, and its errors.
  std::string log() const;
  /// The relays it logged for a method ("proxy: BYE ..."), one line each.
  int relayed(const std::string& method) const;

 private:
  int port_;
  std::string logFile_;
  std::unique_ptr<Process> process_;
};

}  // namespace daily::test
