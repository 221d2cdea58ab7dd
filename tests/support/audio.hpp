#pragma once

// Real audio for the media tests: tones written for the SIP peers to play (baresip's aufile, sipp's rtp_stream),
// and what they recorded (baresip's sndfile) checked by Goertzel detection (spandsp): each party sends its own
// frequency, and each must hear exactly the others.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace daily::test {

/// An 8 kHz mono 16-bit WAV of a sine at hz (0: silence), `seconds` long.
void writeToneWav(const std::string& path, double hz, double seconds, double amplitude = 6000);
/// The same sine as raw G.711 mu-law bytes (PCMU payload), for sipp's rtp_stream.
void writeToneUlaw(const std::string& path, double hz, double seconds, double amplitude = 6000);
/// A mono WAV's samples at its own rate (libsndfile); empty when it cannot be read.
std::vector<std::int16_t> readWav(const std::string& path, int* rate = nullptr);

/// For each frequency, the share of the non-silent 20 ms blocks of samples in which that frequency carries at least
/// a tenth of the block's energy: near 1 for a tone that is heard throughout, near 0 for one that is not.
struct ToneReport {
  std::size_t blocks = 0;       // non-silent blocks
  std::map<int, double> heard;  // frequency -> share of those blocks
  std::string describe() const;
};
ToneReport detectTones(const std::vector<std::int16_t>& samples, int rate, const std::vector<int>& frequencies);

/// An RTP packet's bytes (RFC 3550, version 2, no CSRCs or extension).
std::string rtpPacket(int payloadType, bool marker, std::uint16_t sequence, std::uint32_t timestamp, std::uint32_t ssrc,
                      const std::string& payload);
/// A tone as 20 ms PCMU payloads (160 bytes each).
std::vector<std::string> toneFramesUlaw(double hz, double seconds, double amplitude = 6000);
/// An RFC 4733 telephone-event payload.
std::string telephoneEvent(int event, bool end, int volume, std::uint16_t duration);

/// A capture for sipp's play_pcap_audio: each datagram leaves `at` seconds after the first, in the order given.
/// sipp sends the RTP bytes as they are, from the call's media port to the address in the peer's SDP, so a test
/// can put on the wire exactly the reordering, duplicates or flood it wants from a real SIP peer.
struct Datagram {
  double at = 0;
  std::string bytes;
};
void writeRtpPcap(const std::string& path, const std::vector<Datagram>& datagrams);

}  // namespace daily::test
