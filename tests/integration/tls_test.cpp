// TLS end to end: the devserver serving https:// and wss:// with a certificate made for the test by a CA made
// for the test. The SDK verifies certificates and host names by default; the opt-out works; a bad certificate
// is refused with a typed error, and nothing reaches the room.

#include "certificates.hpp"
#include "devserver_fixture.hpp"
#include "events.hpp"
#include "process.hpp"

#include <daily/daily.hpp>

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

namespace daily::test {
namespace {

using nlohmann::json;

devserver::Options tlsServer(const std::string& cert, const std::string& key) {
  devserver::Options o;
  o.apiKey = kApiKey;
  o.tlsCertFile = cert;
  o.tlsKeyFile = key;
  return o;
}

RestClient rest(const InProcessServer& server, RestClientOptions options = {}) {
  options.apiKey = kApiKey;
  options.baseUrl = server.httpUrl() + "/v1";
  options.maxRetries = 0;
  return RestClient(options);
}

class TlsTest : public ::testing::Test {
 protected:
  const Certificates& certs = certificates();
  InProcessServer good{tlsServer(certs.goodCert, certs.goodKey)};
  InProcessServer wrongHost{tlsServer(certs.wrongHostCert, certs.wrongHostKey)};
};

TEST_F(TlsTest, TheDevserverServesHttpsAndWssAndTheSdkTrustsTheGivenCa) {
  ASSERT_EQ(good.httpUrl().rfind("https://127.0.0.1:", 0), 0u) << good.httpUrl();
  RestClient api = rest(good, {.caFile = certs.ca});
  const Room room = api.createRoom({.name = "secure"});
  EXPECT_EQ(room.url.rfind("https://", 0), 0u);
  CallClient client(CallClientOptions{.caFile = certs.ca});
  const json joined = await(client.join({.url = room.url, .userName = "bot"}));
  EXPECT_EQ(joined["local"]["user_name"], "bot");
  EXPECT_EQ(client.meetingState(), "joined-meeting");
}

TEST_F(TlsTest, ACertificateFromAnUntrustedCaIsRefusedByDefault) {
  RestClient trusted = rest(good, {.caFile = certs.ca});
  const Room room = trusted.createRoom({.name = "secure"});
  // The system's CA store does not know the test's CA.
  CallClient client;
  EventRecorder events(client);
  Error e = expectError([&] { await(client.join({.url = room.url})); });
  EXPECT_EQ(e.code(), ErrorCode::ConnectionLost) << e.what();
  EXPECT_NE(std::string(e.what()).find("certificate refused: unable to get local issuer certificate"), std::string::npos)
      << e.what();
  EXPECT_EQ(client.meetingState(), "error");
  RestClient untrusting = rest(good);
  Error r = expectError([&] { untrusting.listRooms(); });
  EXPECT_EQ(r.code(), ErrorCode::ConnectionLost) << r.what();
  EXPECT_EQ(r.httpStatus(), 0);
  // Nothing reached the room.
  EXPECT_EQ(trusted.getRoom("secure").name, "secure");
  CallClient watcher(CallClientOptions{.caFile = certs.ca});
  EXPECT_EQ(await(watcher.join({.url = room.url})).size(), 1u);
}

TEST_F(TlsTest, ACertificateForAnotherHostIsRefusedEvenFromATrustedCa) {
  RestClient wrong = rest(wrongHost, {.caFile = certs.ca});
  Error r = expectError([&] { wrong.createRoom({.name = "secure"}); });
  EXPECT_EQ(r.code(), ErrorCode::ConnectionLost) << r.what();
  CallClient client(CallClientOptions{.caFile = certs.ca});
  Error e = expectError([&] { await(client.join({.url = wrongHost.httpUrl() + "/secure"})); });
  EXPECT_EQ(e.code(), ErrorCode::ConnectionLost) << e.what();
  EXPECT_NE(std::string(e.what()).find("certificate refused: the certificate is not for host 127.0.0.1"), std::string::npos)
      << e.what();
}

TEST_F(TlsTest, VerificationCanBeTurnedOffForLocalUse) {
  RestClient api = rest(wrongHost, {.verifyTls = false});
  const Room room = api.createRoom({.name = "local"});
  CallClient client(CallClientOptions{.verifyTls = false});
  EXPECT_EQ(await(client.join({.url = room.url})).size(), 1u);
}

TEST_F(TlsTest, APlainClientGetsNoAnswerFromATlsServer) {
  const std::string plainUrl = "http://" + good.httpUrl().substr(std::string("https://").size());
  CallClient client(CallClientOptions{.connectTimeout = 2s});
  Error e = expectError([&] { await(client.join({.url = plainUrl + "/secure"})); });
  EXPECT_EQ(e.code(), ErrorCode::ConnectionLost) << e.what();
}

TEST(TlsConfig, TheDevserverRefusesToStartWithABadOrMismatchedKeyPair) {
  const Certificates& certs = certificates();
  EXPECT_THROW(InProcessServer(tlsServer(certs.goodCert, certs.wrongHostKey)), std::exception);
  EXPECT_THROW(InProcessServer(tlsServer(certs.goodCert, certs.dir + "/missing.key")), std::exception);
  EXPECT_THROW(InProcessServer(tlsServer(certs.goodCert, "")), std::exception);
}

TEST(TlsConfig, TheDevserverBinaryServesTlsFromItsFlags) {
  const Certificates& certs = certificates();
  ChildServer server({"--tls-cert", certs.goodCert, "--tls-key", certs.goodKey});
  EXPECT_EQ(server.httpUrl().rfind("https://127.0.0.1:", 0), 0u) << server.httpUrl();
  RestClient api(RestClientOptions{.apiKey = kApiKey, .baseUrl = server.httpUrl() + "/v1", .caFile = certs.ca});
  const Room room = api.createRoom({.name = "from-flags"});
  CallClient client(CallClientOptions{.caFile = certs.ca});
  EXPECT_EQ(await(client.join({.url = room.url})).size(), 1u);
}

TEST(TlsConfig, TheDevserverBinaryServesSipOverTlsFromItsFlags) {
  const Certificates& certs = certificates();
  ChildServer server({"--sip-tls-cert", certs.goodCert, "--sip-tls-key", certs.goodKey, "--sip-tls-ca", certs.ca});
  ASSERT_TRUE(server.ready().contains("sip_tls_port")) << server.ready().dump();
  const int port = server.ready()["sip_tls_port"];
  EXPECT_NE(port, 0);
  // openssl's own client completes a verified handshake with it.
  const std::string dir = tempDir("daily-sip-tls");
  const std::string command = "openssl s_client -connect 127.0.0.1:" + std::to_string(port) + " -CAfile " + certs.ca +
                              " -verify_ip 127.0.0.1 -verify_return_error </dev/null >" + dir + "/s_client.log 2>&1";
  EXPECT_EQ(std::system(command.c_str()), 0) << readFile(dir + "/s_client.log");
  // Without both files there is no TLS port, and one without the other is a usage error.
  EXPECT_FALSE(ChildServer().ready().contains("sip_tls_port"));
  Process half({DAILY_DEVSERVER_PATH, "--sip-tls-cert", certs.goodCert}, dir, dir + "/half.log");
  EXPECT_EQ(half.wait(10s), 2) << readFile(dir + "/half.log");
}

}  // namespace
}  // namespace daily::test
