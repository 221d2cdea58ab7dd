#pragma once

// daily-devserver as a library: the binary's main() and the in-process test fixtures both use this.

#include "media/engine.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace daily::devserver {

struct Options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;     // HTTP + websocket; 0 = any free port
  std::uint16_t sipPort = 0;  // UDP; 0 = any free port
  std::optional<std::uint16_t> sipTcpPort;  // TCP; unset = the UDP port's number, 0 = any free port
  std::chrono::milliseconds sipTcpMessageTimeout{10000};  // a begun message, or a stalled write, on a connection
  std::chrono::milliseconds sipTcpIdleTimeout{std::chrono::minutes(15)};
  // "USER:PASSWORD[@REALM]": credentials for peers that challenge the gateway's requests (401/407), per realm
  // (none: any realm). The constructor throws std::invalid_argument for one not of that form.
  std::vector<std::string> sipCredentials;
  // "USER:PASSWORD[@REALM]": when any are given, a dial-in INVITE must prove one of them (digest authentication;
  // it is challenged with 401 until it does). One realm: the first one's, else "daily-devserver".
  std::vector<std::string> sipDialInCredentials;
  bool sipDialInSha256 = false;  // challenge dial-ins with SHA-256 too (first), not MD5 alone
  // "sip:HOST[:PORT][;transport=tcp|tls]": the outbound proxy the gateway's dial-outs and bridged calls go through;
  // empty: straight to the target. The constructor throws std::invalid_argument for a bad one.
  std::string sipOutboundProxy;
  // "IP[:PORT],...": the DNS servers that find the hosts the gateway dials (RFC 3263); empty: the system's.
  std::string sipDnsServers;
  // SIP over TLS, served when both PEM files are given, on sipTlsPort (unset = the UDP port's number + 1 when
  // sipPort names one, else any free port). The TLS peers the gateway connects to are verified against
  // sipTlsCaFile (empty: the system's CAs) unless sipTlsVerifyPeers is false.
  std::optional<std::uint16_t> sipTlsPort;
  std::string sipTlsCertFile;
  std::string sipTlsKeyFile;
  std::string sipTlsCaFile;
  bool sipTlsVerifyPeers = true;
  std::string apiKey = "devserver-api-key";
  std::chrono::milliseconds sipT1{500};
  std::chrono::milliseconds sipTransactionTimeout{32000};
  std::chrono::milliseconds sipAnswerDelay{0};
  // RTP: each call's session on an even port of [rtpFirstPort, rtpLastPort]; a call that should be sending RTP and
  // has sent none for rtpTimeout is hung up (0 = never).
  std::uint16_t rtpFirstPort = 10000;
  std::uint16_t rtpLastPort = 20000;
  std::chrono::milliseconds rtpTimeout{0};
  // SRTP keyed by SDES on calls over TLS: optional (taken and offered, plain RTP after a 488), required, or off.
  media::SrtpPolicy sipSrtp = media::SrtpPolicy::Optional;
  std::chrono::milliseconds webhookTimeout{5000};    // per delivery attempt
  std::chrono::milliseconds webhookRetryBase{1000};  // first retry delay; doubles per retry
  // PEM files: with both, HTTP and the websocket are served over TLS only (https:// and wss:// room URLs).
  std::string tlsCertFile;  // the certificate chain, leaf first
  std::string tlsKeyFile;
};

class Devserver {
 public:
  /// Throws std::invalid_argument when only one of tlsCertFile and tlsKeyFile is given.
  explicit Devserver(Options options);
  ~Devserver();
  Devserver(const Devserver&) = delete;
  Devserver& operator=(const Devserver&) = delete;

  /// Binds both ports (throws std::system_error when it cannot) and serves on a thread of its own.
  void start();
  /// Binds both ports and serves on the calling thread until stop() (from a signal handler's thread, say).
  void run();
  /// Stops serving; safe from any thread; idempotent.
  void stop();

  std::string httpUrl() const;
  std::uint16_t port() const;
  std::string sipHost() const;
  std::uint16_t sipPort() const;  // UDP
  std::uint16_t sipTcpPort() const;
  std::uint16_t sipTlsPort() const;  // 0 when SIP over TLS is not served
  /// The media counters of a SIP participant's call (by its session id), open or recently ended. Any thread.
  std::optional<media::MediaCounters> mediaCounters(const std::string& sessionId) const;
  /// The sums of every call's and bot track's media counters, and how many sessions are open.
  media::MediaCounters mediaTotals(std::size_t* open = nullptr) const;
  /// The one JSON line the binary prints when ready.
  std::string readyLine() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace daily::devserver
