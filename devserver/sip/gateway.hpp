#pragma once

// The devserver's SIP gateway: a SIP user agent that answers dial-in calls into rooms, dials out, and transfers
// legs with REFER (RFC 3515) or by bridging (sipCallTransfer). It is built in RFC 3261's layers, each in its own
// file under sip/: transport (UDP, TCP and TLS; flows, Via and Contact), transaction (§17), dialog (§12), and the application
// (gateway.cpp: legs, rooms, transfers, events, webhooks). Messages are parsed and built with libosip2 behind
// sip/message. Runs on the devserver's io thread.

#include "common/protocol.hpp"
#include "hub.hpp"
#include "media/engine.hpp"
#include "sip/auth.hpp"

#include <asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace daily::devserver {

struct GatewayOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0 = any free port
  /// RFC 3261 T1 (RTT estimate) and T2 (cap of non-INVITE retransmission intervals).
  std::chrono::milliseconds t1{500};
  std::chrono::milliseconds t2{4000};
  /// Timers B/F/H/J: how long a transaction waits for its final answer (RFC 3261: 64*T1 = 32 s).
  std::chrono::milliseconds transactionTimeout{32000};
  /// How long a dial-in INVITE rings (180) before the gateway answers it; 0 = answer at once.
  std::chrono::milliseconds answerDelay{0};
  /// SIP over TCP: its port (unset = the UDP port's number, 0 = any free port), how long a begun message or a
  /// stalled write may take, and how long a connection may be idle, before the connection is closed.
  std::optional<std::uint16_t> tcpPort;
  std::chrono::milliseconds tcpMessageTimeout{10000};
  std::chrono::milliseconds tcpIdleTimeout{std::chrono::minutes(15)};
  /// What the gateway answers a 401 or 407 to its INVITE, REFER, INFO or BYE with (RFC 3261 22.2), per realm.
  std::vector<sip::Credentials> credentials;
  /// An outbound proxy for the calls the gateway makes (RFC 3261 8.1.2): "sip:HOST[:PORT][;transport=tcp|tls]"
  /// or "sips:HOST[:PORT]", HOST an IP address (TLS needs tlsCertFile). Their INVITEs go to it with a Route to it (";lr" added), and it routes them by their
  /// Request-URI, so any target host is then fine. Empty: INVITEs go straight to the target.
  std::string outboundProxy;
  /// SIP over TLS, served when both PEM files are given (the certificate chain, leaf first, and its key): on
  /// tlsPort (unset = the UDP port's number + 1 when `port` names one, else any free port; 0 = any free port).
  /// The certificates of the TLS peers the gateway connects to are verified, against tlsCaFile (empty: the
  /// system's CAs), unless tlsVerifyPeers is false. Without them, sips: and transport=tls targets are refused.
  std::optional<std::uint16_t> tlsPort;
  std::string tlsCertFile;
  std::string tlsKeyFile;
  std::string tlsCaFile;
  bool tlsVerifyPeers = true;
  /// The DNS servers that find the hosts named in the gateway's targets and outbound proxy (RFC 3263: NAPTR, SRV,
  /// A/AAAA): "IP[:PORT],..."; empty: the system's (/etc/resolv.conf).
  std::string dnsServers;
  /// When not empty, a dial-in INVITE must prove one of these accounts (digest, RFC 7616): it is challenged with
  /// 401 until it does. One realm: the first account's, else "daily-devserver".
  std::vector<sip::Credentials> dialInCredentials;
  /// Challenge dial-ins with SHA-256 too (first), not MD5 alone (which is what Debian's baresip and sipp answer).
  bool dialInSha256 = false;
  /// The calls' RTP sessions (media/engine.hpp): even ports of [rtpFirstPort, rtpLastPort], and how long a call
  /// may send no RTP while it should before it is hung up (0 = never).
  std::uint16_t rtpFirstPort = 10000;
  std::uint16_t rtpLastPort = 20000;
  std::chrono::milliseconds rtpTimeout{0};
  /// SRTP (SDES) on calls whose signaling is TLS (media/srtp.hpp); calls over UDP and TCP never use it.
  media::SrtpPolicy srtp = media::SrtpPolicy::Optional;
};

class Gateway {
 public:
  /// Answers a telephony request: error set on failure, result otherwise.
  using Reply = std::function<void(const std::optional<protocol::WireError>& error, const nlohmann::json& result)>;

  /// Throws std::invalid_argument for an outbound proxy that is not a SIP URI over UDP, TCP or TLS, for DNS
  /// servers it cannot read, and for TLS files that are missing, unreadable, or given one without the other.
  Gateway(asio::io_context& io, Hub& hub, GatewayOptions options);
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  /// Binds the UDP socket and the TCP listener; throws std::system_error when it cannot.
  void start();
  std::uint16_t port() const;  // UDP
  std::uint16_t tcpPort() const;
  std::uint16_t tlsPort() const;  // 0 when TLS is not served
  /// Closes the socket and abandons every transaction (no callbacks afterwards).
  void stop();

  /// replaces: empty, or the session of another SIP leg of the room whose party sessionId's peer is handed to
  /// (an attended transfer: Refer-To is that leg's target with a Replaces of its dialog; toEndPoint is empty).
  void sipRefer(const std::string& room, const std::string& sessionId, const std::string& toEndPoint,
                const nlohmann::json& headers, const std::string& referredBy, const std::string& replaces, Reply reply);
  void sipCallTransfer(const std::string& room, const std::string& sessionId, const std::string& toEndPoint,
                       Reply reply);
  /// params: {"sipUri", "displayName", "userId", ...} as checked by the signaling layer.
  void startDialOut(const std::string& room, const nlohmann::json& params, Reply reply);
  void stopDialOut(const std::string& room, const std::string& sessionId, Reply reply);
  /// Hangs up the call of a SIP participant, dial-in or dial-out (updateParticipant's eject): CANCEL before the
  /// answer, BYE after; the room hears participant-left and dialin-stopped / dialout-stopped.
  void hangUpParticipant(const std::string& room, const std::string& sessionId, Reply reply);
  /// method: "telephone-event" (RFC 4733 in the call's RTP), "sip-info" (one INFO per tone), or "auto" (the
  /// first when the call negotiated telephone-event). The result says which: {"method": ...}.
  void sendDtmf(const std::string& room, const std::string& sessionId, const std::string& tones, int durationMs,
                const std::string& method, Reply reply);
  /// The media engine the calls' RTP runs in, for the bots' audio (started and stopped with the gateway).
  media::Engine& media();
  /// The media counters of a SIP participant's call (its RTP session), open or recently ended. Any thread.
  std::optional<media::MediaCounters> mediaCounters(const std::string& sessionId) const;
  /// Hangs up every leg of a room that is being deleted.
  void roomDeleted(const std::string& room);
  /// Handles one datagram as if it had arrived on the SIP socket from 127.0.0.1:9 (the discard port, where any
  /// answer goes). For the fuzzer and torture tests: the same code path as the socket's.
  void handleDatagram(std::string_view datagram);
  /// The events a client that just joined room should get about the room's SIP side (dialin-ready).
  void greet(const Room& room, const std::function<void(const std::string& action, const nlohmann::json&)>& send);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace daily::devserver
