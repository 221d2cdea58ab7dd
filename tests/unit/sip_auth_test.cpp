// Digest authentication (RFC 7616, RFC 8760, RFC 3261 22.2): the digest against the RFC's own examples, which
// challenge is answered with which credentials, and the server side's challenges and verdicts.
#include "sip/auth.hpp"

#include <gtest/gtest.h>

namespace daily::devserver::sip {
namespace {

// RFC 7616 3.9.1 (the same inputs for both algorithms).
DigestInput rfc7616(const std::string& algorithm) {
  DigestInput in;
  in.algorithm = algorithm;
  in.user = "Mufasa";
  in.realm = "http-auth@example.org";
  in.password = "Circle of Life";
  in.method = "GET";
  in.uri = "/dir/index.html";
  in.nonce = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
  in.qop = "auth";
  in.nc = "00000001";
  in.cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
  return in;
}

TEST(Digest, MatchesRfc7616sExamples) {
  EXPECT_EQ(digestResponse(rfc7616("MD5")), "8ca523f5e9506fed4657c9700eebdbec");
  EXPECT_EQ(digestResponse(rfc7616("SHA-256")), "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
  EXPECT_EQ(digestResponse(rfc7616("md5")), "8ca523f5e9506fed4657c9700eebdbec");  // names are case-insensitive
  EXPECT_EQ(digestResponse(rfc7616("MD5-sess")), "");  // not offered
}

TEST(Digest, WithoutQopIsRfc2069sForm) {
  DigestInput in = rfc7616("MD5");
  in.qop.clear();
  // H(H(A1):nonce:H(A2)) (RFC 2617 3.2.2.1 without qop), computed apart with Python's hashlib.
  EXPECT_EQ(digestResponse(in), "7b2cc3b30e75b4777ea31027084363fd");
}

TEST(Credentials, AreReadAsUserPasswordAndAnOptionalRealm) {
  std::string why;
  auto c = parseCredentials("alice:s3cret@sip.example.com", &why);
  ASSERT_TRUE(c) << why;
  EXPECT_EQ(c->user, "alice");
  EXPECT_EQ(c->password, "s3cret");
  EXPECT_EQ(c->realm, "sip.example.com");
  c = parseCredentials("bob:pa:ss", &why);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->password, "pa:ss");
  EXPECT_EQ(c->realm, "");
  c = parseCredentials("carol:p@ss@realm", &why);  // the realm is after the last '@'
  ASSERT_TRUE(c);
  EXPECT_EQ(c->password, "p@ss");
  EXPECT_EQ(c->realm, "realm");
  EXPECT_FALSE(parseCredentials("nopassword", &why));
  EXPECT_FALSE(parseCredentials(":p", &why));
  EXPECT_FALSE(parseCredentials("a\"b:p", &why));  // a quote would break the header it goes into
}

// A response to request with these challenge headers.
MessagePtr challenge(int status, const std::vector<std::string>& headers) {
  std::string text = "SIP/2.0 " + std::to_string(status) + " Unauthorized\r\n"
                     "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-1\r\n"
                     "From: <sip:room@127.0.0.1>;tag=us\r\nTo: <sip:bob@127.0.0.1>;tag=them\r\n"
                     "Call-ID: c1\r\nCSeq: 2 REFER\r\n";
  for (const auto& h : headers) text += h + "\r\n";
  text += "Content-Length: 0\r\n\r\n";
  std::string why;
  auto m = parse(text, &why);
  EXPECT_TRUE(m) << why;
  return m;
}

MessagePtr refer() {
  return newRequest("REFER", "sip:bob@127.0.0.1:5070", "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-1",
                    "<sip:room@127.0.0.1>;tag=us", "<sip:bob@127.0.0.1>;tag=them", "c1", 2);
}

TEST(Challenge, IsAnsweredWithTheDigestOfTheRequest) {
  auto r = refer();
  auto c = challenge(401, {"WWW-Authenticate: Digest realm=\"sip.test\", nonce=\"abc\", qop=\"auth\", opaque=\"xyz\""});
  auto answer = answerChallenge(c.get(), r.get(), {{"alice", "s3cret", "sip.test"}});
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->first, "Authorization");
  const std::string& v = answer->second;
  EXPECT_EQ(v.rfind("Digest username=\"alice\", realm=\"sip.test\", nonce=\"abc\", uri=\"sip:bob@127.0.0.1:5070\"", 0), 0u) << v;
  EXPECT_NE(v.find("algorithm=MD5"), std::string::npos);
  EXPECT_NE(v.find("qop=auth, nc=00000001, cnonce=\""), std::string::npos);
  EXPECT_NE(v.find("opaque=\"xyz\""), std::string::npos);
  EXPECT_EQ(v.find("s3cret"), std::string::npos);  // the password never
  // The response value is the digest of exactly these inputs.
  const std::size_t cn = v.find("cnonce=\"") + 8;
  DigestInput in;
  in.user = "alice";
  in.realm = "sip.test";
  in.password = "s3cret";
  in.method = "REFER";
  in.uri = "sip:bob@127.0.0.1:5070";
  in.nonce = "abc";
  in.qop = "auth";
  in.nc = "00000001";
  in.cnonce = v.substr(cn, v.find('"', cn) - cn);
  EXPECT_NE(v.find("response=\"" + digestResponse(in) + "\""), std::string::npos) << v;
}

TEST(Challenge, A407IsAnsweredForTheProxy) {
  auto r = refer();
  auto c = challenge(407, {"Proxy-Authenticate: Digest realm=\"proxy\", nonce=\"n\""});
  auto answer = answerChallenge(c.get(), r.get(), {{"alice", "pw", ""}});  // any realm
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->first, "Proxy-Authorization");
  EXPECT_EQ(answer->second.find("qop="), std::string::npos);  // none offered
}

TEST(Challenge, Sha256IsPreferredWhenBothAreOffered) {
  auto r = refer();
  auto c = challenge(401, {"WWW-Authenticate: Digest realm=\"r\", nonce=\"n1\", algorithm=MD5, qop=\"auth\"",
                           "WWW-Authenticate: Digest realm=\"r\", nonce=\"n2\", algorithm=SHA-256, qop=\"auth\""});
  auto answer = answerChallenge(c.get(), r.get(), {{"alice", "pw", "r"}});
  ASSERT_TRUE(answer);
  EXPECT_NE(answer->second.find("algorithm=SHA-256"), std::string::npos) << answer->second;
  EXPECT_NE(answer->second.find("nonce=\"n2\""), std::string::npos);
}

TEST(Challenge, IsNotAnsweredWithoutCredentialsForItsRealmOrWhatItAsks) {
  auto r = refer();
  auto c = challenge(401, {"WWW-Authenticate: Digest realm=\"other\", nonce=\"n\""});
  EXPECT_FALSE(answerChallenge(c.get(), r.get(), {{"alice", "pw", "sip.test"}}));
  EXPECT_FALSE(answerChallenge(c.get(), r.get(), {}));
  auto intOnly = challenge(401, {"WWW-Authenticate: Digest realm=\"r\", nonce=\"n\", qop=\"auth-int\""});
  EXPECT_FALSE(answerChallenge(intOnly.get(), r.get(), {{"alice", "pw", ""}}));
  auto sess = challenge(401, {"WWW-Authenticate: Digest realm=\"r\", nonce=\"n\", algorithm=MD5-sess"});
  EXPECT_FALSE(answerChallenge(sess.get(), r.get(), {{"alice", "pw", ""}}));
  auto basic = challenge(401, {"WWW-Authenticate: Basic realm=\"r\""});
  EXPECT_FALSE(answerChallenge(basic.get(), r.get(), {{"alice", "pw", ""}}));
}

// The server side: an INVITE answering one of DigestServer's challenges, built as a caller would.
struct DialInAuth : ::testing::Test {
  DigestServer server{{{"trunk", "pa55", "calls.test"}}, /*sha256=*/true};
  std::chrono::system_clock::time_point now = std::chrono::system_clock::now();

  static std::string param(const std::string& challenge, const std::string& name) {
    const std::size_t at = challenge.find(name + "=");
    if (at == std::string::npos) return {};
    std::size_t begin = at + name.size() + 1, end;
    if (challenge[begin] == '"') end = challenge.find('"', ++begin);
    else end = challenge.find_first_of(", ", begin);
    return challenge.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
  }
  // An INVITE to uri with an Authorization for user/password over the nonce of challenge (the request's own
  // Request-URI in the digest unless digestUri says another).
  MessagePtr invite(const std::string& challenge, const std::string& user, const std::string& password,
                    const std::string& digestUri = {}) {
    const std::string uri = "sip:abc@127.0.0.1:5060";
    auto m = newRequest("INVITE", uri, "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-a", "<sip:c@127.0.0.1>;tag=c",
                        "<" + uri + ">", "auth-1", 2);
    DigestInput in{param(challenge, "algorithm"), user, "calls.test", password, "INVITE",
                   digestUri.empty() ? uri : digestUri, param(challenge, "nonce"), "auth", "00000001", "0a1b2c3d"};
    addHeader(m.get(), "Authorization",
              "Digest username=\"" + user + "\", realm=\"calls.test\", nonce=\"" + in.nonce + "\", uri=\"" + in.uri +
                  "\", response=\"" + digestResponse(in) + "\", algorithm=" + in.algorithm +
                  ", qop=auth, nc=00000001, cnonce=\"0a1b2c3d\"");
    return parse(serialize(m.get()), nullptr);  // as it arrives: its Authorization parsed
  }
};

TEST_F(DialInAuth, ChallengesOfferSha256FirstWhenAskedAndMd5InTheAccountsRealm) {
  ASSERT_EQ(DigestServer({{"trunk", "pa55", "calls.test"}}).challenges(now, false).size(), 1u);  // MD5 alone
  const auto c = server.challenges(now, false);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(param(c[0], "algorithm"), "SHA-256");
  EXPECT_EQ(param(c[1], "algorithm"), "MD5");
  EXPECT_EQ(param(c[0], "realm"), "calls.test");
  EXPECT_EQ(param(c[0], "qop"), "auth");
  EXPECT_EQ(c[0].find("stale"), std::string::npos);
  EXPECT_NE(server.challenges(now, true)[0].find("stale=true"), std::string::npos);
  EXPECT_EQ(c[0].find("pa55"), std::string::npos);
}

TEST_F(DialInAuth, AcceptsTheRightDigestInEitherAlgorithm) {
  for (const auto& challenge : server.challenges(now, false))
    EXPECT_EQ(server.check(invite(challenge, "trunk", "pa55").get(), now), DigestServer::Verdict::Accepted) << challenge;
}

TEST_F(DialInAuth, RefusesAWrongPasswordUserUriOrNonce) {
  const std::string challenge = server.challenges(now, false)[0];
  EXPECT_EQ(server.check(invite(challenge, "trunk", "wrong").get(), now), DigestServer::Verdict::Wrong);
  EXPECT_EQ(server.check(invite(challenge, "mallory", "pa55").get(), now), DigestServer::Verdict::Wrong);
  EXPECT_EQ(server.check(invite(challenge, "trunk", "pa55", "sip:other@127.0.0.1").get(), now), DigestServer::Verdict::Wrong);
  // sipp's form of the Request-URI (without its user part) is taken; another host's is not.
  EXPECT_EQ(server.check(invite(challenge, "trunk", "pa55", "sip:127.0.0.1:5060").get(), now), DigestServer::Verdict::Accepted);
  EXPECT_EQ(server.check(invite(challenge, "trunk", "pa55", "sip:127.0.0.2:5060").get(), now), DigestServer::Verdict::Wrong);
  // A nonce we did not make (its time altered, or made under another secret) does not check out.
  std::string forged = challenge;
  const std::string nonce = param(challenge, "nonce");
  forged.replace(forged.find(nonce), 1, nonce[0] == '0' ? "1" : "0");
  EXPECT_EQ(server.check(invite(forged, "trunk", "pa55").get(), now), DigestServer::Verdict::Wrong);
  DigestServer other{{{"trunk", "pa55", "calls.test"}}};
  EXPECT_EQ(other.check(invite(challenge, "trunk", "pa55").get(), now), DigestServer::Verdict::Wrong);
}

TEST_F(DialInAuth, NoAuthorizationForItsRealmIsMissingAndAnOldNonceStale) {
  auto bare = newRequest("INVITE", "sip:abc@127.0.0.1", "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-b",
                         "<sip:c@127.0.0.1>;tag=c", "<sip:abc@127.0.0.1>", "auth-2", 1);
  EXPECT_EQ(server.check(bare.get(), now), DigestServer::Verdict::Missing);
  const std::string old = server.challenges(now - DigestServer::kNonceLifetime - std::chrono::seconds(1), false)[0];
  EXPECT_EQ(server.check(invite(old, "trunk", "pa55").get(), now), DigestServer::Verdict::Stale);
  EXPECT_EQ(server.check(invite(old, "trunk", "wrong").get(), now), DigestServer::Verdict::Wrong);
}

TEST(DialInAuthRealm, IsTheFirstAccountsOrTheDevserversOwn) {
  EXPECT_EQ(DigestServer({{"a", "b", ""}}).realm(), "daily-devserver");
  EXPECT_EQ(DigestServer({{"a", "b", "pbx.test"}, {"c", "d", "other.test"}}).realm(), "pbx.test");
  EXPECT_FALSE(DigestServer({}).enabled());
}

}  // namespace
}  // namespace daily::devserver::sip
