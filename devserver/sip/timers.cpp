#include "sip/timers.hpp"

namespace daily::devserver::sip {

Timers::Id AsioTimers::start(std::chrono::milliseconds after, std::function<void()> fire) {
  const Id id = next_++;
  auto entry = std::make_unique<Entry>(io_);
  entry->fire = std::move(fire);
  entry->timer.expires_after(after);
  entry->timer.async_wait([this, id](const asio::error_code& ec) {
    if (ec) return;  // cancelled: the entry, and maybe this object, are gone
    auto it = pending_.find(id);
    if (it == pending_.end()) return;
    auto fired = std::move(it->second->fire);
    pending_.erase(it);  // before the call, which may start or cancel timers
    fired();
  });
  pending_.emplace(id, std::move(entry));
  return id;
}

}  // namespace daily::devserver::sip
