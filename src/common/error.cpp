#include <daily/error.hpp>

namespace daily {

const char* toString(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::InvalidArgument: return "InvalidArgument";
    case ErrorCode::NotJoined: return "NotJoined";
    case ErrorCode::PermissionDenied: return "PermissionDenied";
    case ErrorCode::NotFound: return "NotFound";
    case ErrorCode::SipRejected: return "SipRejected";
    case ErrorCode::Timeout: return "Timeout";
    case ErrorCode::ConnectionLost: return "ConnectionLost";
    case ErrorCode::ServerError: return "ServerError";
  }
  return "Unknown";
}

Error::Error(ErrorCode code, const std::string& message, int sipStatus)
    : std::runtime_error(message), code_(code), sipStatus_(sipStatus) {}

Error::Error(ErrorCode code, const std::string& message, int sipStatus, int httpStatus, std::string errorType)
    : std::runtime_error(message),
      code_(code),
      sipStatus_(sipStatus),
      httpStatus_(httpStatus),
      errorType_(std::move(errorType)) {}

}  // namespace daily
