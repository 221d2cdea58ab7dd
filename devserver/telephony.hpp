#pragma once

// The telephony requests, checked and handed to the gateway: the same code serves the signaling websocket
// (after its joined/owner checks) and the REST API (after its bearer check), so both act exactly alike.

#include "hub.hpp"
#include "sip/gateway.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace daily::devserver {

/// method: "sipRefer", "sipCallTransfer", "startDialOut", "stopDialOut" or "sendDTMF".
/// referredBy: the Referred-By URI for a REFER. Returns false (answering nothing) for an unknown method.
bool dispatchTelephony(Gateway& gateway, const std::string& room, const std::string& method, const nlohmann::json& params,
                       const std::string& referredBy, const Gateway::Reply& reply);

}  // namespace daily::devserver
