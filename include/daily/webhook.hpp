#pragma once

#include <daily/export.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace daily {

/// A webhook delivery as Daily sends it: {"version", "type", "id", "payload", "event_ts"}.
struct WebhookEvent {
  std::string version;
  std::string type;  ///< e.g. "calltransfer.initiated", "dialin.connected", "participant.joined"
  std::string id;
  nlohmann::json payload;
  double eventTs = 0;
};

/// How verifyWebhookSignature() judges a delivery.
struct WebhookVerifyOptions {
  /// Deliveries whose X-Webhook-Timestamp is further than this from now (either way) are refused: replays.
  std::chrono::seconds replayWindow{std::chrono::minutes(5)};
  /// The clock to judge the timestamp by; empty = now.
  std::optional<std::chrono::system_clock::time_point> now{};
};

/// Checks a received webhook the way Daily signs it: X-Webhook-Signature must equal
/// base64(HMAC-SHA256(base64-decode(secret), timestamp + "." + rawBody)), compared in constant time, and the
/// X-Webhook-Timestamp (seconds or milliseconds since the epoch) must be within the replay window.
/// @param secret the webhook's "hmac" (base64), as Daily returned it or as you set it
/// @param timestamp the X-Webhook-Timestamp header; @param signature the X-Webhook-Signature header
/// @param rawBody the request body exactly as received (before any JSON parsing)
/// Returns false for anything malformed; never throws.
DAILY_API bool verifyWebhookSignature(std::string_view secret, std::string_view timestamp, std::string_view rawBody,
                                      std::string_view signature, const WebhookVerifyOptions& options = {});

/// Computes the X-Webhook-Signature value for a delivery (what the devserver sends; handy in tests).
/// @throws Error InvalidArgument when secret is not base64.
DAILY_API std::string signWebhook(std::string_view secret, std::string_view timestamp, std::string_view rawBody);

/// Parses a delivery's body into its envelope. @throws Error InvalidArgument for a body that is not one.
DAILY_API WebhookEvent parseWebhookEvent(std::string_view rawBody);

}  // namespace daily
