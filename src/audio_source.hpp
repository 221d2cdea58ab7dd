#pragma once

// CustomAudioSource's insides, for CallClient: a queue of written audio, drained 20 ms at a time on the media
// thread into the sink of the track it is attached to.

#include <daily/audio.hpp>

#include <deque>
#include <functional>
#include <mutex>

namespace daily {

struct CustomAudioSource::Impl : std::enable_shared_from_this<CustomAudioSource::Impl> {
  /// Gets each 20 ms of audio, interleaved, on the media thread.
  using Sink = std::function<void(std::vector<std::int16_t>&& frame)>;

  Impl(int r, int c) : rate(r), channels(c) {}
  const int rate;
  const int channels;

  std::future<std::size_t> write(std::vector<std::int16_t> samples);
  /// Starts sending to sink; false when it is attached already.
  bool attach(Sink sink);
  /// Stops; what was written and not sent resolves with the frames sent of it.
  void detach();

 private:
  bool tick(std::uint64_t generation);

  struct Write {
    std::vector<std::int16_t> samples;
    std::size_t at = 0;
    std::promise<std::size_t> done;
  };
  std::mutex mu;
  std::deque<Write> writes;
  Sink sink;
  std::uint64_t attachment = 0;  // counts attaches and detaches: a ticker of an older attachment stops
};

}  // namespace daily
