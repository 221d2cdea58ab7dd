#include "common/openssl_init.hpp"

#include <openssl/crypto.h>

namespace daily::detail {

void initOpenSsl() {
  static const bool done = OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, nullptr) == 1;
  (void)done;
}

}  // namespace daily::detail
