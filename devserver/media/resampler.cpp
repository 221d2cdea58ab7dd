#include "media/resampler.hpp"

#include <speex/speex_resampler.h>

#include <algorithm>

#include <stdexcept>
#include <string>

namespace daily::devserver::media {
namespace {
// speexdsp's quality 0-10: 5 is its default for desktop use, plenty for telephone audio at this cost.
constexpr int kQuality = 5;
}  // namespace

Resampler::Resampler(int inRate, int outRate) : in_(inRate), out_(outRate) {
  int error = 0;
  state_ = speex_resampler_init(1, static_cast<spx_uint32_t>(inRate), static_cast<spx_uint32_t>(outRate), kQuality, &error);
  if (!state_ || error != RESAMPLER_ERR_SUCCESS)
    throw std::invalid_argument("cannot resample " + std::to_string(inRate) + " Hz to " + std::to_string(outRate) + " Hz");
  speex_resampler_skip_zeros(static_cast<SpeexResamplerState*>(state_));
}

Resampler::~Resampler() {
  if (state_) speex_resampler_destroy(static_cast<SpeexResamplerState*>(state_));
}

void Resampler::process(const std::int16_t* in, std::size_t count, std::vector<std::int16_t>& out) {
  auto* state = static_cast<SpeexResamplerState*>(state_);
  while (count > 0) {
    // Room for the whole output of this chunk, plus the filter's slack.
    std::int16_t buffer[2048];
    spx_uint32_t inLen = static_cast<spx_uint32_t>(std::min<std::size_t>(count, 960));
    spx_uint32_t outLen = sizeof buffer / sizeof buffer[0];
    speex_resampler_process_int(state, 0, in, &inLen, buffer, &outLen);
    out.insert(out.end(), buffer, buffer + outLen);
    if (inLen == 0) break;  // nothing consumed: never loop forever
    in += inLen;
    count -= inLen;
  }
}

}  // namespace daily::devserver::media
