#include <daily/audio.hpp>
#include <daily/error.hpp>

#include "audio_source.hpp"
#include "common/ids.hpp"
#include "common/protocol.hpp"
#include "media_thread.hpp"

#include <stdexcept>

namespace daily {

CustomAudioSource::CustomAudioSource(int sampleRate, int channels) {
  if (!protocol::supportedAudioRate(sampleRate))
    throw std::invalid_argument("CustomAudioSource: sampleRate must be 8000, 16000, 24000 or 48000");
  if (channels != 1 && channels != 2) throw std::invalid_argument("CustomAudioSource: channels must be 1 or 2");
  impl_ = std::make_shared<Impl>(sampleRate, channels);
}

CustomAudioSource::~CustomAudioSource() { impl_->detach(); }

int CustomAudioSource::sampleRate() const { return impl_->rate; }
int CustomAudioSource::channels() const { return impl_->channels; }

std::future<std::size_t> CustomAudioSource::writeFrames(std::vector<std::int16_t> frames) {
  return impl_->write(std::move(frames));
}

CustomAudioTrack::CustomAudioTrack(std::shared_ptr<CustomAudioSource> source)
    : id_(detail::newUuid()), source_(std::move(source)) {
  if (!source_) throw std::invalid_argument("CustomAudioTrack needs a source");
}

std::future<std::size_t> CustomAudioSource::Impl::write(std::vector<std::int16_t> samples) {
  std::promise<std::size_t> promise;
  auto future = promise.get_future();
  if (samples.size() % static_cast<std::size_t>(channels) != 0) {
    promise.set_exception(std::make_exception_ptr(
        Error(ErrorCode::InvalidArgument, "writeFrames: the samples are not a whole number of frames of " +
                                              std::to_string(channels) + " channels")));
    return future;
  }
  std::lock_guard<std::mutex> lock(mu);
  if (!sink || samples.empty()) {
    promise.set_value(0);
    return future;
  }
  writes.push_back(Write{std::move(samples), 0, std::move(promise)});
  return future;
}

bool CustomAudioSource::Impl::attach(Sink s) {
  std::uint64_t generation = 0;
  {
    std::lock_guard<std::mutex> lock(mu);
    if (sink) return false;
    sink = std::move(s);
    generation = ++attachment;
  }
  detail::MediaThread::instance().every20ms([weak = weak_from_this(), generation] {
    auto self = weak.lock();
    return self && self->tick(generation);
  });
  return true;
}

void CustomAudioSource::Impl::detach() {
  std::deque<Write> abandoned;
  {
    std::lock_guard<std::mutex> lock(mu);
    sink = nullptr;
    ++attachment;
    abandoned = std::move(writes);
    writes.clear();
  }
  for (auto& w : abandoned) w.done.set_value(w.at / static_cast<std::size_t>(channels));
}

bool CustomAudioSource::Impl::tick(std::uint64_t generation) {
  const std::size_t want = static_cast<std::size_t>(rate / 50 * channels);
  std::vector<std::int16_t> frame;
  std::vector<std::pair<std::promise<std::size_t>, std::size_t>> finished;
  Sink s;
  {
    std::lock_guard<std::mutex> lock(mu);
    if (attachment != generation) return false;
    while (frame.size() < want && !writes.empty()) {
      Write& w = writes.front();
      const std::size_t n = std::min(want - frame.size(), w.samples.size() - w.at);
      frame.insert(frame.end(), w.samples.begin() + static_cast<std::ptrdiff_t>(w.at),
                   w.samples.begin() + static_cast<std::ptrdiff_t>(w.at + n));
      w.at += n;
      if (w.at == w.samples.size()) {
        finished.emplace_back(std::move(w.done), w.samples.size() / static_cast<std::size_t>(channels));
        writes.pop_front();
      }
    }
    if (frame.empty()) return true;  // nothing written: nothing sent, the clock runs on
    frame.resize(want, 0);           // the end of what was written, padded with silence
    s = sink;
  }
  s(std::move(frame));
  for (auto& [promise, frames] : finished) promise.set_value(frames);
  return true;
}

}  // namespace daily
