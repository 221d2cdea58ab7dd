#include "sip/refer.hpp"

#include <algorithm>
#include <cstdlib>

namespace daily::devserver::sip {

bool ReferSubscription::owns(const std::string& event) const {
  const auto at = event.find(";id=");
  if (at == std::string::npos) return true;
  const std::string id = event.substr(at + 4, event.find_first_of(";, \t", at + 4) - at - 4);
  if (id.empty() || id.size() > 10 || id.find_first_not_of("0123456789") != std::string::npos) return false;
  const auto cseq = std::strtoul(id.c_str(), nullptr, 10);
  return std::find(ids.begin(), ids.end(), cseq) != ids.end();
}

std::string ReferNotify::progress() const {
  return status == 0 ? "unknown" : status < 200 ? "progress" : status < 300 ? "transferred" : "failed";
}

ReferNotify readReferNotify(const osip_message_t* notify) {
  ReferNotify n;
  const std::string state = header(notify, "subscription-state");
  if (const auto at = state.find("expires="); at != std::string::npos)
    n.expires = std::chrono::seconds(std::max(0L, std::strtol(state.c_str() + at + 8, nullptr, 10)));
  n.terminated = state.rfind("terminated", 0) == 0;
  n.status = sipfragStatus(body(notify));
  return n;
}

MessagePtr referNotify(Dialog& dialog, const Transport& transport, std::uint32_t referCseq, int code,
                       const std::string& reason, bool final) {
  auto notify = dialog.request("NOTIFY", transport);
  if (!notify) return notify;
  addHeader(notify.get(), "Event", "refer;id=" + std::to_string(referCseq));
  addHeader(notify.get(), "Subscription-State", final ? "terminated;reason=noresource" : "active;expires=60");
  setBody(notify.get(), "message/sipfrag;version=2.0", "SIP/2.0 " + std::to_string(code) + " " + reason + "\r\n");
  return notify;
}

}  // namespace daily::devserver::sip
