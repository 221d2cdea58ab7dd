#pragma once

// The INVITE session usage (RFC 3261 §13), both sides.
//
// Answering (AnsweredInvite), between our 2xx and its ACK (§13.3.1.4): the 2xx is the UAS core's to retransmit
// (its transaction ended with it), from T1 doubling to T2, until the ACK comes or 64*T1 has passed; and a request
// of ours within the dialog waits for that ACK (§15 requires it of a BYE, and a REFER or INFO that overtakes a
// lost ACK makes callers abort the call).
//
// Calling (CallingInvite): our INVITE, to each target its first hop resolves to (RFC 3263 §4.3), answered once
// with credentials when challenged, cancelled on request (§9.1), and once a 2xx confirms the dialog, the ACK of
// that 2xx, sent again for each repetition of it, and the 2xx of other forks ACKed then ended with a BYE
// (§13.2.2.4, RFC 6026).

#include "sip/dialog.hpp"
#include "sip/message.hpp"
#include "sip/timers.hpp"
#include "sip/transaction.hpp"
#include "sip/transport.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <utility>
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

class CallingInvite {
 public:
  using Targets = std::function<void(std::vector<Flow> targets, const std::string& error)>;
  /// RFC 3263 for a URI that names a host: the flows it leads to, best first, or none and why. Never calls done
  /// from inside itself.
  using Resolve = std::function<void(const std::string& uri, Targets done)>;
  /// request again with credentials for challenge (a 401 or 407 to it): a new branch, the dialog's next CSeq.
  /// Null when there are none for it.
  using Authorize = std::function<MessagePtr(const osip_message_t* request, const osip_message_t* challenge)>;

  struct Offer {
    /// Headers each INVITE carries beyond the dialog's own.
    std::vector<std::pair<std::string, std::string>> headers;
    /// The SDP offer of each INVITE sent.
    std::function<std::string()> sdp;
    /// After a 488: whether the offer changed (SRTP refused: plain RTP now), so that the call goes again, once,
    /// as a new request (a new CSeq) over the same hop.
    std::function<bool()> offerAgain;
  };
  struct Events {
    std::function<void(int status)> progress;  // each provisional response
    /// The 2xx that confirmed the dialog, once its ACK has gone (to the dialog's next hop, resolved when it
    /// names a host).
    std::function<void(osip_message_t* ok)> answered;
    /// No dialog: the final status and its reason; status 0 when none came: reason "" when none came in time,
    /// "could not be reached" when the transport could not deliver the INVITE, "could not be resolved: ..." when
    /// DNS found no target; 487 "Request Terminated" when cancelled before the INVITE went out.
    std::function<void(int status, const std::string& reason)> failed;
  };

  /// dialog is the leg's (Dialog::calling's): it outlives this usage, which sends its requests.
  CallingInvite(TransactionLayer& transactions, Dialog& dialog, Resolve resolve, Authorize authorize);
  ~CallingInvite();  // no event comes after it
  CallingInvite(const CallingInvite&) = delete;
  CallingInvite& operator=(const CallingInvite&) = delete;

  /// What the INVITE carries; it may change until start().
  Offer& offer() { return offer_; }
  /// Calls: the INVITE goes to hopUri's flow (an IP address), or to each target DNS gives for its host name in
  /// turn, while the one before answers 503, cannot be reached, or times out without having answered at all.
  /// Exactly one of events.answered and events.failed comes, later; either may destroy this usage.
  void start(const std::string& hopUri, Events events);
  /// Stops a call not yet answered: at once (failed 487) while its first hop is being looked up, else with a
  /// CANCEL, whose 487 then fails it. A 2xx that crosses the CANCEL still confirms the dialog (cancelled() says
  /// so: the application hangs it up).
  void cancel();
  bool cancelled() const { return cancelled_; }
  /// A 2xx to our INVITE that no transaction took: a repetition from the dialog's peer is ACKed again; one from
  /// another fork (another To tag) is ACKed and ended with a BYE, once per fork.
  void repeated2xx(osip_message_t* response);

 private:
  void resolved(std::vector<Flow> targets, const std::string& error);
  void nextTarget();
  void send(bool retried);
  void onResponse(osip_message_t* response, bool retried);
  void onFailure(Failure failure);
  bool failOver(const char* why);
  void confirm(osip_message_t* ok);
  void sendAck(osip_message_t* ok);
  void sendCancel();
  bool build();
  void fail(int status, const std::string& reason);

  TransactionLayer& transactions_;
  Transport& transport_;
  Dialog& dialog_;
  Resolve resolve_;
  Authorize authorize_;
  Offer offer_;
  Events events_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // what callbacks check before touching this
  MessagePtr invite_;           // the INVITE under way (a CANCEL cancels it)
  std::vector<Flow> targets_;   // the first hop's targets still to try
  bool targetAnswered_ = false; // the current target has answered at all (then it is not failed over from)
  bool sent_ = false;           // an INVITE has gone out
  bool lookingUp_ = false;      // the first hop is being resolved
  bool cancelled_ = false;
  std::string ack_;             // the ACK of the confirming 2xx, once sent
  std::set<std::string> forks_; // To tags of other forks whose 2xx was answered with a BYE
};

}  // namespace daily::devserver::sip
