#pragma once

// The INVITE session usage, answering side, between our 2xx and its ACK (RFC 3261 §13.3.1.4): the 2xx is the
// UAS core's to retransmit (its transaction ended with it), from T1 doubling to T2, until the ACK comes or 64*T1
// has passed; and a request of ours within the dialog waits for that ACK (§15 requires it of a BYE, and a REFER
// or INFO that overtakes a lost ACK makes callers abort the call).

#include "sip/timers.hpp"
#include "sip/transport.hpp"

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace daily::devserver::sip {

class AnsweredInvite {
 public:
  AnsweredInvite(Transport& transport, Timers& timers) : transport_(transport), timers_(timers), timer_(timers) {}
  AnsweredInvite(const AnsweredInvite&) = delete;
  AnsweredInvite& operator=(const AnsweredInvite&) = delete;

  struct Schedule {
    std::chrono::milliseconds t1;
    std::chrono::milliseconds t2;
    std::chrono::milliseconds timeout;  // 64*T1: then the ACK is given up on
  };
  /// Our 2xx (as sent) awaits its ACK: it goes again to *peer (read at each retransmission: the dialog's next hop)
  /// on schedule. When no ACK came in time, the waiters hear false, then noAck runs (the caller hangs up).
  void start(std::string ok, const Flow* peer, Schedule schedule, std::function<void()> noAck);
  /// The ACK came: no more retransmissions; the waiters hear true.
  void acked() { finish(true); }
  /// The call ended without its ACK: no more retransmissions; the waiters hear false.
  void abandon() { finish(false); }
  /// Runs action with true once the ACK has come (at once when no 2xx waits for one), or with false when it never
  /// will.
  void whenAcked(std::function<void(bool acked)> action);
  bool awaitingAck() const { return !ok_.empty(); }

 private:
  void retransmit(std::chrono::milliseconds interval);
  void finish(bool acked);

  Transport& transport_;
  Timers& timers_;
  Timer timer_;
  std::string ok_;
  const Flow* peer_ = nullptr;
  Schedule schedule_{};
  Clock::time_point deadline_{};
  std::function<void()> noAck_;
  std::vector<std::function<void(bool acked)>> waiting_;
};

}  // namespace daily::devserver::sip
