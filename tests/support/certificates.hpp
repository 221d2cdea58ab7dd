#pragma once

// Certificates made for a test by a CA made for the test (openssl's command line; EC keys keep it quick).

#include "devserver.hpp"

#include <string>

namespace daily::test {

struct Certificates {
  /// A CA, and leaves it signed: "good" for 127.0.0.1 and localhost, "wrong-host" for example.com only, and
  /// "peer" for 127.0.0.1 (a SIP peer's own). Each leaf also comes as NAME-chain.pem: certificate then key, in
  /// one file, as baresip wants it.
  Certificates();

  std::string dir;
  std::string ca;
  std::string goodCert, goodKey;
  std::string wrongHostCert, wrongHostKey, wrongHostBundle;
  std::string peerCert, peerKey, peerBundle;

 private:
  void leaf(const std::string& name, const std::string& san);
  void run(const std::string& command) const;
};

/// One set for the whole test program.
const Certificates& certificates();

/// options serving SIP over TLS with the test's "good" certificate, and verifying TLS peers against its CA.
devserver::Options withSipTls(devserver::Options options);

}  // namespace daily::test
