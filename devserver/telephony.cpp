#include "telephony.hpp"

#include <daily/sip_uri.hpp>

namespace daily::devserver {

using nlohmann::json;

bool dispatchTelephony(Gateway& gateway, const std::string& room, const std::string& method, const json& params,
                       const std::string& referredBy, const Gateway::Reply& reply) {
  if (method != "sipRefer" && method != "sipCallTransfer" && method != "startDialOut" && method != "stopDialOut" &&
      method != "sendDTMF")
    return false;
  auto str = [&](const char* key) {
    auto it = params.find(key);
    return it != params.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  auto invalid = [&](const std::string& why) {
    reply(protocol::WireError{ErrorCode::InvalidArgument, method + ": " + why, 0, {}}, {});
    return true;
  };
  const std::string sessionId = str("sessionId");
  if (method != "startDialOut" && sessionId.empty()) return invalid("sessionId must be a non-empty string");

  if (method == "sipRefer" || method == "sipCallTransfer") {
    const std::string to = str("toEndPoint");
    const std::string replaces = method == "sipRefer" ? str("replacesSessionId") : std::string();
    if (!replaces.empty() && !to.empty()) return invalid("give toEndPoint or replacesSessionId, not both");
    if (!replaces.empty() && replaces == sessionId) return invalid("replacesSessionId is the session being transferred");
    if (replaces.empty())
      if (auto why = validateSipUri(to); !why.empty()) return invalid("toEndPoint: " + why);
    if (method == "sipCallTransfer") return gateway.sipCallTransfer(room, sessionId, to, reply), true;
    const json headers = params.value("sipHeaders", json::object());
    if (!headers.is_object()) return invalid("sipHeaders must be an object of strings");
    for (const auto& [name, value] : headers.items()) {
      if (!value.is_string()) return invalid("sipHeaders values must be strings");
      if (auto why = validateSipHeader(name, value.get<std::string>()); !why.empty()) return invalid(why);
    }
    gateway.sipRefer(room, sessionId, to, headers, referredBy, replaces, reply);
    return true;
  }
  if (method == "startDialOut") {
    if (!str("phoneNumber").empty())
      return invalid("phoneNumber dial-out needs a PSTN provider; the devserver dials SIP URIs only");
    if (auto why = validateSipUri(str("sipUri")); !why.empty()) return invalid("sipUri: " + why);
    const std::string displayName = str("displayName");
    if (!validateSipHeader("X-Display-Name", displayName).empty() ||
        displayName.find_first_of("\"\\<>") != std::string::npos)
      return invalid("displayName must be one line without quotes, backslashes or '<' '>'");
    if (str("userId").size() > 36 || !validateSipHeader("X-User-Id", str("userId")).empty())
      return invalid("userId must be at most 36 printable characters");
    gateway.startDialOut(room, params, reply);
    return true;
  }
  if (method == "stopDialOut") return gateway.stopDialOut(room, sessionId, reply), true;
  // daily-js 0.92's limits and defaults: at most 20 tones, 50 to 2000 ms each (500 by default).
  const std::string tones = str("tones");
  if (tones.empty() || tones.size() > 20 || tones.find_first_not_of("0123456789*#ABCDabcd") != std::string::npos)
    return invalid("tones must be 1 to 20 of 0-9, *, #, A-D");
  int duration = 500;
  if (auto d = params.find("digitDurationMs"); d != params.end()) {
    if (!d->is_number_integer() || *d < 50 || *d > 2000) return invalid("digitDurationMs must be 50 to 2000");
    duration = d->get<int>();
  }
  const std::string dtmfMethod = params.contains("method") ? str("method") : "auto";
  if (dtmfMethod != "auto" && dtmfMethod != "telephone-event" && dtmfMethod != "sip-info")
    return invalid("method must be \"telephone-event\", \"sip-info\" or \"auto\"");
  gateway.sendDtmf(room, sessionId, tones, duration, dtmfMethod, reply);
  return true;
}

}  // namespace daily::devserver
