#include "media/srtp.hpp"

#include "common/base64.hpp"

#include <openssl/rand.h>
#include <srtp2/srtp.h>

#include <cstring>
#include <mutex>
#include <stdexcept>

namespace daily::devserver::media {
namespace {

constexpr std::string_view kSuite80 = "AES_CM_128_HMAC_SHA1_80";
constexpr std::string_view kSuite32 = "AES_CM_128_HMAC_SHA1_32";

bool allDigits(std::string_view s) { return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos; }

// Splits at runs of spaces and tabs (RFC 4568's 1*WSP).
std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t at = 0;
  while (at < s.size()) {
    const std::size_t start = s.find_first_not_of(" \t", at);
    if (start == std::string_view::npos) break;
    const std::size_t end = std::min(s.find_first_of(" \t", start), s.size());
    out.push_back(s.substr(start, end - start));
    at = end;
  }
  return out;
}

void initialiseOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (srtp_init() != srtp_err_status_ok) throw std::runtime_error("libsrtp2 failed to initialise");
  });
}

void setSuite(srtp_crypto_policy_t* policy, SrtpSuite suite) {
  if (suite == SrtpSuite::AesCm128HmacSha1_32) srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(policy);
  else srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(policy);
}

}  // namespace

const char* suiteName(SrtpSuite suite) {
  return suite == SrtpSuite::AesCm128HmacSha1_32 ? kSuite32.data() : kSuite80.data();
}

std::optional<Crypto> parseCrypto(std::string_view value) {
  const auto parts = words(value);
  if (parts.size() != 3) return std::nullopt;  // session parameters (a fourth word on) are not taken
  Crypto c;
  if (!allDigits(parts[0]) || parts[0].size() > 9) return std::nullopt;
  c.tag = std::stoi(std::string(parts[0]));
  if (parts[1] == kSuite80) c.suite = SrtpSuite::AesCm128HmacSha1_80;
  else if (parts[1] == kSuite32) c.suite = SrtpSuite::AesCm128HmacSha1_32;
  else return std::nullopt;
  std::string_view key = parts[2];
  constexpr std::string_view kInline = "inline:";
  if (key.substr(0, kInline.size()) != kInline || key.find(';') != std::string_view::npos) return std::nullopt;
  key.remove_prefix(kInline.size());
  const std::size_t bar = key.find('|');
  for (std::size_t at = bar; at != std::string_view::npos;) {
    const std::size_t next = key.find('|', at + 1);
    std::string_view field = key.substr(at + 1, next == std::string_view::npos ? std::string_view::npos : next - at - 1);
    if (field.substr(0, 2) == "2^") field.remove_prefix(2);
    if (!allDigits(field)) return std::nullopt;  // an MKI ("value:length") or nonsense
    at = next;
  }
  auto raw = detail::base64Decode(key.substr(0, bar));
  if (!raw || raw->size() != kSrtpKeyBytes) return std::nullopt;
  c.key = std::move(*raw);
  return c;
}

std::string formatCrypto(const Crypto& crypto) {
  return std::to_string(crypto.tag) + " " + suiteName(crypto.suite) + " inline:" + detail::base64Encode(crypto.key);
}

std::string newSrtpKey() {
  std::string key(kSrtpKeyBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), static_cast<int>(key.size())) != 1)
    throw std::runtime_error("OpenSSL RAND_bytes failed");
  return key;
}

struct SrtpSession::Impl {
  srtp_t out = nullptr;
  srtp_t in = nullptr;
  ~Impl() {
    if (out) srtp_dealloc(out);
    if (in) srtp_dealloc(in);
  }
};

SrtpSession::SrtpSession(const SrtpKeys& keys) : impl_(std::make_unique<Impl>()) {
  initialiseOnce();
  if (keys.local.size() != kSrtpKeyBytes || keys.remote.size() != kSrtpKeyBytes)
    throw std::runtime_error("an SRTP key is 30 bytes");
  auto create = [&](srtp_t* session, const std::string& key, srtp_ssrc_type_t direction) {
    srtp_policy_t policy;
    std::memset(&policy, 0, sizeof policy);
    setSuite(&policy.rtp, keys.suite);
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
    policy.ssrc.type = direction;
    std::string copy = key;  // libsrtp2 takes a non-const key, and copies it
    policy.key = reinterpret_cast<unsigned char*>(copy.data());
    policy.window_size = 128;
    // RFC 4733's end packets are sent three times; libsrtp2 checks our own sequence numbers for repeats too.
    policy.allow_repeat_tx = 1;
    if (srtp_create(session, &policy) != srtp_err_status_ok) throw std::runtime_error("libsrtp2 refused the SRTP keys");
  };
  create(&impl_->out, keys.local, ssrc_any_outbound);
  create(&impl_->in, keys.remote, ssrc_any_inbound);
}

SrtpSession::~SrtpSession() = default;

std::size_t SrtpSession::trailer() { return SRTP_MAX_TRAILER_LEN; }

bool SrtpSession::protect(std::vector<std::uint8_t>& packet) {
  int size = static_cast<int>(packet.size());
  packet.resize(packet.size() + SRTP_MAX_TRAILER_LEN);
  if (srtp_protect(impl_->out, packet.data(), &size) != srtp_err_status_ok) return packet.clear(), false;
  packet.resize(static_cast<std::size_t>(size));
  return true;
}

std::optional<std::size_t> SrtpSession::unprotect(char* data, std::size_t size) {
  // libsrtp2 reads a 12-byte header before it checks anything.
  if (size < 12 || size > 65535) return std::nullopt;
  int n = static_cast<int>(size);
  if (srtp_unprotect(impl_->in, data, &n) != srtp_err_status_ok) return std::nullopt;
  return static_cast<std::size_t>(n);
}

}  // namespace daily::devserver::media
