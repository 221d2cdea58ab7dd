#pragma once

// Digest authentication (RFC 3261 §22, RFC 7616 and RFC 8760). As a client: the gateway's answer to a 401 or 407
// that challenges one of its requests, from credentials given per realm; MD5 and SHA-256, with qop=auth or no
// qop; SHA-256 is chosen when a peer offers both. As a server: the challenge to a dial-in INVITE when dial-ins need
// credentials, and the check of its answer. Passwords never leave this file: only digests do.

#include "sip/message.hpp"

#include <chrono>
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

/// The server side: the accounts a dial-in INVITE must prove it has (one realm: the first account's, else
/// "daily-devserver"; an account naming another realm never matches). Nonces are stateless: a time and an HMAC of
/// it under a random secret of this process, good for kNonceLifetime; an older one is challenged again with
/// stale=true (RFC 7616 3.3), so the caller answers anew without asking its user. A nonce may be used again while
/// it is fresh (no nonce count is kept): a replayed INVITE is the same call (the transaction layer absorbs it) or a
/// merged request (482).
class DigestServer {
 public:
  static constexpr std::chrono::seconds kNonceLifetime{300};
  /// sha256: challenge with SHA-256 too (first, as the preferred one, RFC 8760 2.4). Without it, MD5 alone: libre
  /// 1.0 (Debian's baresip) fails a call that is challenged with any algorithm but MD5, and sipp reads only the
  /// first challenge and speaks only MD5.
  explicit DigestServer(std::vector<Credentials> accounts, bool sha256 = false);

  bool enabled() const { return !accounts_.empty(); }
  const std::string& realm() const { return realm_; }

  enum class Verdict { Accepted, Missing, Wrong, Stale };
  /// What request's Authorization headers prove: Accepted when one answers a nonce of ours for this realm, with the
  /// request's method and Request-URI (or that URI without its user part, as sipp writes it), and a response that
  /// checks out for an account (an algorithm we offered, qop=auth or none); Stale when it would but for the nonce's
  /// age; Missing without any for this realm; Wrong otherwise.
  Verdict check(const osip_message_t* request, std::chrono::system_clock::time_point now) const;
  /// The WWW-Authenticate values of a 401 that challenges a request: SHA-256 (when offered), then MD5, each with
  /// qop="auth" and a fresh nonce.
  std::vector<std::string> challenges(std::chrono::system_clock::time_point now, bool stale) const;

 private:
  std::string nonce(std::chrono::system_clock::time_point now) const;
  /// Whether a nonce is ours: false when it is not; *stale when it is but too old.
  bool ours(const std::string& nonce, std::chrono::system_clock::time_point now, bool* stale) const;

  std::vector<Credentials> accounts_;
  bool sha256_;
  std::string realm_;
  std::string secret_;
};

}  // namespace daily::devserver::sip
