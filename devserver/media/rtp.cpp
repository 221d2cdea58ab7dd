#include "media/rtp.hpp"

#include "media/spandsp.hpp"

namespace daily::devserver::media {
namespace {

std::uint16_t read16(const unsigned char* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }
std::uint32_t read32(const unsigned char* p) {
  return static_cast<std::uint32_t>(p[0]) << 24 | static_cast<std::uint32_t>(p[1]) << 16 |
         static_cast<std::uint32_t>(p[2]) << 8 | p[3];
}

}  // namespace

std::optional<RtpPacket> parseRtp(std::string_view datagram) {
  const auto* p = reinterpret_cast<const unsigned char*>(datagram.data());
  std::size_t size = datagram.size();
  if (size < 12 || (p[0] >> 6) != 2) return std::nullopt;
  const bool padding = (p[0] & 0x20) != 0;
  const bool extension = (p[0] & 0x10) != 0;
  const std::size_t csrcs = p[0] & 0x0f;
  RtpPacket packet;
  packet.marker = (p[1] & 0x80) != 0;
  packet.payloadType = p[1] & 0x7f;
  // RFC 5761 4: payload types 72-76 with the marker bit are RTCP (SR, RR, SDES, BYE, APP) sent to the RTP port.
  if (packet.payloadType >= 72 && packet.payloadType <= 76) return std::nullopt;
  packet.sequence = read16(p + 2);
  packet.timestamp = read32(p + 4);
  packet.ssrc = read32(p + 8);
  std::size_t offset = 12 + 4 * csrcs;
  if (offset > size) return std::nullopt;
  if (extension) {
    if (offset + 4 > size) return std::nullopt;
    offset += 4 + 4 * static_cast<std::size_t>(read16(p + offset + 2));
    if (offset > size) return std::nullopt;
  }
  if (padding) {
    const std::size_t pad = p[size - 1];
    if (pad == 0 || offset + pad > size) return std::nullopt;
    size -= pad;
  }
  packet.payload = datagram.substr(offset, size - offset);
  return packet;
}

void writeRtp(std::vector<std::uint8_t>& out, bool marker, int payloadType, std::uint16_t sequence,
              std::uint32_t timestamp, std::uint32_t ssrc, const std::uint8_t* payload, std::size_t size) {
  out.push_back(0x80);
  out.push_back(static_cast<std::uint8_t>((marker ? 0x80 : 0) | (payloadType & 0x7f)));
  out.push_back(static_cast<std::uint8_t>(sequence >> 8));
  out.push_back(static_cast<std::uint8_t>(sequence));
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(timestamp >> shift));
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(ssrc >> shift));
  out.insert(out.end(), payload, payload + size);
}

void encodeG711(Codec codec, const std::int16_t* samples, std::size_t count, std::uint8_t* out) {
  for (std::size_t i = 0; i < count; ++i)
    out[i] = codec == Codec::Pcmu ? linear_to_ulaw(samples[i]) : linear_to_alaw(samples[i]);
}

void decodeG711(Codec codec, const std::uint8_t* bytes, std::size_t count, std::int16_t* out) {
  for (std::size_t i = 0; i < count; ++i)
    out[i] = codec == Codec::Pcmu ? ulaw_to_linear(bytes[i]) : alaw_to_linear(bytes[i]);
}

std::optional<TelephoneEvent> parseTelephoneEvent(std::string_view payload) {
  if (payload.size() < 4) return std::nullopt;
  const auto* p = reinterpret_cast<const unsigned char*>(payload.data());
  TelephoneEvent event;
  event.event = p[0];
  event.end = (p[1] & 0x80) != 0;
  event.volume = p[1] & 0x3f;
  event.duration = read16(p + 2);
  return event;
}

void writeTelephoneEvent(std::vector<std::uint8_t>& out, const TelephoneEvent& event) {
  out.push_back(static_cast<std::uint8_t>(event.event));
  out.push_back(static_cast<std::uint8_t>((event.end ? 0x80 : 0) | (event.volume & 0x3f)));
  out.push_back(static_cast<std::uint8_t>(event.duration >> 8));
  out.push_back(static_cast<std::uint8_t>(event.duration));
}

char dtmfTone(int event) {
  static constexpr char kTones[] = "0123456789*#ABCD";
  return event >= 0 && event < 16 ? kTones[event] : 0;
}

int dtmfEvent(char tone) {
  for (int event = 0; event < 16; ++event)
    if (dtmfTone(event) == tone) return event;
  return -1;
}

}  // namespace daily::devserver::media
