#include "certificates.hpp"

#include "process.hpp"

#include <cstdlib>
#include <fstream>
#include <stdexcept>

namespace daily::test {

Certificates::Certificates() : dir(tempDir("daily-certs")) {
  ca = dir + "/ca.pem";
  goodCert = dir + "/good.pem", goodKey = dir + "/good.key";
  wrongHostCert = dir + "/wrong-host.pem", wrongHostKey = dir + "/wrong-host.key";
  wrongHostBundle = dir + "/wrong-host-chain.pem";
  peerCert = dir + "/peer.pem", peerKey = dir + "/peer.key", peerBundle = dir + "/peer-chain.pem";
  run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=daily-test-ca"
      " -keyout ca.key -out ca.pem");
  leaf("good", "IP:127.0.0.1,DNS:localhost");
  leaf("wrong-host", "DNS:example.com");
  leaf("peer", "IP:127.0.0.1");
}

void Certificates::leaf(const std::string& name, const std::string& san) {
  std::ofstream(dir + "/" + name + ".ext") << "subjectAltName=" << san << "\n";
  run("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=" + name + " -keyout " + name +
      ".key -out " + name + ".csr");
  run("openssl x509 -req -in " + name + ".csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile " + name +
      ".ext -out " + name + ".pem");
  std::ofstream(dir + "/" + name + "-chain.pem") << readFile(dir + "/" + name + ".pem") << readFile(dir + "/" + name + ".key");
}

void Certificates::run(const std::string& command) const {
  const std::string line = "cd '" + dir + "' && " + command + " >>openssl.log 2>&1";
  if (std::system(line.c_str()) != 0) throw std::runtime_error("failed: " + command + "\n" + readFile(dir + "/openssl.log"));
}

const Certificates& certificates() {
  static const Certificates made;
  return made;
}

devserver::Options withSipTls(devserver::Options options) {
  const Certificates& certs = certificates();
  options.sipTlsCertFile = certs.goodCert;
  options.sipTlsKeyFile = certs.goodKey;
  options.sipTlsCaFile = certs.ca;
  return options;
}

}  // namespace daily::test
