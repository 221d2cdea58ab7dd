#pragma once

// Mono 16-bit resampling between a bot's rate and the engine's 8 kHz, by speexdsp (BSD-licensed).

#include <cstdint>
#include <memory>
#include <vector>

namespace daily::devserver::media {

class Resampler {
 public:
  /// Throws std::invalid_argument for rates speexdsp refuses.
  Resampler(int inRate, int outRate);
  ~Resampler();
  Resampler(const Resampler&) = delete;
  Resampler& operator=(const Resampler&) = delete;

  /// Appends the resampled input to out (all of it: speexdsp keeps its filter's state between calls).
  void process(const std::int16_t* in, std::size_t count, std::vector<std::int16_t>& out);
  int inRate() const { return in_; }
  int outRate() const { return out_; }

 private:
  int in_, out_;
  void* state_ = nullptr;  // SpeexResamplerState
};

}  // namespace daily::devserver::media
