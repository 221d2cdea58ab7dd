#include "sip/invite.hpp"

#include "common/log.hpp"

#include <algorithm>
#include <utility>

namespace daily::devserver::sip {

void AnsweredInvite::start(std::string ok, const Flow* peer, Schedule schedule, std::function<void()> noAck) {
  ok_ = std::move(ok);
  peer_ = peer;
  schedule_ = schedule;
  deadline_ = timers_.now() + schedule.timeout;
  noAck_ = std::move(noAck);
  retransmit(schedule.t1);
}

void AnsweredInvite::retransmit(std::chrono::milliseconds interval) {
  timer_.start(interval, [this, interval] {
    if (ok_.empty()) return;
    if (timers_.now() >= deadline_) {
      auto noAck = std::move(noAck_);
      finish(false);  // the waiters may end the call, and this with it: nothing of this is touched after
      if (noAck) noAck();
      return;
    }
    transport_.send(ok_, *peer_);
    retransmit(std::min(interval * 2, schedule_.t2));
  });
}

void AnsweredInvite::whenAcked(std::function<void(bool acked)> action) {
  if (ok_.empty()) return action(true);
  waiting_.push_back(std::move(action));
}

void AnsweredInvite::finish(bool acked) {
  timer_.cancel();
  ok_.clear();
  noAck_ = nullptr;
  auto waiting = std::move(waiting_);
  waiting_.clear();
  for (auto& action : waiting) action(acked);
}

// ---- CallingInvite ------------------------------------------------------------------------------------------

CallingInvite::CallingInvite(TransactionLayer& transactions, Dialog& dialog, Resolve resolve, Authorize authorize)
    : transactions_(transactions),
      transport_(transactions.transport()),
      dialog_(dialog),
      resolve_(std::move(resolve)),
      authorize_(std::move(authorize)) {}

CallingInvite::~CallingInvite() = default;  // alive_ goes: the callbacks under way find it gone

void CallingInvite::start(const std::string& hopUri, Events events) {
  events_ = std::move(events);
  if (flowToUri(hopUri)) {  // an IP address: Dialog::calling made it the peer
    if (!build()) return fail(0, "could not be reached");
    return send(false);
  }
  lookingUp_ = true;
  resolve_(hopUri, [this, alive = std::weak_ptr<bool>(alive_)](std::vector<Flow> targets, const std::string& error) {
    if (!alive.expired()) resolved(std::move(targets), error);
  });
}

void CallingInvite::resolved(std::vector<Flow> targets, const std::string& error) {
  if (!std::exchange(lookingUp_, false)) return;  // cancelled meanwhile
  if (targets.empty()) {
    DAILY_LOG(Info, "sip", "INVITE of " << dialog_.callId << " to " << dialog_.remoteTarget << ": " << error);
    return fail(0, "could not be resolved: " + error);
  }
  targets_ = std::move(targets);
  nextTarget();
}

void CallingInvite::nextTarget() {
  dialog_.peer = targets_.front();
  targets_.erase(targets_.begin());
  targetAnswered_ = false;
  if (!build()) return fail(0, "could not be reached");
  send(false);
}

bool CallingInvite::build() {
  std::string branch;
  invite_ = dialog_.invite(transport_, &branch);
  if (!invite_) return false;
  for (const auto& [name, value] : offer_.headers) addHeader(invite_.get(), name, value);
  if (offer_.sdp) setBody(invite_.get(), "application/sdp", offer_.sdp());
  return true;
}

void CallingInvite::send(bool retried) {
  sent_ = true;
  const std::weak_ptr<bool> alive = alive_;
  transactions_.request(
      invite_.get(), dialog_.peer,
      [this, alive, retried](osip_message_t* response) {
        if (!alive.expired()) onResponse(response, retried);
      },
      [this, alive](Failure failure) {
        if (!alive.expired()) onFailure(failure);
      });
}

void CallingInvite::onResponse(osip_message_t* response, bool retried) {
  const int code = status(response);
  targetAnswered_ = true;
  if (code < 200) {
    if (auto progress = events_.progress) progress(code);
    return;
  }
  if ((code == 401 || code == 407) && !retried && authorize_) {
    if (auto again = authorize_(invite_.get(), response)) {
      invite_ = std::move(again);  // a CANCEL from now on cancels this one
      return send(true);
    }
  }
  if (code == 503 && failOver("503")) return;
  // A callee that takes no SRTP refuses the offer with 488; the application may make its offer again with plain
  // RTP (over the same TLS hop: nobody on the path could have forged the 488).
  if (code == 488 && offer_.offerAgain && offer_.offerAgain()) {
    ++dialog_.localCseq;  // a new request (RFC 3261 14.1), which a peer may challenge again
    if (build()) return send(false);
  }
  if (code >= 300) return fail(code, reason(response));
  dialog_.confirm(response);
  if (!dialog_.nextHopNeedsLookup()) return confirm(response);
  // The 2xx's Contact or Record-Route names a host: the ACK, and every request after it, go where DNS says. The
  // 2xx is kept (a copy: the transaction layer's ends with this call) until then.
  std::shared_ptr<osip_message_t> ok(clone(response).release(), MessageDeleter());
  if (!ok) return fail(0, "could not be reached");
  resolve_(dialog_.nextHopUri(), [this, alive = std::weak_ptr<bool>(alive_), ok](std::vector<Flow> targets,
                                                                                  const std::string& error) {
    if (alive.expired()) return;
    if (targets.empty()) {
      DAILY_LOG(Warn, "sip", "call " << dialog_.callId << ": its next hop " << dialog_.nextHopUri() << " " << error
                                     << "; its requests go to " << dialog_.peer);
    } else {
      dialog_.resolvedNextHop(targets.front());
    }
    confirm(ok.get());
  });
}

void CallingInvite::confirm(osip_message_t* ok) {
  auto ack = dialog_.ackFor2xx(transport_);
  ack_ = ack ? serialize(ack.get()) : std::string();
  transport_.send(ack_, dialog_.peer);
  auto answered = std::move(events_.answered);
  events_ = {};
  if (answered) answered(ok);  // last: it may end the call, and this usage with it
}

void CallingInvite::onFailure(Failure failure) {
  const bool unreachable = failure == Failure::Transport;
  if ((unreachable || !targetAnswered_) && failOver(unreachable ? "unreachable" : "no answer")) return;
  if (failure == Failure::Timeout) sendCancel();
  fail(0, unreachable ? "could not be reached" : "");
}

bool CallingInvite::failOver(const char* why) {
  if (targets_.empty() || cancelled_) return false;
  DAILY_LOG(Info, "sip", "INVITE of " << dialog_.callId << " to " << dialog_.peer << ": " << why << "; trying "
                                      << targets_.front());
  nextTarget();
  return true;
}

void CallingInvite::cancel() {
  if (std::exchange(lookingUp_, false)) return fail(487, "Request Terminated");
  cancelled_ = true;
  sendCancel();
}

void CallingInvite::sendCancel() {
  if (!invite_ || !sent_) return;
  if (auto cancel = dialog_.cancelOf(invite_.get())) transactions_.request(cancel.get(), dialog_.peer, {}, {});
}

void CallingInvite::repeated2xx(osip_message_t* response) {
  if (ack_.empty()) return;  // not confirmed yet: the 2xx that will be is still being looked at
  const std::string tag = toTag(response);
  if (tag == dialog_.remoteTag) return transport_.send(ack_, dialog_.peer);
  Dialog fork = dialog_;  // the same INVITE, answered by another party
  fork.confirm(response);
  if (auto ack = fork.ackFor2xx(transport_)) transport_.send(serialize(ack.get()), fork.peer);
  if (!forks_.insert(tag).second) return;  // that fork's BYE is on its way already
  DAILY_LOG(Info, "sip", "call " << fork.callId << " was answered by a second fork (tag " << tag << "): hanging it up");
  if (auto bye = fork.request("BYE", transport_)) transactions_.request(bye.get(), fork.peer, {}, {});
}

void CallingInvite::fail(int status, const std::string& reason) {
  auto failed = std::move(events_.failed);
  events_ = {};
  if (failed) failed(status, reason);  // last: it may destroy this usage
}

}  // namespace daily::devserver::sip
