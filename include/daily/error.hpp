#pragma once

#include <daily/export.hpp>

#include <stdexcept>
#include <string>

namespace daily {

/// What went wrong, as a value a program can switch on.
enum class ErrorCode {
  InvalidArgument,   ///< the call's arguments were rejected before or by the server (bad URL, bad SIP URI, ...)
  NotJoined,         ///< the call needs a joined meeting (or it was already joined / left)
  PermissionDenied,  ///< the meeting token does not allow it (not owner/admin, bad, expired or foreign token)
  NotFound,          ///< the room or the session named does not exist
  SipRejected,       ///< a SIP peer answered with a failure status; see Error::sipStatus()
  Timeout,           ///< nobody answered in time (a SIP transaction timed out, or the server did not answer)
  ConnectionLost,    ///< the signaling connection closed or failed, or the client was destroyed, before an answer
  ServerError,       ///< the server failed or sent something the SDK could not understand
};

/// The name of an ErrorCode, e.g. "PermissionDenied".
DAILY_API const char* toString(ErrorCode code) noexcept;

/// What every failed future of the SDK throws from get(), and what a few synchronous calls throw.
class DAILY_API Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message, int sipStatus = 0);
  /// A failed REST call: the HTTP status and Daily's error kind (the body's "error", e.g. "not-found").
  Error(ErrorCode code, const std::string& message, int sipStatus, int httpStatus, std::string errorType);

  /// The kind of failure.
  ErrorCode code() const noexcept { return code_; }
  /// The SIP peer's final status (e.g. 486, 603) when a SIP peer answered; 0 when none did.
  int sipStatus() const noexcept { return sipStatus_; }
  /// RestClient: the HTTP status of the final answer; 0 when there was none (or for CallClient errors).
  int httpStatus() const noexcept { return httpStatus_; }
  /// RestClient: the "error" field of Daily's error body ("authentication-error", "not-found", ...). CallClient:
  /// daily-js's fatal error type (DailyFatalErrorType: "exp-token", "nbf-token", "no-room", "not-allowed",
  /// "ejected", "connection-error", ...) when the failure ended or refused the meeting, as the error event says;
  /// may be empty.
  const std::string& errorType() const noexcept { return errorType_; }

 private:
  ErrorCode code_;
  int sipStatus_;
  int httpStatus_ = 0;
  std::string errorType_;
};

}  // namespace daily
