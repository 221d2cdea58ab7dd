#pragma once

#include <daily/error.hpp>
#include <daily/export.hpp>
#include <daily/options.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace daily {

/// How a RestClient reaches Daily's REST API (or daily-devserver's).
struct RestClientOptions {
  /// Bearer key; empty = the DAILY_API_KEY environment variable. Never logged.
  std::string apiKey{};
  /// "https://api.daily.co/v1" by default; for the devserver its http_url + "/v1".
  std::string baseUrl{"https://api.daily.co/v1"};
  /// Per attempt.
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};
  /// Retries after a 429 or 5xx (POSTs only after 429 and 503, which say the request was not processed).
  int maxRetries{3};
  /// The first backoff; it doubles per retry, and a Retry-After header overrides it (capped at maxBackoff).
  std::chrono::milliseconds initialBackoff{std::chrono::milliseconds(250)};
  std::chrono::milliseconds maxBackoff{std::chrono::seconds(8)};
  /// Verify the server's TLS certificate and host name. Turn off only for local use.
  bool verifyTls{true};
  /// A PEM CA bundle to trust instead of the system's.
  std::string caFile{};
};

/// A room object: Daily's fields, plus the whole JSON in raw.
struct Room {
  std::string id;
  std::string name;
  std::string url;
  std::string privacy;
  std::string createdAt;
  nlohmann::json config = nlohmann::json::object();
  nlohmann::json raw = nlohmann::json::object();
};

struct RoomList {
  std::size_t totalCount = 0;
  std::vector<Room> data;
};

/// POST /rooms. Unset fields are left to the server.
struct CreateRoomOptions {
  std::optional<std::string> name{};
  std::optional<std::string> privacy{};  ///< "public" or "private"
  nlohmann::json properties = nlohmann::json::object();
};

/// POST /rooms/:name.
struct UpdateRoomOptions {
  std::optional<std::string> privacy{};
  nlohmann::json properties = nlohmann::json::object();
};

/// POST /meeting-tokens properties, Daily's names. Unset fields are not sent.
struct MeetingTokenProperties {
  std::optional<std::string> roomName{};
  std::optional<bool> isOwner{};
  std::optional<std::string> userName{};
  std::optional<std::string> userId{};
  std::optional<std::int64_t> exp{};
  std::optional<std::int64_t> nbf{};
  /// permissions.canAdmin: true, or a list of "participants" / "streaming" / "transcription".
  std::optional<nlohmann::json> canAdmin{};
  /// Any other property, sent as given (e.g. {"eject_at_token_exp": true}).
  nlohmann::json extra = nlohmann::json::object();
};

/// POST /webhooks, POST /webhooks/:id.
struct WebhookOptions {
  std::string url{};
  std::vector<std::string> eventTypes{};
  std::string hmac{};                     ///< base64; empty = let the server pick one
  std::optional<std::string> retryType{};  ///< "circuit-breaker" (default) or "exponential"
};

struct Webhook {
  std::string uuid;
  std::string url;
  std::string hmac;
  std::vector<std::string> eventTypes;
  std::string state;  ///< "ACTIVE" or "FAILED"
  std::string retryType;
  int failedCount = 0;
  nlohmann::json raw = nlohmann::json::object();
};

/// Daily's REST API over libcurl: one connection-reusing handle per client.
///
/// Thread-safe: calls from several threads are serialised on the handle. Each synchronous call has an
/// ...Async twin returning std::future, run on one worker thread of this client (started on first use).
/// Failures throw daily::Error with httpStatus() and errorType() from Daily's error body; codes:
/// 400 InvalidArgument, 401/403 PermissionDenied, 404 NotFound, 408/504 and curl timeouts Timeout,
/// other 5xx ServerError, no connection ConnectionLost.
class DAILY_API RestClient {
 public:
  /// @throws Error InvalidArgument when there is no API key (options or DAILY_API_KEY) or baseUrl is not http(s).
  explicit RestClient(RestClientOptions options = {});
  ~RestClient();
  RestClient(const RestClient&) = delete;
  RestClient& operator=(const RestClient&) = delete;

  Room createRoom(const CreateRoomOptions& options = {});
  Room getRoom(const std::string& name);
  RoomList listRooms();
  Room updateRoom(const std::string& name, const UpdateRoomOptions& options);
  void deleteRoom(const std::string& name);

  /// Returns the token string.
  std::string createMeetingToken(const MeetingTokenProperties& properties);
  /// GET /meeting-tokens/:token: the token's properties (long names); throws InvalidArgument for a bad token.
  nlohmann::json validateMeetingToken(const std::string& token, bool ignoreNbf = false);

  /// POST /rooms/:name/sipRefer; the same as CallClient::sipRefer, from a backend.
  void sipRefer(const std::string& room, const SipReferOptions& options);
  /// POST /rooms/:name/sipCallTransfer.
  void sipCallTransfer(const std::string& room, const SipCallTransferOptions& options);
  /// POST /rooms/:name/dialOut/start; returns the new session.
  DialOutSession startDialOut(const std::string& room, const StartDialOutOptions& options);
  /// POST /rooms/:name/dialOut/stop.
  void stopDialOut(const std::string& room, const StopDialOutOptions& options);
  /// POST /rooms/:name/dialOut/sendDTMF.
  void sendDtmf(const std::string& room, const SendDtmfOptions& options);

  Webhook createWebhook(const WebhookOptions& options);
  std::vector<Webhook> listWebhooks();
  Webhook getWebhook(const std::string& uuid);
  Webhook updateWebhook(const std::string& uuid, const WebhookOptions& options);
  void deleteWebhook(const std::string& uuid);

  /// Any other endpoint: method, a path under baseUrl ("/rooms"), an optional JSON body; returns the JSON answer.
  nlohmann::json request(const std::string& method, const std::string& path, const nlohmann::json& body = nullptr);

  [[nodiscard]] std::future<Room> createRoomAsync(CreateRoomOptions options = {});
  [[nodiscard]] std::future<Room> getRoomAsync(std::string name);
  [[nodiscard]] std::future<RoomList> listRoomsAsync();
  [[nodiscard]] std::future<void> deleteRoomAsync(std::string name);
  [[nodiscard]] std::future<std::string> createMeetingTokenAsync(MeetingTokenProperties properties);
  [[nodiscard]] std::future<void> sipReferAsync(std::string room, SipReferOptions options);
  [[nodiscard]] std::future<void> sipCallTransferAsync(std::string room, SipCallTransferOptions options);
  [[nodiscard]] std::future<DialOutSession> startDialOutAsync(std::string room, StartDialOutOptions options);
  [[nodiscard]] std::future<void> stopDialOutAsync(std::string room, StopDialOutOptions options);
  [[nodiscard]] std::future<nlohmann::json> requestAsync(std::string method, std::string path,
                                                         nlohmann::json body = nullptr);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace daily
