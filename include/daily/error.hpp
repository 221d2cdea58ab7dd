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

  /// The kind of failure.
  ErrorCode code() const noexcept { return code_; }
  /// The SIP peer's final status (e.g. 486, 603) when a SIP peer answered; 0 when none did.
  int sipStatus() const noexcept { return sipStatus_; }

 private:
  ErrorCode code_;
  int sipStatus_;
};

}  // namespace daily
