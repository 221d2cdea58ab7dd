#include "sip/invite.hpp"

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

}  // namespace daily::devserver::sip
