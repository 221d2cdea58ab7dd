// The meeting-token verifier (untrusted input from any client) and the token builder (REST properties).
#include "tokens.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const daily::devserver::TokenSigner signer("fuzz-secret", "fuzz-domain");
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  daily::devserver::TokenError error;
  auto claims = signer.verify(text, "room", false, &error);
  if (claims) (void)claims->toProperties();
  const nlohmann::json properties = nlohmann::json::parse(text, nullptr, false);
  if (!properties.is_discarded()) {
    std::string why;
    if (auto token = signer.create(properties, &why)) {
      // Whatever it built must verify (or be refused for expiry/nbf), never crash.
      (void)signer.verify(*token, "", true, &error);
    }
  }
  return 0;
}
