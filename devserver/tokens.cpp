#include "tokens.hpp"

#include "common/base64.hpp"
#include "common/openssl_init.hpp"
#include "common/protocol.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <chrono>

namespace daily::devserver {
namespace {

using nlohmann::json;
using detail::base64UrlDecode;
using detail::base64UrlEncode;

constexpr std::size_t kMaxTokenBytes = 8192;

std::optional<TokenClaims> refuse(TokenError* error, std::string type, std::string message) {
  if (error) *error = TokenError{std::move(type), std::move(message)};
  return std::nullopt;
}

}  // namespace

std::int64_t unixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

json TokenClaims::toProperties() const {
  json p = json::object();
  if (!roomName.empty()) p["room_name"] = roomName;
  p["is_owner"] = isOwner;
  if (!userName.empty()) p["user_name"] = userName;
  if (!userId.empty()) p["user_id"] = userId;
  if (exp) p["exp"] = *exp;
  if (nbf) p["nbf"] = *nbf;
  p["permissions"] = {{"canAdmin", canAdmin}};
  return p;
}

TokenSigner::TokenSigner(std::string secret, std::string domainId)
    : secret_(std::move(secret)), domainId_(std::move(domainId)) {
  detail::initOpenSsl();
}

std::string TokenSigner::sign(std::string_view input) const {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  return std::string(reinterpret_cast<const char*>(mac), len);
}

std::optional<std::string> TokenSigner::create(const json& properties, std::string* why) const {
  auto fail = [&](const std::string& message) -> std::optional<std::string> {
    if (why) *why = message;
    return std::nullopt;
  };
  if (!properties.is_object()) return fail("properties must be an object");
  json claims{{"d", domainId_}, {"iat", unixNow()}};
  for (const auto& [key, value] : properties.items()) {
    if (key == "room_name") {
      if (!value.is_string()) return fail("room_name must be a string");
      claims["r"] = value;
    } else if (key == "is_owner") {
      if (!value.is_boolean()) return fail("is_owner must be a boolean");
      claims["o"] = value;
    } else if (key == "user_name") {
      if (!value.is_string() || value.get_ref<const std::string&>().size() > 256)
        return fail("user_name must be a string of at most 256 bytes");
      claims["u"] = value;
    } else if (key == "user_id") {
      if (!value.is_string() || value.get_ref<const std::string&>().size() > 36)
        return fail("user_id must be a string of at most 36 characters");
      claims["ud"] = value;
    } else if (key == "exp" || key == "nbf") {
      if (!value.is_number_integer()) return fail(key + " must be an integer (seconds since the epoch)");
      claims[key] = value;
    } else if (key == "permissions") {
      if (!value.is_object()) return fail("permissions must be an object");
      json p = json::object();
      if (auto ca = value.find("canAdmin"); ca != value.end()) {
        if (!protocol::isCanAdminValue(*ca)) return fail("permissions.canAdmin must be a boolean or a list of participants/streaming/transcription");
        p["ca"] = *ca;
      }
      if (auto hp = value.find("hasPresence"); hp != value.end()) {
        if (!hp->is_boolean()) return fail("permissions.hasPresence must be a boolean");
        p["hp"] = *hp;
      }
      claims["p"] = std::move(p);
    }
    // Other Daily properties (enable_screenshare, start_video_off, ...) mean nothing here and are ignored.
  }
  const std::string header = base64UrlEncode(R"({"alg":"HS256","typ":"JWT"})");
  const std::string input = header + "." + base64UrlEncode(claims.dump());
  return input + "." + base64UrlEncode(sign(input));
}

std::optional<TokenClaims> TokenSigner::verify(std::string_view token, std::string_view room, bool ignoreNbf,
                                               TokenError* error) const {
  if (token.size() > kMaxTokenBytes) return refuse(error, "not-allowed", "meeting token is too long");
  const std::size_t dot1 = token.find('.');
  const std::size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos)
    return refuse(error, "not-allowed", "meeting token is not a JWT");
  auto header = base64UrlDecode(token.substr(0, dot1));
  auto payload = base64UrlDecode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  auto signature = base64UrlDecode(token.substr(dot2 + 1));
  if (!header || !payload || !signature) return refuse(error, "not-allowed", "meeting token is not valid base64url");
  json h = json::parse(*header, nullptr, false);
  if (!h.is_object() || h.value("alg", json()) != "HS256")
    return refuse(error, "not-allowed", "meeting token must be signed with HS256");
  const std::string expected = sign(token.substr(0, dot2));
  if (signature->size() != expected.size() || CRYPTO_memcmp(signature->data(), expected.data(), expected.size()) != 0)
    return refuse(error, "not-allowed", "meeting token signature is invalid");
  json c = json::parse(*payload, nullptr, false);
  if (!c.is_object()) return refuse(error, "not-allowed", "meeting token payload is not a JSON object");

  TokenClaims claims;
  auto str = [&](const char* k, std::string& out) {
    auto it = c.find(k);
    if (it == c.end()) return true;
    if (!it->is_string()) return false;
    out = it->get<std::string>();
    return true;
  };
  auto num = [&](const char* k, std::optional<std::int64_t>& out) {
    auto it = c.find(k);
    if (it == c.end()) return true;
    if (!it->is_number()) return false;
    out = it->get<std::int64_t>();
    return true;
  };
  if (!str("r", claims.roomName) || !str("u", claims.userName) || !str("ud", claims.userId) || !num("exp", claims.exp) ||
      !num("nbf", claims.nbf))
    return refuse(error, "not-allowed", "meeting token has a claim of the wrong type");
  if (auto o = c.find("o"); o != c.end()) {
    if (!o->is_boolean()) return refuse(error, "not-allowed", "meeting token has a claim of the wrong type");
    claims.isOwner = o->get<bool>();
  }
  if (auto p = c.find("p"); p != c.end() && p->is_object()) {
    if (auto ca = p->find("ca"); ca != p->end()) {
      if (!protocol::isCanAdminValue(*ca)) return refuse(error, "not-allowed", "meeting token has an invalid canAdmin permission");
      claims.canAdmin = *ca;
    }
  }
  const std::int64_t now = unixNow();
  if (claims.exp && *claims.exp <= now) return refuse(error, "exp-token", "meeting token has expired");
  if (!ignoreNbf && claims.nbf && *claims.nbf > now)
    return refuse(error, "nbf-token", "meeting token is not valid yet (nbf is in the future)");
  if (!room.empty() && !claims.roomName.empty() && claims.roomName != room)
    return refuse(error, "not-allowed", "meeting token is for another room");
  return claims;
}

}  // namespace daily::devserver
