#include <daily/error.hpp>
#include <daily/webhook.hpp>

#include "common/base64.hpp"
#include "common/openssl_init.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdlib>

namespace daily {
namespace {

std::optional<std::string> hmacBase64(std::string_view secret, std::string_view timestamp, std::string_view body) {
  auto key = detail::base64Decode(secret);
  if (!key) return std::nullopt;
  std::string message;
  message.reserve(timestamp.size() + 1 + body.size());
  message.append(timestamp).append(".").append(body);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  detail::initOpenSsl();
  HMAC(EVP_sha256(), key->data(), static_cast<int>(key->size()), reinterpret_cast<const unsigned char*>(message.data()),
       message.size(), mac, &len);
  return detail::base64Encode(std::string_view(reinterpret_cast<const char*>(mac), len));
}

}  // namespace

std::string signWebhook(std::string_view secret, std::string_view timestamp, std::string_view rawBody) {
  auto sig = hmacBase64(secret, timestamp, rawBody);
  if (!sig) throw Error(ErrorCode::InvalidArgument, "the webhook secret is not base64");
  return *sig;
}

bool verifyWebhookSignature(std::string_view secret, std::string_view timestamp, std::string_view rawBody,
                            std::string_view signature, const WebhookVerifyOptions& options) {
  if (timestamp.empty() || timestamp.size() > 20 || signature.empty()) return false;
  for (char c : timestamp)
    if (c < '0' || c > '9') return false;
  long long ts = std::strtoll(std::string(timestamp).c_str(), nullptr, 10);
  if (ts > 100'000'000'000LL) ts /= 1000;  // milliseconds
  const auto now = options.now.value_or(std::chrono::system_clock::now());
  const long long nowSecs = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  if (std::llabs(nowSecs - ts) > options.replayWindow.count()) return false;
  auto expected = hmacBase64(secret, timestamp, rawBody);
  if (!expected || expected->size() != signature.size()) return false;
  return CRYPTO_memcmp(expected->data(), signature.data(), signature.size()) == 0;
}

WebhookEvent parseWebhookEvent(std::string_view rawBody) {
  const nlohmann::json j = nlohmann::json::parse(rawBody, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw Error(ErrorCode::InvalidArgument, "webhook body is not a JSON object");
  auto str = [&](const char* k) {
    auto it = j.find(k);
    if (it == j.end() || !it->is_string())
      throw Error(ErrorCode::InvalidArgument, std::string("webhook body has no string \"") + k + "\"");
    return it->get<std::string>();
  };
  WebhookEvent e;
  e.version = str("version");
  e.type = str("type");
  e.id = str("id");
  auto payload = j.find("payload");
  if (payload == j.end() || !payload->is_object()) throw Error(ErrorCode::InvalidArgument, "webhook body has no payload object");
  e.payload = *payload;
  auto ts = j.find("event_ts");
  if (ts != j.end() && ts->is_number()) e.eventTs = ts->get<double>();
  return e;
}

}  // namespace daily
