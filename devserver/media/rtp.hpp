#pragma once

// RTP on the wire (RFC 3550), G.711 (through spandsp), and RFC 4733 telephone-events. Pure functions over bytes:
// nothing here owns a socket or a clock, so each is unit-tested and fuzzed alone.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace daily::devserver::media {

enum class Codec { Pcmu, Pcma };

inline constexpr int kSampleRate = 8000;       // G.711 and telephone-event/8000
inline constexpr std::size_t kFrameSamples = 160;  // 20 ms at 8 kHz: the engine's tick
inline constexpr int kPcmuPayloadType = 0;
inline constexpr int kPcmaPayloadType = 8;
inline constexpr int kComfortNoisePayloadType = 13;

/// A parsed RTP packet; payload points into the datagram it was parsed from.
struct RtpPacket {
  bool marker = false;
  int payloadType = 0;
  std::uint16_t sequence = 0;
  std::uint32_t timestamp = 0;
  std::uint32_t ssrc = 0;
  std::string_view payload;
};

/// The RTP packet in datagram: version 2, with its CSRCs, header extension and padding stripped; nullopt for
/// anything else (too short, another version, lengths that do not add up, an RTCP packet on the RTP port).
std::optional<RtpPacket> parseRtp(std::string_view datagram);

/// Appends a 12-byte RTP header (version 2, no CSRC, no extension) and payload to out.
void writeRtp(std::vector<std::uint8_t>& out, bool marker, int payloadType, std::uint16_t sequence,
              std::uint32_t timestamp, std::uint32_t ssrc, const std::uint8_t* payload, std::size_t size);

/// G.711 (ITU-T G.711, by spandsp): one byte per sample each way.
void encodeG711(Codec codec, const std::int16_t* samples, std::size_t count, std::uint8_t* out);
void decodeG711(Codec codec, const std::uint8_t* bytes, std::size_t count, std::int16_t* out);

/// One RFC 4733 telephone-event payload (section 2.3).
struct TelephoneEvent {
  int event = 0;        // 0-9, 10 = *, 11 = #, 12-15 = A-D, 16 = flash
  bool end = false;
  int volume = 0;       // 0-63: the power level, in -dBm0
  std::uint16_t duration = 0;  // in timestamp units
};

/// The first event of a telephone-event payload; nullopt when it is shorter than 4 bytes.
std::optional<TelephoneEvent> parseTelephoneEvent(std::string_view payload);
/// The 4 bytes of event.
void writeTelephoneEvent(std::vector<std::uint8_t>& out, const TelephoneEvent& event);

/// The DTMF key of a telephone-event code ('0'-'9', '*', '#', 'A'-'D'), or 0 for others (flash, 17 and above).
char dtmfTone(int event);
/// The telephone-event code of a DTMF key, or -1.
int dtmfEvent(char tone);

}  // namespace daily::devserver::media
