#include "media/jitter.hpp"

#include <algorithm>

namespace daily::devserver::media {
namespace {

// After this many 20 ms pulls without audio the stream counts as stopped: the next packet starts it again, at its
// own timestamp (a sender back from hold, or one that restarted its clock), rather than being "late" forever.
constexpr std::size_t kStoppedAfterPulls = 10;
// Concealment of a stream that stopped goes on for this many pulls (spandsp's fades out within them), then silence.
constexpr std::size_t kConcealPulls = 3;
// Audio buffered beyond the delay that is played rather than skipped: 200 ms.
constexpr std::size_t kSurplus = 1600;

std::int32_t distance(std::uint32_t from, std::uint32_t to) { return static_cast<std::int32_t>(to - from); }

}  // namespace

JitterBuffer::JitterBuffer(std::size_t delay, std::size_t capacity)
    : delay_(std::min(delay, capacity / 2)), samples_(capacity), filled_(capacity) {
  plc_init(&plc_);
}

void JitterBuffer::reset() {
  std::fill(recent_.begin(), recent_.end(), std::int16_t{0});
  started_ = false;
  played_ = false;
  sequenced_ = false;
  std::fill(filled_.begin(), filled_.end(), false);
  silentPulls_ = 0;
  plc_init(&plc_);
}

void JitterBuffer::remember(const std::int16_t* samples, std::size_t count) {
  if (count >= recent_.size()) {
    std::copy(samples + count - recent_.size(), samples + count, recent_.begin());
    return;
  }
  std::move(recent_.begin() + static_cast<std::ptrdiff_t>(count), recent_.end(), recent_.begin());
  std::copy(samples, samples + count, recent_.end() - static_cast<std::ptrdiff_t>(count));
}

bool JitterBuffer::seen(std::uint16_t sequence) {
  if (!sequenced_) {
    sequenced_ = true;
    highest_ = sequence;
    window_ = 1;
    return false;
  }
  const auto ahead = static_cast<std::int16_t>(sequence - highest_);
  if (ahead > 0) {
    window_ = ahead >= 64 ? 1 : (window_ << ahead) | 1;
    highest_ = sequence;
    return false;
  }
  const int back = -ahead;
  if (back >= 64) return ++counters_.reordered, false;  // too old to tell: the timestamp decides whether it is late
  const std::uint64_t bit = std::uint64_t{1} << back;
  if (window_ & bit) return true;
  window_ |= bit;
  ++counters_.reordered;
  return false;
}

JitterBuffer::Put JitterBuffer::put(std::uint16_t sequence, std::uint32_t timestamp, const std::int16_t* samples,
                                    std::size_t count) {
  const std::size_t capacity = samples_.size();
  count = std::min(count, capacity - delay_);
  Put result = Put::Stored;
  const bool stopped = started_ && silentPulls_ >= kStoppedAfterPulls;
  std::int64_t offset = started_ ? distance(head_, timestamp) : 0;
  const bool beyond = offset + static_cast<std::int64_t>(count) > static_cast<std::int64_t>(capacity) ||
                      offset + static_cast<std::int64_t>(count) < -static_cast<std::int64_t>(capacity);
  if (!started_ || stopped || beyond) {
    if (started_) ++counters_.restarts, result = Put::Restarted;
    reset();
    started_ = true;
    head_ = timestamp - static_cast<std::uint32_t>(delay_);
    end_ = timestamp;
    offset = static_cast<std::int64_t>(delay_);
  }
  if (seen(sequence)) return ++counters_.duplicates, Put::Duplicate;
  if (offset + static_cast<std::int64_t>(count) <= 0) return ++counters_.late, Put::Late;
  for (std::size_t i = offset < 0 ? static_cast<std::size_t>(-offset) : 0; i < count; ++i) {
    const std::size_t at = (head_ + static_cast<std::uint32_t>(offset) + i) % capacity;
    samples_[at] = samples[i];
    filled_[at] = true;
  }
  const std::uint32_t last = timestamp + static_cast<std::uint32_t>(count);
  if (distance(end_, last) > 0) end_ = last;
  return result;
}

bool JitterBuffer::pull(std::int16_t* out, std::size_t count) {
  std::fill(out, out + count, std::int16_t{0});
  if (!started_) return false;
  const std::size_t capacity = samples_.size();
  // A sender whose clock runs fast (or a burst after a stall) fills the buffer well beyond its delay: skip ahead to
  // the delay rather than play everything late.
  const std::int32_t depth = distance(head_, end_);
  if (depth > static_cast<std::int32_t>(delay_ + kSurplus)) {
    const auto skip = static_cast<std::uint32_t>(depth) - static_cast<std::uint32_t>(delay_);
    for (std::uint32_t i = 0; i < skip; ++i) filled_[(head_ + i) % capacity] = false;
    head_ += skip;
    ++counters_.restarts;
  }
  std::size_t real = 0;
  std::size_t i = 0;
  while (i < count) {
    // A run of received samples, or a run of missing ones.
    const bool have = filled_[(head_ + i) % capacity];
    std::size_t end = i;
    while (end < count && filled_[(head_ + end) % capacity] == have) {
      const std::size_t at = (head_ + end) % capacity;
      if (have) out[end] = samples_[at];
      filled_[at] = false;
      ++end;
    }
    if (have) {
      plc_rx(&plc_, out + i, static_cast<int>(end - i));
      remember(out + i, end - i);
      real += end - i;
    } else if (played_ && silentPulls_ < kConcealPulls) {
      // spandsp 0.0.6's plc_fillin rotates its history with an overlapping memcpy (undefined behaviour, and an
      // ASan error) unless the history starts at its buffer's beginning; handing it the same history again in one
      // piece of PLC_HISTORY_LEN puts it there.
      if (plc_.missing_samples == 0) {
        std::vector<std::int16_t> again(recent_);
        plc_rx(&plc_, again.data(), static_cast<int>(again.size()));
      }
      // It also writes up to PLC_PITCH_OVERLAP_MAX samples at the start of a gap, whatever len it was given:
      // into a scratch buffer with that much room to spare, never past the caller's.
      scratch_.resize(end - i + PLC_PITCH_OVERLAP_MAX);
      plc_fillin(&plc_, scratch_.data(), static_cast<int>(end - i));
      std::copy(scratch_.begin(), scratch_.begin() + static_cast<std::ptrdiff_t>(end - i), out + i);
    }
    i = end;
  }
  head_ += static_cast<std::uint32_t>(count);
  if (real > 0) played_ = true;
  if (real == count) {
    silentPulls_ = 0;
    return true;
  }
  const bool concealing = played_ && silentPulls_ < kConcealPulls;
  if (concealing) ++counters_.concealed;
  if (real == 0) ++silentPulls_;
  else silentPulls_ = 0;
  return real > 0 || concealing;
}

}  // namespace daily::devserver::media
