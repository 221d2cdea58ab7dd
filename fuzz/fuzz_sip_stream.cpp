// The SIP stream framer (TCP and TLS): any bytes, cut into chunks where the fuzzer says, must frame exactly as the
// same bytes fed at once (the same messages, pings and error), and never hold more than its caps allow.
#include "sip/framing.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

using daily::devserver::sip::StreamFramer;

struct Result {
  std::vector<std::string> items;  // messages, and "<ping>"
  bool error = false;
  bool operator==(const Result& o) const { return items == o.items && error == o.error; }
};

const StreamFramer::Limits kLimits{2048, 4096};

void drain(StreamFramer& framer, Result& out) {
  std::string m;
  for (;;) {
    switch (framer.next(&m)) {
      case StreamFramer::Next::Message: out.items.push_back(m); break;
      case StreamFramer::Next::Ping: out.items.emplace_back("<ping>"); break;
      case StreamFramer::Next::NeedMore: return;
      case StreamFramer::Next::Error: out.error = true; return;
    }
    // Whatever it holds unframed fits its caps (plus one read's worth, which feed() appends whole).
    if (framer.buffered() > kLimits.maxHeader + kLimits.maxBody + 65536) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  // The first byte seeds the cut points; the rest is the stream.
  const unsigned seed = data[0];
  const std::string_view stream(reinterpret_cast<const char*>(data + 1), size - 1);

  Result whole;
  StreamFramer once(kLimits);
  once.feed(stream);
  drain(once, whole);

  Result chunked;
  StreamFramer pieces(kLimits);
  std::size_t at = 0, step = seed % 7 + 1;
  while (at < stream.size() && !chunked.error) {
    const std::size_t n = std::min(step, stream.size() - at);
    pieces.feed(stream.substr(at, n));
    drain(pieces, chunked);
    at += n;
    step = (step * 31 + seed) % 97 + 1;
  }
  // An error may be found later in the whole (the same bytes are there), never a different message.
  if (chunked.error != whole.error) std::abort();
  if (!(chunked == whole)) std::abort();
  return 0;
}
