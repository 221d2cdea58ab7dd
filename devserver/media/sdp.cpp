#include "media/sdp.hpp"

#include <osipparser2/osip_port.h>
#include <osipparser2/sdp_message.h>

#include <algorithm>
#include <memory>
#include <random>
#include <vector>

namespace daily::devserver::media {
namespace {

constexpr int kTelephoneEventPayloadType = 101;  // what the gateway offers; an answer or offer may use another

using SdpPtr = std::unique_ptr<sdp_message_t, void (*)(sdp_message_t*)>;

constexpr std::size_t kMaxSdp = 16 * 1024;

// RFC 4566 5's grammar, line by line: "<type letter>=<text>", lines ending in CRLF or LF, no other control
// characters. libosip2's parser is handed nothing else: it reads past the end of some malformed bodies (a bare
// CR inside a line, a line that is not "x=", found by fuzz/fuzz_sdp.cpp).
bool wellFormed(const std::string& body) {
  if (body.empty() || body.size() > kMaxSdp) return false;
  std::size_t at = 0;
  while (at < body.size()) {
    std::size_t end = body.find('\n', at);
    if (end == std::string::npos) end = body.size();
    std::size_t stop = end;
    if (stop > at && body[stop - 1] == '\r') --stop;
    if (stop - at < 2 || body[at] < 'a' || body[at] > 'z' || body[at + 1] != '=') return false;
    for (std::size_t i = at; i < stop; ++i) {
      const auto c = static_cast<unsigned char>(body[i]);
      if (c < 0x20 && c != '\t') return false;
      if (c == 0x7f) return false;
    }
    at = end + 1;
  }
  return true;
}

SdpPtr parse(const std::string& body) {
  sdp_message_t* sdp = nullptr;
  if (!wellFormed(body) || sdp_message_init(&sdp) != 0) return {nullptr, sdp_message_free};
  SdpPtr owned(sdp, sdp_message_free);
  // It ends in a line end and some NULs, whatever the body did.
  std::string text = body;
  if (text.back() != '\n') text += "\r\n";
  text.append(8, '\0');
  if (sdp_message_parse(sdp, text.c_str()) != 0) return {nullptr, sdp_message_free};
  return owned;
}

std::string text(const char* s) { return s ? s : ""; }

bool iequals(const std::string& a, const char* b) { return osip_strcasecmp(a.c_str(), b) == 0; }

// One m= line of a parsed description, with what the gateway needs of it.
struct Media {
  std::string media, proto;
  int port = 0;
  std::vector<int> formats;
  std::string address;  // its c= (or the session's)
  Direction direction = Direction::SendRecv;
  // The formats it names by rtpmap: encoding name and clock rate.
  std::vector<std::pair<int, std::string>> rtpmaps;
  std::vector<Crypto> cryptos;  // its a=crypto lines the gateway can take, in their order

  std::string encoding(int pt) const {
    for (const auto& [type, name] : rtpmaps)
      if (type == pt) return name;
    if (pt == kPcmuPayloadType) return "PCMU/8000";
    if (pt == kPcmaPayloadType) return "PCMA/8000";
    return {};
  }
  std::optional<Codec> codec(int pt) const {
    const std::string name = encoding(pt);
    if (iequals(name, "PCMU/8000") || iequals(name, "PCMU/8000/1")) return Codec::Pcmu;
    if (iequals(name, "PCMA/8000") || iequals(name, "PCMA/8000/1")) return Codec::Pcma;
    return std::nullopt;
  }
  int telephoneEvent() const {
    for (int pt : formats)
      if (iequals(encoding(pt), "telephone-event/8000")) return pt;
    return -1;
  }
};

std::optional<Direction> directionAttribute(const std::string& field) {
  if (iequals(field, "sendrecv")) return Direction::SendRecv;
  if (iequals(field, "sendonly")) return Direction::SendOnly;
  if (iequals(field, "recvonly")) return Direction::RecvOnly;
  if (iequals(field, "inactive")) return Direction::Inactive;
  return std::nullopt;
}

std::vector<Media> mediaOf(sdp_message_t* sdp) {
  Direction session = Direction::SendRecv;
  for (int k = 0; sdp_message_a_att_field_get(sdp, -1, k); ++k)
    if (auto d = directionAttribute(text(sdp_message_a_att_field_get(sdp, -1, k)))) session = *d;
  const std::string sessionAddress = text(sdp_message_c_addr_get(sdp, -1, 0));
  std::vector<Media> out;
  for (int i = 0; !sdp_message_endof_media(sdp, i); ++i) {
    Media m;
    m.media = text(sdp_message_m_media_get(sdp, i));
    m.proto = text(sdp_message_m_proto_get(sdp, i));
    m.port = std::atoi(text(sdp_message_m_port_get(sdp, i)).c_str());
    for (int j = 0; sdp_message_m_payload_get(sdp, i, j); ++j) {
      const std::string pt = text(sdp_message_m_payload_get(sdp, i, j));
      if (pt.empty() || pt.size() > 3 || pt.find_first_not_of("0123456789") != std::string::npos) continue;
      m.formats.push_back(std::atoi(pt.c_str()));
    }
    const std::string address = text(sdp_message_c_addr_get(sdp, i, 0));
    m.address = address.empty() ? sessionAddress : address;
    m.direction = session;
    for (int k = 0; sdp_message_a_att_field_get(sdp, i, k); ++k) {
      const std::string field = text(sdp_message_a_att_field_get(sdp, i, k));
      const std::string value = text(sdp_message_a_att_value_get(sdp, i, k));
      if (auto d = directionAttribute(field)) m.direction = *d;
      if (iequals(field, "rtpmap")) {
        const auto space = value.find(' ');
        if (space == std::string::npos) continue;
        m.rtpmaps.emplace_back(std::atoi(value.substr(0, space).c_str()), value.substr(space + 1));
      }
      if (iequals(field, "crypto"))
        if (auto crypto = parseCrypto(value)) m.cryptos.push_back(std::move(*crypto));
    }
    out.push_back(std::move(m));
  }
  return out;
}

bool audioOnAPort(const Media& m) { return iequals(m.media, "audio") && m.port > 0 && m.port < 65536; }
bool plain(const Media& m) { return iequals(m.proto, "RTP/AVP"); }
bool sdes(const Media& m) { return iequals(m.proto, "RTP/SAVP"); }

// An offered audio stream the gateway can take under the policy: plain RTP unless SRTP is required, SRTP (with a
// crypto line it speaks) unless it is off.
bool usable(const Media& m, SrtpPolicy policy) {
  if (!audioOnAPort(m)) return false;
  if (plain(m)) return policy != SrtpPolicy::Required;
  return sdes(m) && policy != SrtpPolicy::Off && !m.cryptos.empty();
}

const char* attribute(Direction d) {
  switch (d) {
    case Direction::SendOnly: return "sendonly";
    case Direction::RecvOnly: return "recvonly";
    case Direction::Inactive: return "inactive";
    case Direction::SendRecv: break;
  }
  return "sendrecv";
}

// "No address" in the c= line: RFC 2543's hold (RFC 3264 8.4 keeps it meaning "do not send to me").
bool unspecified(const std::string& address) { return address.empty() || address == "0.0.0.0" || address == "::"; }

std::string formatLines(int payloadType, Codec codec, int telephoneEvent) {
  std::string out = "a=rtpmap:" + std::to_string(payloadType) + (codec == Codec::Pcmu ? " PCMU/8000" : " PCMA/8000") + "\r\n";
  if (telephoneEvent >= 0)
    out += "a=rtpmap:" + std::to_string(telephoneEvent) + " telephone-event/8000\r\na=fmtp:" +
           std::to_string(telephoneEvent) + " 0-16\r\n";
  return out;
}

}  // namespace

LocalSdp::LocalSdp(std::string host, std::uint16_t rtpPort, SrtpPolicy srtp)
    : host_(std::move(host)), port_(rtpPort), srtp_(srtp) {
  if (srtp_ != SrtpPolicy::Off) key80_ = newSrtpKey(), key32_ = newSrtpKey();
  std::random_device random;
  sessionId_ = (static_cast<std::uint64_t>(random()) << 20 ^ random()) & ((std::uint64_t{1} << 52) - 1);
  version_ = sessionId_;
}

std::string LocalSdp::body(const std::string& media) {
  if (!last_.empty() && media != last_) ++version_;
  last_ = media;
  const char* family = host_.find(':') == std::string::npos ? "IP4" : "IP6";
  return "v=0\r\no=daily-devserver " + std::to_string(sessionId_) + " " + std::to_string(version_) + " IN " +
         family + " " + host_ + "\r\ns=daily-devserver\r\nc=IN " + family + " " + host_ + "\r\nt=0 0\r\n" + media;
}

std::optional<std::string> LocalSdp::answer(const std::string& offer, Negotiated* result, std::string* why) {
  auto sdp = parse(offer);
  if (!sdp) return *why = "the offer is not SDP", std::nullopt;
  const auto media = mediaOf(sdp.get());
  if (media.empty()) return *why = "the offer has no media stream", std::nullopt;
  // The first audio stream in a format the gateway speaks; every other stream is declined with port 0, and the
  // answer keeps the offer's m= lines in its order (RFC 3264 6).
  std::optional<std::size_t> chosen;
  Negotiated n;
  for (std::size_t i = 0; i < media.size() && !chosen; ++i) {
    if (!usable(media[i], srtp_)) continue;
    for (int pt : media[i].formats)
      if (auto codec = media[i].codec(pt)) {
        chosen = i;
        n.payloadType = pt;
        n.codec = *codec;
        n.telephoneEvent = media[i].telephoneEvent();
        break;
      }
  }
  if (!chosen) {
    const auto any = [&](bool (*profile)(const Media&)) { return std::any_of(media.begin(), media.end(), profile); };
    *why = srtp_ == SrtpPolicy::Off && any(sdes) ? "the offer's audio is RTP/SAVP, whose SDES keys the gateway takes only over TLS"
           : srtp_ == SrtpPolicy::Required && any(plain)
               ? "the offer's audio is plain RTP, and this gateway requires SRTP over TLS"
           : srtp_ == SrtpPolicy::Off ? "the offer has no audio stream over RTP/AVP in PCMU or PCMA"
                                      : "the offer has no audio stream over RTP/AVP, or RTP/SAVP with "
                                        "AES_CM_128_HMAC_SHA1_80 or _32, in PCMU or PCMA";
    return std::nullopt;
  }
  const Media& m = media[*chosen];
  std::string cryptoLine;
  if (sdes(m)) {
    // The offer's first crypto line the gateway takes (RFC 4568 6.1), answered with its tag and a key of ours.
    const Crypto& theirs = m.cryptos.front();
    n.srtp = SrtpKeys{theirs.suite, keyFor(theirs.suite), theirs.key};
    cryptoLine = "a=crypto:" + formatCrypto({theirs.tag, theirs.suite, keyFor(theirs.suite)}) + "\r\n";
  }
  n.address = unspecified(m.address) ? std::string() : m.address;
  n.port = static_cast<std::uint16_t>(m.port);
  // The answer's direction mirrors the offer's (RFC 3264 6.1).
  Direction ours = Direction::SendRecv;
  switch (m.direction) {
    case Direction::SendOnly: ours = Direction::RecvOnly; break;
    case Direction::RecvOnly: ours = Direction::SendOnly; break;
    case Direction::Inactive: ours = Direction::Inactive; break;
    case Direction::SendRecv: break;
  }
  n.send = (ours == Direction::SendRecv || ours == Direction::SendOnly) && !n.address.empty();
  n.receive = ours == Direction::SendRecv || ours == Direction::RecvOnly;
  std::string lines;
  for (std::size_t i = 0; i < media.size(); ++i) {
    if (i != *chosen) {
      const std::string format = media[i].formats.empty() ? "0" : std::to_string(media[i].formats.front());
      lines += "m=" + (media[i].media.empty() ? std::string("audio") : media[i].media) + " 0 " +
               (media[i].proto.empty() ? std::string("RTP/AVP") : media[i].proto) + " " + format + "\r\n";
      continue;
    }
    lines += "m=audio " + std::to_string(port_) + (n.srtp ? " RTP/SAVP " : " RTP/AVP ") + std::to_string(n.payloadType) +
             (n.telephoneEvent >= 0 ? " " + std::to_string(n.telephoneEvent) : "") + "\r\n" +
             formatLines(n.payloadType, n.codec, n.telephoneEvent) + cryptoLine + "a=ptime:20\r\na=" + attribute(ours) +
             "\r\n";
  }
  *result = n;
  return body(lines);
}

bool LocalSdp::fallBackToRtp() {
  if (srtp_ != SrtpPolicy::Optional || fellBack_) return false;
  fellBack_ = true;
  return true;
}

std::string LocalSdp::offer(Direction direction) {
  const bool secure = offersSrtp();
  const std::string te = std::to_string(kTelephoneEventPayloadType);
  // Over TLS, SRTP only, both suites (tag 1 the 80-bit one, tag 2 the 32-bit one): an offer of plain RTP beside
  // it would let anyone on the path take the call down to it.
  const std::string crypto =
      secure ? "a=crypto:" + formatCrypto({1, SrtpSuite::AesCm128HmacSha1_80, key80_}) + "\r\na=crypto:" +
                    formatCrypto({2, SrtpSuite::AesCm128HmacSha1_32, key32_}) + "\r\n"
              : std::string();
  return body("m=audio " + std::to_string(port_) + (secure ? " RTP/SAVP 0 8 " : " RTP/AVP 0 8 ") + te +
              "\r\na=rtpmap:0 PCMU/8000\r\n" + "a=rtpmap:8 PCMA/8000\r\na=rtpmap:" + te +
              " telephone-event/8000\r\na=fmtp:" + te + " 0-16\r\n" + crypto + "a=ptime:20\r\na=" +
              attribute(direction) + "\r\n");
}

bool LocalSdp::accept(const std::string& answer, Negotiated* result, std::string* why) const {
  auto sdp = parse(answer);
  if (!sdp) return *why = "the answer is not SDP", false;
  const auto media = mediaOf(sdp.get());
  // The answer keeps the offer's profile: RTP/SAVP when it was SRTP, RTP/AVP otherwise.
  const auto stream = std::find_if(media.begin(), media.end(), [&](const Media& m) {
    return audioOnAPort(m) && (offersSrtp() ? sdes(m) : plain(m));
  });
  if (stream == media.end())
    return *why = offersSrtp() ? "the answer declines the audio stream, or does not take SRTP" : "the answer declines the audio stream",
           false;
  const Media& m = *stream;
  Negotiated n;
  if (offersSrtp()) {
    // Its crypto line names one of ours by tag, with that line's suite; the key is the answerer's.
    const auto crypto = std::find_if(m.cryptos.begin(), m.cryptos.end(), [](const Crypto& c) {
      return (c.tag == 1 && c.suite == SrtpSuite::AesCm128HmacSha1_80) || (c.tag == 2 && c.suite == SrtpSuite::AesCm128HmacSha1_32);
    });
    if (crypto == m.cryptos.end()) return *why = "the answer has no crypto line for one of the offer's", false;
    n.srtp = SrtpKeys{crypto->suite, keyFor(crypto->suite), crypto->key};
  }
  bool found = false;
  for (int pt : m.formats)
    if (auto codec = m.codec(pt)) {
      n.payloadType = pt;
      n.codec = *codec;
      found = true;
      break;
    }
  if (!found) return *why = "the answer takes neither PCMU nor PCMA", false;
  n.telephoneEvent = m.telephoneEvent();
  n.address = unspecified(m.address) ? std::string() : m.address;
  n.port = static_cast<std::uint16_t>(m.port);
  // The answer's direction is the answerer's: it sends when it says sendrecv or sendonly.
  n.receive = m.direction == Direction::SendRecv || m.direction == Direction::SendOnly;
  n.send = (m.direction == Direction::SendRecv || m.direction == Direction::RecvOnly) && !n.address.empty();
  *result = n;
  return true;
}

}  // namespace daily::devserver::media
