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
  // The same over TLS, where SDES keys are taken: an answer with SRTP carries a key of ours that reads back.
  LocalSdp secure("127.0.0.1", 20004, SrtpPolicy::Optional);
  if (auto answer = secure.answer(text, &negotiated, &why); answer && negotiated.srtp) {
    const auto at = answer->find("a=crypto:");
    if (at == std::string::npos) std::abort();
    auto crypto = parseCrypto(answer->substr(at + 9, answer->find("\r\n", at) - at - 9));
    if (!crypto || crypto->key != negotiated.srtp->local || negotiated.srtp->remote.size() != kSrtpKeyBytes) std::abort();
  }
  (void)secure.offer();
  (void)secure.accept(text, &negotiated, &why);
  return 0;
}
