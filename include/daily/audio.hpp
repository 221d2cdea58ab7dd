#pragma once

// Audio for bots, named as daily-python names it: a CustomAudioSource a bot writes PCM into, the CustomAudioTrack
// that carries it into the room (CallClient::addCustomAudioTrack), and renderers that hand the bot each
// participant's audio (CallClient::setAudioRenderer). The audio travels as binary frames on the signaling
// connection (docs/protocol.md, "Audio"); the devserver resamples to and from its calls' 8 kHz.

#include <daily/export.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <vector>

namespace daily {

/// A block of 16-bit PCM, as daily-python's AudioData.
struct AudioData {
  int bitsPerSample = 16;
  int sampleRate = 16000;
  int numChannels = 1;
  std::size_t numAudioFrames = 0;          // samples per channel
  std::vector<std::int16_t> audioFrames;   // interleaved
};

/// setAudioRenderer()'s options, as daily-python's set_audio_renderer(audio_source, sample_rate,
/// callback_interval_ms).
struct AudioRendererOptions {
  /// "microphone" (a SIP caller's audio, or a bot's track of that name), or the name of a bot's custom track.
  std::string audioSource = "microphone";
  /// 8000, 16000, 24000 or 48000.
  int sampleRate = 16000;
  /// How much audio each call of the renderer gets: 10 ms to 1 s, in steps of 10 ms.
  std::chrono::milliseconds callbackInterval{20};
};

/// Gets callbackInterval of a participant's audio, mono at the rate asked for, on the SDK's media thread (never the
/// network thread; one thread for every CallClient of the process). It may call anything, and should return
/// quickly: while it runs, no other renderer or custom source of the process is served.
using AudioRenderer = std::function<void(const std::string& participantId, const AudioData& audio,
                                         const std::string& audioSource)>;

/// Where a bot's audio comes from: it writes 16-bit PCM in, and the track it is attached to sends it, paced at
/// real time, 20 ms at a time. Thread-safe. A source is attached to one track of one CallClient at a time.
class DAILY_API CustomAudioSource {
 public:
  /// sampleRate: 8000, 16000, 24000 or 48000; channels: 1 or 2. Throws std::invalid_argument otherwise.
  CustomAudioSource(int sampleRate, int channels);
  ~CustomAudioSource();
  CustomAudioSource(const CustomAudioSource&) = delete;
  CustomAudioSource& operator=(const CustomAudioSource&) = delete;

  int sampleRate() const;
  int channels() const;

  /// Queues interleaved 16-bit frames; resolves with the number of frames once they have been sent, paced at
  /// real time as daily-python's write_frames() is. Resolves with 0 when the source is not attached to a call,
  /// and with the frames sent so far when its track is removed or its call ends first. Fails with
  /// ErrorCode::InvalidArgument when the number of samples is not a multiple of channels().
  [[nodiscard]] std::future<std::size_t> writeFrames(std::vector<std::int16_t> frames);

  struct Impl;

 private:
  friend class CallClient;
  std::shared_ptr<Impl> impl_;
};

/// The track a CustomAudioSource plays into a room, as daily-python's CustomAudioTrack.
class DAILY_API CustomAudioTrack {
 public:
  explicit CustomAudioTrack(std::shared_ptr<CustomAudioSource> source);
  /// A unique id, for logs.
  const std::string& id() const { return id_; }
  const std::shared_ptr<CustomAudioSource>& source() const { return source_; }

 private:
  std::string id_;
  std::shared_ptr<CustomAudioSource> source_;
};

}  // namespace daily
