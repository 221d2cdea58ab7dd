// The signaling frame decoder both sides use on everything the network hands them.
#include "common/protocol.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string why;
  auto frame = daily::protocol::decodeFrame(text, &why);
  if (frame && frame->error) (void)daily::protocol::toError(*frame->error);
  if (frame && frame->type == daily::protocol::FrameType::Event) (void)daily::protocol::encodeEvent(frame->action, frame->payload);
  return 0;
}
