// The signaling frame decoders both sides use on everything the network hands them. decodeEvent(), the client's
// shortcut for event frames, must agree with decodeFrame() on every input: the fuzzer aborts where they differ.
#include "common/protocol.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string why;
  auto frame = daily::protocol::decodeFrame(text, &why);
  if (frame && frame->error) (void)daily::protocol::toError(*frame->error);
  if (frame && frame->type == daily::protocol::FrameType::Event) (void)daily::protocol::encodeEvent(frame->action, frame->payload);

  std::string whyEvent;
  auto event = daily::protocol::decodeEvent(text, &whyEvent);
  if (frame.has_value() != event.has_value() || why != whyEvent) std::abort();
  if (frame && (frame->type != event->type || frame->action != event->action || frame->payload != event->payload ||
                frame->id != event->id || frame->method != event->method))
    std::abort();
  return 0;
}
