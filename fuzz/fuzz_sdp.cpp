// Offers and answers from SIP peers, through libosip2's SDP parser and the gateway's offer/answer.
#include "media/sdp.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

using namespace daily::devserver::media;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  LocalSdp local("127.0.0.1", 20000);
  Negotiated negotiated;
  std::string why;
  if (auto answer = local.answer(text, &negotiated, &why)) {
    // What the gateway answers is SDP it can read back as an answer to an offer.
    LocalSdp again("127.0.0.1", 20002);
    (void)again.offer();
    if (!again.accept(*answer, &negotiated, &why)) std::abort();
  }
  (void)local.accept(text, &negotiated, &why);
  return 0;
}
