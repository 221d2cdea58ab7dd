#pragma once

// The receive side of one RTP stream: a fixed-delay jitter buffer over the sender's timestamps. Packets are put
// in as they arrive (in any order); the engine's clock pulls 20 ms at a time, `delay` behind the newest audio.
// Reordered packets land in their place, late and duplicate ones are dropped and counted, and gaps are concealed
// by spandsp's packet loss concealment (which fades to silence when the gap goes on).

#include "media/spandsp.hpp"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace daily::devserver::media {

class JitterBuffer {
 public:
  /// delay and capacity in samples (8 kHz): how far behind the first packet's timestamp playout starts, and how
  /// much audio ahead of playout is kept (a packet beyond that restarts the stream at it).
  explicit JitterBuffer(std::size_t delay = 480, std::size_t capacity = 4000);
  JitterBuffer(const JitterBuffer&) = delete;
  JitterBuffer& operator=(const JitterBuffer&) = delete;

  enum class Put { Stored, Late, Duplicate, Restarted };
  /// Stores count samples whose first has RTP timestamp `timestamp`, from the packet numbered `sequence`.
  Put put(std::uint16_t sequence, std::uint32_t timestamp, const std::int16_t* samples, std::size_t count);

  /// Writes the next count samples into out: received audio, concealment where a packet is missing, silence
  /// once the stream has stopped. Returns false when none of them was real audio (nothing worth mixing).
  bool pull(std::int16_t* out, std::size_t count);

  /// Forgets everything: the next packet starts a new stream.
  void reset();

  struct Counters {
    std::uint64_t late = 0;        // arrived after their time had been played
    std::uint64_t duplicates = 0;  // a sequence number already seen
    std::uint64_t reordered = 0;   // arrived after a packet numbered higher (stored in its place when in time)
    std::uint64_t concealed = 0;   // 20 ms frames (or parts) made up for missing packets
    std::uint64_t restarts = 0;    // timestamp jumps beyond the buffer
  };
  const Counters& counters() const { return counters_; }

 private:
  bool seen(std::uint16_t sequence);
  void remember(const std::int16_t* samples, std::size_t count);

  std::size_t delay_;
  std::vector<std::int16_t> samples_;
  std::vector<bool> filled_;
  bool started_ = false;
  bool played_ = false;            // real audio has been pulled since the stream started
  std::uint32_t head_ = 0;         // timestamp of the next sample to play
  std::uint32_t end_ = 0;          // one past the newest stored sample
  std::size_t silentPulls_ = 0;    // consecutive pulls without real audio
  bool sequenced_ = false;
  std::uint16_t highest_ = 0;      // the highest sequence number seen, and the 64 below it as a bitmap
  std::uint64_t window_ = 0;
  plc_state_t plc_{};
  std::vector<std::int16_t> recent_ = std::vector<std::int16_t>(PLC_HISTORY_LEN);  // the last real audio played
  std::vector<std::int16_t> scratch_;  // concealment is made here
  Counters counters_;
};

}  // namespace daily::devserver::media
