// What arrives on a call's RTP port, and a bot's binary audio frames: parsed, telephone-events read, audio pushed
// through a jitter buffer and played out; each datagram also offered to an SRTP session (libsrtp2 reads a
// hostile header before it can authenticate anything). An audio frame that decodes must encode back to the
// same bytes.
#include "common/protocol.hpp"
#include "media/jitter.hpp"
#include "media/rtp.hpp"
#include "media/srtp.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

using namespace daily::devserver::media;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  static JitterBuffer jitter;  // state carried across inputs, as a long call's would be
  static SrtpSession srtp(SrtpKeys{SrtpSuite::AesCm128HmacSha1_80, std::string(kSrtpKeyBytes, 'a'), std::string(kSrtpKeyBytes, 'b')});
  std::vector<std::int16_t> samples(2048);
  std::vector<std::int16_t> out(kFrameSamples);
  // The input as a run of datagrams: a length byte, then that many bytes.
  for (std::size_t at = 0; at < bytes.size();) {
    const std::size_t length = static_cast<unsigned char>(bytes[at++]);
    const auto datagram = bytes.substr(at, length);
    at += datagram.size();
    std::string copy(datagram);
    if (auto plain = srtp.unprotect(copy.data(), copy.size()); plain && *plain > copy.size()) std::abort();
    if (auto packet = parseRtp(datagram)) {
      if (packet->payload.size() > datagram.size()) std::abort();
      (void)parseTelephoneEvent(packet->payload);
      const std::size_t n = std::min(packet->payload.size(), samples.size());
      decodeG711(packet->payloadType % 2 ? Codec::Pcma : Codec::Pcmu,
                 reinterpret_cast<const std::uint8_t*>(packet->payload.data()), n, samples.data());
      jitter.put(packet->sequence, packet->timestamp, samples.data(), n);
    }
    jitter.pull(out.data(), out.size());
  }
  std::string why;
  if (auto frame = daily::protocol::decodeAudioFrame(bytes, &why))
    if (daily::protocol::encodeAudioFrame(*frame) != bytes) std::abort();
  return 0;
}
