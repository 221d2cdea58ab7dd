#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <string>

namespace daily {

/// How a CallClient connects; the defaults are the safe ones.
struct CallClientOptions {
  /// Verify the server's TLS certificate and host name for wss:// (https:// room URLs). Turn off only for local use.
  bool verifyTls = true;
  /// A PEM file of CA certificates to trust instead of the system's store; empty = the system's default paths.
  std::string caFile{};
  /// How long join() waits for the websocket to open.
  std::chrono::milliseconds connectTimeout = std::chrono::seconds(10);
  /// How long any request waits for the server's answer before failing with ErrorCode::Timeout.
  /// Telephony requests are answered by the server only after the SIP peer answered or its transaction timed out.
  std::chrono::milliseconds requestTimeout = std::chrono::seconds(60);
  /// When the signaling connection drops while joined, reconnect and join again, as daily-js does: the client
  /// emits "network-connection" {type: "signaling", event: "interrupted"}, then {event: "connected"} once it
  /// has rejoined (with a new session_id, as every join has), and stays in "joined-meeting" meanwhile. Requests
  /// in flight at the drop fail with ErrorCode::ConnectionLost and are never re-sent; requests made while
  /// reconnecting fail the same way. When the server refuses the rejoin, or reconnectWindow passes, the client
  /// gives up with an "error" event (meeting state "error"). A server that closes the connection on purpose
  /// (normal close, policy violation) is not reconnected to.
  bool reconnect = true;
  /// How long to keep trying, from the drop.
  std::chrono::milliseconds reconnectWindow = std::chrono::seconds(30);
  /// The delay before the first attempt; it doubles after each failed one, up to reconnectMaxDelay, and each
  /// delay is spread by ±20 % so that many clients dropped at once do not come back in lockstep.
  std::chrono::milliseconds reconnectDelay = std::chrono::milliseconds(250);
  std::chrono::milliseconds reconnectMaxDelay = std::chrono::seconds(5);
};

/// join(): as daily-js join({url, token, userName}).
struct JoinOptions {
  /// The room's URL exactly as the REST API returns it ("url" of the room object), e.g. "http://127.0.0.1:4000/hello".
  std::string url{};
  /// A meeting token; required for private rooms. Owner and admin rights come only from it.
  std::string token{};
  /// The name other participants see; the token's user_name wins when it has one.
  std::string userName{};
  /// daily-js's userData: any JSON (at most 4 KB serialised), carried to the others as the participant's
  /// userData. null (the default) sends none.
  nlohmann::json userData{};
};

/// sipRefer(): as daily-js sipRefer({sessionId, toEndPoint}).
struct SipReferOptions {
  /// The session_id of the SIP participant (dial-in or dial-out) to hand off.
  std::string sessionId{};
  /// Where the SIP user agent should go: a sip:, sips: or tel: URI, e.g. "sip:support@example.com".
  std::string toEndPoint{};
  /// Extra headers to put on the REFER (names must be tokens, values one line each; X- headers are typical).
  std::map<std::string, std::string> sipHeaders{};
  /// Attended transfer (RFC 3891), instead of toEndPoint: the session_id of another SIP participant B of the
  /// room. The gateway sends the REFER to B's address with a Replaces of B's call, so that the SIP participant
  /// (A) calls B's party directly and B's party hangs up on the gateway: the two talk, and the gateway has left
  /// both calls. Leave toEndPoint empty when this is set.
  std::string replacesSessionId{};
};

/// sipCallTransfer(): as daily-js sipCallTransfer({sessionId, toEndPoint}); the gateway stays in the call.
struct SipCallTransferOptions {
  std::string sessionId{};
  std::string toEndPoint{};
};

/// startDialOut(): as daily-js startDialOut(); give sipUri or phoneNumber, not both.
struct StartDialOutOptions {
  std::string sipUri{};
  std::string phoneNumber{};
  std::string displayName{};
  std::string userId{};
  std::optional<bool> video{};
  std::string callerId{};
};

/// What startDialOut() resolves with, as daily-js's {session: {sessionId}}.
struct DialOutSession {
  std::string sessionId{};
};

/// stopDialOut(): as daily-js stopDialOut({sessionId}).
struct StopDialOutOptions {
  std::string sessionId{};
};

/// sendDTMF(): as daily-js sendDTMF({sessionId, tones, method, digitDurationMs}); tones are 0-9, *, #, A-D (at
/// most 20).
struct SendDtmfOptions {
  std::string sessionId{};
  std::string tones{};
  /// "telephone-event" (RFC 4733 in the call's audio), "sip-info" (SIP INFO), or "auto": telephone-event when
  /// the call negotiated it, else sip-info. Empty = "auto".
  std::string method{};
  /// How long each tone lasts: 50 ms to 2 s; unset = 500 ms (daily-js's default).
  std::optional<std::chrono::milliseconds> digitDuration{};
};

}  // namespace daily
