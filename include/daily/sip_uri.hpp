#pragma once

#include <daily/export.hpp>

#include <string>
#include <string_view>

namespace daily {

/// Checks that uri is a sip:, sips: or tel: URI that is safe to put into a SIP header: no CR, LF, NUL or other
/// control characters, no whitespace, no '<' '>' or '"', a non-empty host (sip/sips) or number (tel), at most
/// 1024 bytes. Returns an empty string when it is valid, otherwise why it is not.
DAILY_API std::string validateSipUri(std::string_view uri);

/// Checks a SIP header name (an RFC 3261 token) and value (one line, no control characters) for sipHeaders options.
/// Returns an empty string when both are valid, otherwise why not.
DAILY_API std::string validateSipHeader(std::string_view name, std::string_view value);

}  // namespace daily
