#include "common/ids.hpp"
#include "common/openssl_init.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>

#include <array>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace daily::detail {
namespace {

// OpenSSL's CSPRNG, drawn in blocks: a RAND_bytes call per SIP branch or tag (several per request the gateway
// sends) showed in the gateway's profile. Each thread keeps its own block, hands every byte out once and wipes it;
// a forked child discards the block it inherited, so parent and child never share a value.
struct RandomPool {
  std::array<unsigned char, 512> bytes{};
  std::size_t next = bytes.size();  // empty
};
thread_local RandomPool pool;

void discardPoolInChild() { pool.next = pool.bytes.size(); }  // (after fork, only the forking thread exists)

void fillRandom(unsigned char* data, std::size_t size) {
  static const bool ready = [] {
    initOpenSsl();
    pthread_atfork(nullptr, nullptr, &discardPoolInChild);
    return true;
  }();
  (void)ready;
  if (size > pool.bytes.size() / 8) {
    if (RAND_bytes(data, static_cast<int>(size)) != 1) throw std::runtime_error("OpenSSL RAND_bytes failed");
    return;
  }
  if (pool.bytes.size() - pool.next < size) {
    if (RAND_bytes(pool.bytes.data(), static_cast<int>(pool.bytes.size())) != 1)
      throw std::runtime_error("OpenSSL RAND_bytes failed");
    pool.next = 0;
  }
  std::memcpy(data, pool.bytes.data() + pool.next, size);
  OPENSSL_cleanse(pool.bytes.data() + pool.next, size);
  pool.next += size;
}

std::string toHex(const unsigned char* data, std::size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 0x0f]);
  }
  return out;
}

}  // namespace

std::string newUuid() {
  std::array<unsigned char, 16> b{};
  fillRandom(b.data(), b.size());
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  const std::string hex = toHex(b.data(), b.size());
  return hex.substr(0, 8) + '-' + hex.substr(8, 4) + '-' + hex.substr(12, 4) + '-' + hex.substr(16, 4) + '-' +
         hex.substr(20);
}

std::string randomHex(std::size_t bytes) {
  std::array<unsigned char, 64> small{};
  std::vector<unsigned char> large;
  unsigned char* b = small.data();
  if (bytes > small.size()) {
    large.resize(bytes);
    b = large.data();
  }
  fillRandom(b, bytes);
  return toHex(b, bytes);
}

}  // namespace daily::detail
