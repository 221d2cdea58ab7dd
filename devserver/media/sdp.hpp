#pragma once

// SDP offer/answer (RFC 3264) for the gateway's one audio stream per call, over libosip2's SDP parser. The
// gateway speaks PCMU and PCMA, and telephone-event/8000 (RFC 4733) for DTMF; it sends 20 ms packets. Over TLS
// signaling it also speaks SRTP keyed by SDES (RFC 4568: RTP/SAVP with a=crypto); over anything else it neither
// offers nor takes SDES keys, which would travel in clear.

#include "media/rtp.hpp"
#include "media/srtp.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace daily::devserver::media {

enum class Direction { SendRecv, SendOnly, RecvOnly, Inactive };

/// What one side of a negotiated stream does, seen from the gateway: where it sends, in which format, and
/// whether it sends and receives at all.
struct Negotiated {
  std::string address;      // the peer's RTP address (its c= line); empty: none (a hold with c=0.0.0.0)
  std::uint16_t port = 0;
  int payloadType = kPcmuPayloadType;
  Codec codec = Codec::Pcmu;
  int telephoneEvent = -1;  // its payload type, -1 when the peer did not take telephone-event
  bool send = true;         // the gateway may send RTP
  bool receive = true;      // the peer sends RTP
  std::optional<SrtpKeys> srtp;  // SRTP's suite and keys; none: plain RTP
  bool operator==(const Negotiated& o) const {
    return address == o.address && port == o.port && payloadType == o.payloadType && codec == o.codec &&
           telephoneEvent == o.telephoneEvent && send == o.send && receive == o.receive && srtp == o.srtp;
  }
};

/// The gateway's side of one dialog's offer/answer: its o= line keeps one session id for the whole dialog, and
/// its version grows by one each time the description changes (RFC 3264 8). With an SRTP policy other than Off
/// (a dialog whose signaling is TLS) it offers RTP/SAVP with SDES keys of its own (one per suite, for the whole
/// dialog) and takes an RTP/SAVP offer; Optional also takes a plain one, Required does not.
class LocalSdp {
 public:
  LocalSdp(std::string host, std::uint16_t rtpPort, SrtpPolicy srtp = SrtpPolicy::Off);

  /// Whether the next offer is SRTP.
  bool offersSrtp() const { return srtp_ != SrtpPolicy::Off && !fellBack_; }
  /// Optional policy: the peer refused an SRTP offer (488), so later offers are plain RTP (and the answer to one
  /// must be plain). False, changing nothing, under any other policy or when already done.
  bool fallBackToRtp();

  /// The answer to offer, and what it negotiated; nullopt (with *why) when the offer is not SDP, or offers no
  /// audio stream over RTP/AVP (or, when secure, RTP/SAVP with a crypto line it takes) in a format the gateway
  /// speaks (the INVITE is then answered 488).
  std::optional<std::string> answer(const std::string& offer, Negotiated* result, std::string* why);
  /// An offer: PCMU, PCMA and telephone-event, sendrecv (or `direction`); RTP/SAVP with both suites when secure.
  std::string offer(Direction direction = Direction::SendRecv);
  /// Reads the answer to the last offer; false (with *why) when it is not a usable answer to it.
  bool accept(const std::string& answer, Negotiated* result, std::string* why) const;

 private:
  std::string body(const std::string& media);

  const std::string& keyFor(SrtpSuite suite) const { return suite == SrtpSuite::AesCm128HmacSha1_32 ? key32_ : key80_; }

  std::string host_;
  std::uint16_t port_;
  SrtpPolicy srtp_;
  bool fellBack_ = false;
  std::string key80_, key32_;  // with SRTP: the keys the gateway sends with, by suite
  std::uint64_t sessionId_;
  std::uint64_t version_;
  std::string last_;  // the media part of the last description, to tell whether it changed
};

}  // namespace daily::devserver::media
