// SIP URI and header validation: the gate in front of every string that reaches a SIP header.
#include <daily/sip_uri.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (daily::validateSipUri(text).empty()) {
    // Anything accepted must be safe inside <...> in a header: no CR, LF, NUL, '<', '>' or '"'.
    for (char c : text)
      if (c == '\r' || c == '\n' || c == '\0' || c == '<' || c == '>' || c == '"') std::abort();
  }
  const std::size_t split = text.find(':');
  if (split != std::string_view::npos && daily::validateSipHeader(text.substr(0, split), text.substr(split + 1)).empty()) {
    for (char c : text.substr(split + 1))
      if (c == '\r' || c == '\n' || c == '\0') std::abort();
  }
  return 0;
}
