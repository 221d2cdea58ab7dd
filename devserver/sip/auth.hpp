#pragma once

// Digest authentication as a client (RFC 3261 §22, RFC 7616 and RFC 8760): the gateway's answer to a 401 or 407
// that challenges one of its requests, from credentials given per realm. MD5 and SHA-256, with qop=auth or no
// qop; SHA-256 is chosen when a peer offers both. Passwords never leave this file: only the digest does.

#include "sip/message.hpp"

#include <optional>
#include <string>
#include <vector>

namespace daily::devserver::sip {

struct Credentials {
  std::string user;
  std::string password;
  std::string realm;  // empty: any realm
};

/// Reads "USER:PASSWORD[@REALM]" (the realm after the last '@'; a password with an '@' in it needs a realm after
/// it). nullopt, and *why, when it is not of that form.
std::optional<Credentials> parseCredentials(const std::string& text, std::string* why);

struct DigestInput {
  std::string algorithm = "MD5";  // "MD5" or "SHA-256"
  std::string user, realm, password;
  std::string method, uri;
  std::string nonce;
  std::string qop;     // "auth", or empty for RFC 2069's form
  std::string nc;      // "00000001"
  std::string cnonce;
};
/// The digest's `response` value (lower-case hex); "" for an unknown algorithm.
std::string digestResponse(const DigestInput& in);

/// The header that answers the challenge in response (a 401's WWW-Authenticate, a 407's Proxy-Authenticate) for
/// request, with the first credentials whose realm matches: {"Authorization" or "Proxy-Authorization", value}.
/// nullopt when no challenge it can answer (Digest, MD5 or SHA-256, auth or no qop) has credentials.
std::optional<std::pair<std::string, std::string>> answerChallenge(const osip_message_t* response,
                                                                   const osip_message_t* request,
                                                                   const std::vector<Credentials>& credentials);

}  // namespace daily::devserver::sip
