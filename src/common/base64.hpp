#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace daily::detail {

/// Standard base64 (RFC 4648 §4) with padding.
std::string base64Encode(std::string_view bytes);
/// Decodes standard base64; nullopt for anything malformed.
std::optional<std::string> base64Decode(std::string_view text);
/// base64url (RFC 4648 §5) without padding, as JWTs use it.
std::string base64UrlEncode(std::string_view bytes);
/// Decodes unpadded (or padded) base64url; nullopt for anything malformed or not canonically encoded.
std::optional<std::string> base64UrlDecode(std::string_view text);

}  // namespace daily::detail
