#pragma once

// SRTP (RFC 3711) for calls whose signaling is TLS, keyed by SDES (RFC 4568): the `a=crypto` attribute's
// grammar, and one session's pair of libsrtp2 contexts (what the gateway sends, under its own key; what it
// receives, under the peer's). Keys travel in the SDP, so they are offered and taken only over TLS (the gateway
// decides that in media/sdp); here is only the cryptography.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace daily::devserver::media {

/// What calls over TLS do about SRTP (calls over anything else never use it: their SDES keys would travel in
/// clear). Optional: an SRTP offer is taken, and so is a plain one; the gateway's own offers are SRTP, and one
/// refused with 488 is made again with plain RTP. Required: plain offers are refused (488) and the gateway's offers
/// are SRTP, with nothing after a 488. Off: plain RTP only, as over UDP.
enum class SrtpPolicy { Off, Optional, Required };

/// The crypto suites the gateway speaks: RFC 4568 6.2's two AES counter-mode suites (SRTCP, which the gateway does
/// not send, would always use the 80-bit tag).
enum class SrtpSuite { AesCm128HmacSha1_80, AesCm128HmacSha1_32 };
inline constexpr std::size_t kSrtpKeyBytes = 30;  // 16 bytes of master key, 14 of master salt

/// One `a=crypto:<tag> <suite> inline:<key||salt>[|lifetime]` line's value. MKIs, more than one key and session
/// parameters are not taken: a line with any of them is not acceptable (RFC 4568 6.1 lets the answerer pick among
/// the offer's lines, and the gateway always offers lines without them).
struct Crypto {
  int tag = 1;
  SrtpSuite suite = SrtpSuite::AesCm128HmacSha1_80;
  std::string key;  // kSrtpKeyBytes raw bytes
};
std::optional<Crypto> parseCrypto(std::string_view value);
std::string formatCrypto(const Crypto& crypto);  // the attribute's value, after "a=crypto:"
const char* suiteName(SrtpSuite suite);
/// kSrtpKeyBytes from OpenSSL's CSPRNG.
std::string newSrtpKey();

/// What a call's offer/answer agreed on for SRTP: the suite, the key the gateway sends with and the peer's.
struct SrtpKeys {
  SrtpSuite suite = SrtpSuite::AesCm128HmacSha1_80;
  std::string local, remote;
  bool operator==(const SrtpKeys& o) const { return suite == o.suite && local == o.local && remote == o.remote; }
  bool operator!=(const SrtpKeys& o) const { return !(*this == o); }
};

/// One session's SRTP: protects what it sends and authenticates (and checks for replays) what it receives. Any
/// SSRC is taken on either side (libsrtp2's ssrc_any_*), so a latched stream that changes SSRC keeps working.
class SrtpSession {
 public:
  /// Throws std::runtime_error when libsrtp2 refuses the keys (not kSrtpKeyBytes long).
  explicit SrtpSession(const SrtpKeys& keys);
  ~SrtpSession();
  SrtpSession(const SrtpSession&) = delete;
  SrtpSession& operator=(const SrtpSession&) = delete;

  /// Encrypts an RTP packet in place and appends its authentication tag; false when libsrtp2 refuses it.
  bool protect(std::vector<std::uint8_t>& packet);
  /// Authenticates and decrypts an SRTP packet of size bytes in place; its RTP size on success, nullopt for a
  /// forged, replayed, damaged or plain packet.
  std::optional<std::size_t> unprotect(char* data, std::size_t size);

  /// How much room a protected packet needs beyond the RTP packet.
  static std::size_t trailer();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace daily::devserver::media
