#pragma once

// Meeting tokens: HS256 JWTs with Daily's claim names, signed and verified with the devserver's API key.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace daily::devserver {

/// The decoded, verified claims of a meeting token, in Daily's REST (long) names.
struct TokenClaims {
  std::string roomName;  // empty = valid for every room
  bool isOwner = false;
  std::string userName;
  std::string userId;
  nlohmann::json canAdmin = false;  // false, true, or an array of "participants" / "streaming" / "transcription"
  std::optional<std::int64_t> exp;
  std::optional<std::int64_t> nbf;

  bool isAdmin() const { return canAdmin == true || (canAdmin.is_array() && !canAdmin.empty()); }
  /// {"room_name": ..., "is_owner": ..., ...}: what GET /v1/meeting-tokens/:token returns.
  nlohmann::json toProperties() const;
};

/// Why a token was refused; type is daily-js's fatal error type ("exp-token", "nbf-token", "not-allowed").
struct TokenError {
  std::string type;
  std::string message;
};

class TokenSigner {
 public:
  TokenSigner(std::string secret, std::string domainId);

  /// Builds a token from REST properties ({"room_name": ..., "is_owner": ..., "permissions": {...}, ...}).
  /// Returns nullopt and sets *why when a property has the wrong type or value.
  std::optional<std::string> create(const nlohmann::json& properties, std::string* why) const;

  /// Verifies signature, algorithm, expiry, not-before (unless ignoreNbf) and, when room is given, the room.
  /// On failure returns nullopt and fills *error.
  std::optional<TokenClaims> verify(std::string_view token, std::string_view room, bool ignoreNbf,
                                    TokenError* error) const;

 private:
  std::string sign(std::string_view signingInput) const;

  std::string secret_;
  std::string domainId_;
};

std::int64_t unixNow();

}  // namespace daily::devserver
