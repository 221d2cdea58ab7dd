#include "audio.hpp"

#include <cmath>
#include <cstdint>
#include <fstream>
#include <sstream>

#include <sndfile.h>
#include <spandsp/telephony.h>
#include <spandsp/bit_operations.h>
#include <spandsp/g711.h>
#include <spandsp/complex.h>
#include <spandsp/tone_detect.h>

namespace daily::test {
namespace {

std::vector<std::int16_t> sine(double hz, double seconds, double amplitude) {
  std::vector<std::int16_t> out(static_cast<std::size_t>(8000 * seconds));
  for (std::size_t i = 0; i < out.size(); ++i)
    out[i] = hz > 0 ? static_cast<std::int16_t>(amplitude * std::sin(2 * M_PI * hz * static_cast<double>(i) / 8000)) : 0;
  return out;
}

}  // namespace

void writeToneWav(const std::string& path, double hz, double seconds, double amplitude) {
  SF_INFO info{};
  info.samplerate = 8000;
  info.channels = 1;
  info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
  SNDFILE* file = sf_open(path.c_str(), SFM_WRITE, &info);
  if (!file) throw std::runtime_error("cannot write " + path + ": " + sf_strerror(nullptr));
  const auto samples = sine(hz, seconds, amplitude);
  sf_write_short(file, samples.data(), static_cast<sf_count_t>(samples.size()));
  sf_close(file);
}

void writeToneUlaw(const std::string& path, double hz, double seconds, double amplitude) {
  const auto samples = sine(hz, seconds, amplitude);
  std::string bytes(samples.size(), '\0');
  for (std::size_t i = 0; i < samples.size(); ++i) bytes[i] = static_cast<char>(linear_to_ulaw(samples[i]));
  std::ofstream(path, std::ios::binary) << bytes;
}

std::vector<std::int16_t> readWav(const std::string& path, int* rate) {
  SF_INFO info{};
  SNDFILE* file = sf_open(path.c_str(), SFM_READ, &info);
  if (!file) return {};
  std::vector<std::int16_t> all(static_cast<std::size_t>(info.frames) * static_cast<std::size_t>(info.channels));
  sf_readf_short(file, all.data(), info.frames);
  sf_close(file);
  if (rate) *rate = info.samplerate;
  if (info.channels <= 1) return all;
  std::vector<std::int16_t> mono(static_cast<std::size_t>(info.frames));
  for (std::size_t i = 0; i < mono.size(); ++i) mono[i] = all[i * static_cast<std::size_t>(info.channels)];
  return mono;
}

ToneReport detectTones(const std::vector<std::int16_t>& samples, int rate, const std::vector<int>& frequencies) {
  ToneReport report;
  const int block = rate / 50;  // 20 ms
  std::vector<goertzel_descriptor_t> descriptors(frequencies.size());
  for (std::size_t f = 0; f < frequencies.size(); ++f) {
    make_goertzel_descriptor(&descriptors[f], static_cast<float>(frequencies[f]) * 8000.0f / static_cast<float>(rate), block);
    report.heard[frequencies[f]] = 0;
  }
  std::map<int, std::size_t> counts;
  for (std::size_t at = 0; at + static_cast<std::size_t>(block) <= samples.size(); at += static_cast<std::size_t>(block)) {
    double energy = 0;
    for (int i = 0; i < block; ++i) energy += static_cast<double>(samples[at + i]) * samples[at + i];
    // Silence, and G.711's quantisation noise around it: about -50 dBm0.
    if (energy / block < 100.0 * 100.0) continue;
    ++report.blocks;
    for (std::size_t f = 0; f < frequencies.size(); ++f) {
      goertzel_state_t state;
      goertzel_init(&state, &descriptors[f]);
      goertzel_update(&state, samples.data() + at, block);
      const double power = goertzel_result(&state);
      // A pure sine of the block's energy at the bin's centre gives power = block * energy / 2.
      if (power / (block * energy / 2) >= 0.1) ++counts[frequencies[f]];
    }
  }
  for (int f : frequencies)
    report.heard[f] = report.blocks ? static_cast<double>(counts[f]) / static_cast<double>(report.blocks) : 0;
  return report;
}

std::string rtpPacket(int payloadType, bool marker, std::uint16_t sequence, std::uint32_t timestamp, std::uint32_t ssrc,
                      const std::string& payload) {
  std::string out;
  out.push_back(static_cast<char>(0x80));
  out.push_back(static_cast<char>((marker ? 0x80 : 0) | (payloadType & 0x7f)));
  const auto be = [&](std::uint64_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>(v >> (8 * i)));
  };
  be(sequence, 2);
  be(timestamp, 4);
  be(ssrc, 4);
  return out + payload;
}

std::vector<std::string> toneFramesUlaw(double hz, double seconds, double amplitude) {
  const auto samples = sine(hz, seconds, amplitude);
  std::vector<std::string> frames;
  for (std::size_t at = 0; at + 160 <= samples.size(); at += 160) {
    std::string frame(160, '\0');
    for (std::size_t i = 0; i < 160; ++i) frame[i] = static_cast<char>(linear_to_ulaw(samples[at + i]));
    frames.push_back(std::move(frame));
  }
  return frames;
}

std::string telephoneEvent(int event, bool end, int volume, std::uint16_t duration) {
  return {static_cast<char>(event), static_cast<char>((end ? 0x80 : 0) | (volume & 0x3f)),
          static_cast<char>(duration >> 8), static_cast<char>(duration & 0xff)};
}

void writeRtpPcap(const std::string& path, const std::vector<Datagram>& datagrams) {
  std::string out;
  const auto le = [&](std::uint32_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
  };
  const auto be = [&](std::uint32_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>(v >> (8 * i)));
  };
  le(0xa1b2c3d4, 4);  // pcap, microseconds
  le(2, 2), le(4, 2), le(0, 4), le(0, 4), le(65535, 4), le(1, 4);  // version 2.4, UTC, accuracy, snaplen, Ethernet
  for (const auto& d : datagrams) {
    const auto micros = static_cast<std::uint64_t>(std::llround(d.at * 1e6));
    const auto udp = static_cast<std::uint32_t>(8 + d.bytes.size());
    const auto ip = 20 + udp;
    le(static_cast<std::uint32_t>(micros / 1000000), 4), le(static_cast<std::uint32_t>(micros % 1000000), 4);
    le(14 + ip, 4), le(14 + ip, 4);
    out.append(12, '\0'), be(0x0800, 2);                      // Ethernet: no addresses, IPv4
    be(0x4500, 2), be(ip, 2), be(0, 4), be(0x4011, 2), be(0, 2);  // IPv4: TTL 64, UDP, no checksum
    be(0x7f000001, 4), be(0x7f000001, 4);
    be(10000, 2), be(10000, 2), be(udp, 2), be(0, 2);          // UDP (sipp writes its own ports and checksum)
    out += d.bytes;
  }
  std::ofstream(path, std::ios::binary) << out;
}

std::string ToneReport::describe() const {
  std::ostringstream out;
  out << blocks << " blocks with sound;";
  for (const auto& [hz, share] : heard) out << " " << hz << " Hz in " << static_cast<int>(share * 100) << "%";
  return out.str();
}

}  // namespace daily::test
