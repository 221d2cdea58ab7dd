#include "sip/auth.hpp"

#include "common/ids.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>

namespace daily::devserver::sip {
namespace {

std::string unquote(const char* value) {
  if (!value) return {};
  std::string s = value;
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return s;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string hexDigest(const EVP_MD* md, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), out, &length, md, nullptr) != 1) return {};
  std::string hex;
  char byte[3];
  for (unsigned int i = 0; i < length; ++i) {
    std::snprintf(byte, sizeof byte, "%02x", out[i]);
    hex += byte;
  }
  return hex;
}

const EVP_MD* digestOf(const std::string& algorithm) {
  const std::string a = lower(algorithm);
  if (a.empty() || a == "md5") return EVP_md5();
  if (a == "sha-256") return EVP_sha256();
  return nullptr;  // -sess variants, SHA-512-256, AKA: not offered by the gateway
}

// Whether a challenge's qop options allow qop=auth ("" when it names no qop: RFC 2069's form).
std::optional<std::string> chooseQop(const std::string& options) {
  if (options.empty()) return std::string();
  std::size_t start = 0;
  while (start <= options.size()) {
    std::size_t comma = options.find(',', start);
    if (comma == std::string::npos) comma = options.size();
    std::string token = options.substr(start, comma - start);
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.front()))) token.erase(0, 1);
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
    if (lower(token) == "auth") return std::string("auth");
    start = comma + 1;
  }
  return std::nullopt;  // auth-int only
}

}  // namespace

std::optional<Credentials> parseCredentials(const std::string& text, std::string* why) {
  const std::size_t colon = text.find(':');
  if (colon == std::string::npos || colon == 0) {
    if (why) *why = "credentials are USER:PASSWORD[@REALM]";
    return std::nullopt;
  }
  Credentials c;
  c.user = text.substr(0, colon);
  std::string rest = text.substr(colon + 1);
  if (const std::size_t at = rest.rfind('@'); at != std::string::npos) {
    c.realm = rest.substr(at + 1);
    rest.erase(at);
  }
  c.password = rest;
  for (const std::string* part : {&c.user, &c.realm}) {
    for (char ch : *part) {
      if (ch == '"' || ch == '\\' || static_cast<unsigned char>(ch) < 0x20) {
        if (why) *why = "a user or realm with a quote, a backslash or a control character";
        return std::nullopt;
      }
    }
  }
  return c;
}

std::string digestResponse(const DigestInput& in) {
  const EVP_MD* md = digestOf(in.algorithm);
  if (!md) return {};
  const std::string ha1 = hexDigest(md, in.user + ":" + in.realm + ":" + in.password);
  const std::string ha2 = hexDigest(md, in.method + ":" + in.uri);
  if (in.qop.empty()) return hexDigest(md, ha1 + ":" + in.nonce + ":" + ha2);
  return hexDigest(md, ha1 + ":" + in.nonce + ":" + in.nc + ":" + in.cnonce + ":" + in.qop + ":" + ha2);
}

std::optional<std::pair<std::string, std::string>> answerChallenge(const osip_message_t* response,
                                                                   const osip_message_t* request,
                                                                   const std::vector<Credentials>& credentials) {
  const bool proxy = status(response) == 407;
  const osip_list_t* challenges = proxy ? &response->proxy_authenticates : &response->www_authenticates;
  // The best challenge this side can answer: SHA-256 before MD5 (RFC 8760 2.4).
  osip_www_authenticate_t* best = nullptr;
  const Credentials* chosen = nullptr;
  int bestRank = 0;
  for (int i = 0; i < osip_list_size(challenges); ++i) {
    auto* c = static_cast<osip_www_authenticate_t*>(osip_list_get(challenges, i));
    if (!c || !c->auth_type || lower(c->auth_type) != "digest" || !c->nonce) continue;
    const std::string algorithm = unquote(c->algorithm);
    if (!digestOf(algorithm) || !chooseQop(unquote(c->qop_options))) continue;
    const std::string realm = unquote(c->realm);
    const Credentials* match = nullptr;
    for (const auto& cred : credentials)
      if (cred.realm.empty() || cred.realm == realm) {
        match = &cred;
        break;
      }
    if (!match) continue;
    const int rank = lower(algorithm) == "sha-256" ? 2 : 1;
    if (rank > bestRank) {
      best = c;
      chosen = match;
      bestRank = rank;
    }
  }
  if (!best) return std::nullopt;

  DigestInput in;
  in.algorithm = unquote(best->algorithm).empty() ? "MD5" : unquote(best->algorithm);
  in.user = chosen->user;
  in.realm = unquote(best->realm);
  in.password = chosen->password;
  in.method = method(request);
  in.uri = requestUri(request);
  in.nonce = unquote(best->nonce);
  in.qop = *chooseQop(unquote(best->qop_options));
  in.nc = "00000001";  // a fresh nonce answered once
  in.cnonce = detail::randomHex(8);
  std::string value = "Digest username=\"" + in.user + "\", realm=\"" + in.realm + "\", nonce=\"" + in.nonce +
                      "\", uri=\"" + in.uri + "\", response=\"" + digestResponse(in) + "\", algorithm=" + in.algorithm;
  if (!in.qop.empty()) value += ", qop=" + in.qop + ", nc=" + in.nc + ", cnonce=\"" + in.cnonce + "\"";
  if (best->opaque) value += ", opaque=\"" + unquote(best->opaque) + "\"";
  return std::pair{std::string(proxy ? "Proxy-Authorization" : "Authorization"), value};
}

DigestServer::DigestServer(std::vector<Credentials> accounts, bool sha256)
    : accounts_(std::move(accounts)),
      sha256_(sha256),
      realm_(accounts_.empty() || accounts_.front().realm.empty() ? "daily-devserver" : accounts_.front().realm),
      secret_(detail::randomHex(32)) {}

std::string DigestServer::nonce(std::chrono::system_clock::time_point now) const {
  char time[17];
  std::snprintf(time, sizeof time, "%016llx",
                static_cast<unsigned long long>(std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count()));
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()), reinterpret_cast<const unsigned char*>(time), 16,
       mac, &length);
  std::string out = time;
  char byte[3];
  for (unsigned int i = 0; i < 16 && i < length; ++i) {
    std::snprintf(byte, sizeof byte, "%02x", mac[i]);
    out += byte;
  }
  return out;
}

bool DigestServer::ours(const std::string& value, std::chrono::system_clock::time_point now, bool* stale) const {
  *stale = false;
  if (value.size() != 48 || value.find_first_not_of("0123456789abcdef") != std::string::npos) return false;
  // The time it names is the peer's to choose: compared in seconds, never converted to a time_point (a forged one
  // far in the future would overflow the clock's nanoseconds).
  const unsigned long long issued = std::strtoull(value.substr(0, 16).c_str(), nullptr, 16);
  const auto nowSeconds = static_cast<unsigned long long>(
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count());
  if (issued > nowSeconds + 5) return false;  // not made by us: we make none in the future
  const auto issuedAt = std::chrono::system_clock::time_point(std::chrono::seconds(static_cast<long long>(issued)));
  const std::string expected = nonce(issuedAt);
  if (CRYPTO_memcmp(expected.data(), value.data(), expected.size()) != 0) return false;
  *stale = nowSeconds - std::min(issued, nowSeconds) > static_cast<unsigned long long>(kNonceLifetime.count());
  return true;
}

DigestServer::Verdict DigestServer::check(const osip_message_t* request, std::chrono::system_clock::time_point now) const {
  Verdict verdict = Verdict::Missing;
  for (int i = 0; i < osip_list_size(&request->authorizations); ++i) {
    auto* a = static_cast<osip_authorization_t*>(osip_list_get(&request->authorizations, i));
    if (!a || !a->auth_type || lower(a->auth_type) != "digest" || unquote(a->realm) != realm_) continue;
    verdict = Verdict::Wrong;
    const std::string user = unquote(a->username);
    const Credentials* account = nullptr;
    for (const auto& c : accounts_)
      if (c.user == user && (c.realm.empty() || c.realm == realm_)) account = &c;
    bool stale = false;
    if (!account || !ours(unquote(a->nonce), now, &stale)) continue;
    DigestInput in;
    in.algorithm = unquote(a->algorithm).empty() ? "MD5" : unquote(a->algorithm);
    in.user = user;
    in.realm = realm_;
    in.password = account->password;
    in.method = method(request);
    in.uri = unquote(a->uri);
    in.nonce = unquote(a->nonce);
    in.qop = unquote(a->message_qop);
    in.nc = unquote(a->nonce_count);
    in.cnonce = unquote(a->cnonce);
    const std::string target = requestUri(request);
    const std::size_t at = target.find('@');
    const std::string withoutUser = at == std::string::npos ? target : target.substr(0, target.find(':') + 1) + target.substr(at + 1);
    if (in.uri != target && in.uri != withoutUser) continue;
    const std::string algorithm = lower(in.algorithm);
    if (algorithm != "md5" && !(sha256_ && algorithm == "sha-256")) continue;
    if (!in.qop.empty() && lower(in.qop) != "auth") continue;
    const std::string expected = digestResponse(in);
    const std::string given = lower(unquote(a->response));
    if (expected.empty() || expected.size() != given.size() ||
        CRYPTO_memcmp(expected.data(), given.data(), expected.size()) != 0)
      continue;
    if (stale) return Verdict::Stale;
    return Verdict::Accepted;
  }
  return verdict;
}

std::vector<std::string> DigestServer::challenges(std::chrono::system_clock::time_point now, bool stale) const {
  std::vector<std::string> out;
  for (const char* algorithm : {"SHA-256", "MD5"}) {
    if (!sha256_ && std::string(algorithm) == "SHA-256") continue;
    out.push_back("Digest realm=\"" + realm_ + "\", nonce=\"" + nonce(now) + "\", algorithm=" + algorithm +
                  ", qop=\"auth\"" + (stale ? ", stale=true" : ""));
  }
  return out;
}

}  // namespace daily::devserver::sip
