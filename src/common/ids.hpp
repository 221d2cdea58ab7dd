#pragma once

#include <string>

namespace daily::detail {

/// A random (version 4) UUID in its 36-character text form, from OpenSSL's CSPRNG.
std::string newUuid();
/// n random bytes as 2n lowercase hex characters (SIP tags, branches, room names).
std::string randomHex(std::size_t bytes);

}  // namespace daily::detail
