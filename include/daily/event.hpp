#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace daily {

/// One event, as daily-js hands it to a handler.
struct Event {
  /// The event name, e.g. "participant-joined"; equal to payload["action"].
  std::string action;
  /// The daily-js event object, field for field: {"action": ..., "callClientId": ..., "participant": {...}}.
  nlohmann::json payload;
};

/// Returned by CallClient::on()/once(); pass it to CallClient::off().
using ListenerId = std::uint64_t;

}  // namespace daily
