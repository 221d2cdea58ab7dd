#include "kamailio.hpp"

#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace daily::test {
namespace {

// The smallest proxy that keeps itself on the path: RFC 3261 §16 with record_route() and loose_route(). It routes
// the host name callee.test to 127.0.0.1. One worker process per transport: with more, two requests sent back to
// back (an ACK and the BYE after it) can be relayed out of order, which the RFC allows and sipp's scenarios do not.
std::string config(int port) {
  const std::string listen = "127.0.0.1:" + std::to_string(port);
  return R"(#!KAMAILIO
debug=2
log_stderror=yes
children=1
tcp_children=1
auto_aliases=no
listen=udp:)" + listen + R"(
listen=tcp:)" + listen + R"(
mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "maxfwd.so"
loadmodule "siputils.so"
loadmodule "textops.so"
loadmodule "pv.so"
loadmodule "xlog.so"
request_route {
  xlog("L_NOTICE", "proxy: $rm $ru from $si:$sp\n");
  if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
  if (has_totag()) {
    # Within a dialog: by the Route headers when there are (and they name us), else by the Request-URI (sipp's
    # scenarios send their ACKs and NOTIFYs without the Routes the Record-Route gave them).
    loose_route();
    t_relay();
    exit;
  }
  if (is_method("CANCEL")) { if (t_check_trans()) t_relay(); exit; }
  # An initial request sent to us as its outbound proxy names us in its first Route: take it off (RFC 3261 16.4).
  loose_route();
  record_route();
  # The domain the tests use for a host name that only the proxy can route.
  if ($rd == "callee.test") $rd = "127.0.0.1";
  t_relay();
}
)";
}

}  // namespace

KamailioProxy::KamailioProxy(const std::string& dir, int port) : port_(port), logFile_(dir + "/kamailio.log") {
  const std::string cfg = dir + "/kamailio.cfg";
  std::ofstream(cfg) << config(port);
  // -DD: stay in the foreground (and in this process group, so that the test's kill takes its children too);
  // -E: log to stderr; -m/-M: shared and private memory in MiB, kept small.
  process_ = std::make_unique<Process>(
      std::vector<std::string>{"kamailio", "-DD", "-E", "-m", "32", "-M", "4", "-f", cfg, "-w", dir, "-P",
                               dir + "/kamailio.pid"},
      dir, logFile_);
  if (!waitForTcpListener(port, std::chrono::seconds(10)))
    throw std::runtime_error("kamailio did not start listening on " + std::to_string(port) + ":\n" + log());
}

std::string KamailioProxy::uri() const { return "sip:127.0.0.1:" + std::to_string(port_) + ";lr"; }

std::string KamailioProxy::log() const { return readFile(logFile_); }

int KamailioProxy::relayed(const std::string& method) const {
  std::istringstream lines(log());
  int n = 0;
  for (std::string line; std::getline(lines, line);)
    if (line.find("proxy: " + method + " ") != std::string::npos) ++n;
  return n;
}

}  // namespace daily::test
