// The media engine's pure parts, without a socket: RTP and RFC 4733 on the wire, the jitter buffer, SDP
// offer/answer (RFC 3264) with SDES (RFC 4568), and SRTP (RFC 3711) over libsrtp2.

#include "media/jitter.hpp"
#include "media/rtp.hpp"
#include "media/sdp.hpp"
#include "media/srtp.hpp"

#include "common/base64.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace daily::devserver::media {
namespace {

std::string packetOf(const std::vector<std::uint8_t>& bytes) { return std::string(bytes.begin(), bytes.end()); }

TEST(Rtp, AHeaderWrittenIsReadBack) {
  std::vector<std::uint8_t> out;
  const std::uint8_t payload[] = {1, 2, 3};
  writeRtp(out, true, 8, 0xfffe, 0x80000001, 0xdeadbeef, payload, 3);
  const std::string datagram = packetOf(out);  // the packet's payload is a view into it
  auto p = parseRtp(datagram);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->marker);
  EXPECT_EQ(p->payloadType, 8);
  EXPECT_EQ(p->sequence, 0xfffe);
  EXPECT_EQ(p->timestamp, 0x80000001u);
  EXPECT_EQ(p->ssrc, 0xdeadbeefu);
  EXPECT_EQ(p->payload, std::string("\x01\x02\x03", 3));
}

TEST(Rtp, CsrcsExtensionAndPaddingAreStripped) {
  // Version 2, padding, extension, 1 CSRC; PT 0.
  std::string d = {'\xb1', '\x00', 0, 1, 0, 0, 0, 2, 0, 0, 0, 3};
  d += std::string(4, '\x07');                       // the CSRC
  d += std::string("\xbe\xde\x00\x01", 4) + "abcd";  // extension: one word
  d += "xy";                                          // payload
  d += std::string("\x00\x00\x03", 3);                // three bytes of padding, the last giving the count
  auto p = parseRtp(d);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->payload, "xy");
}

TEST(Rtp, WhatIsNotRtpIsRefused) {
  EXPECT_FALSE(parseRtp(""));
  EXPECT_FALSE(parseRtp(std::string(11, '\x80')));
  EXPECT_FALSE(parseRtp(std::string("\x40\x00", 2) + std::string(10, '\0')));        // version 1
  EXPECT_FALSE(parseRtp(std::string("\x8f\x00", 2) + std::string(10, '\0')));        // 15 CSRCs that are not there
  EXPECT_FALSE(parseRtp(std::string("\x90\x00", 2) + std::string(10, '\0') + "\xbe\xde\x00\x09"));  // extension too long
  EXPECT_FALSE(parseRtp(std::string("\xa0\x00", 2) + std::string(9, '\0') + "\x00"));  // padding count 0
  EXPECT_FALSE(parseRtp(std::string("\xa0\x00", 2) + std::string(9, '\0') + "\x40"));  // more padding than packet
  EXPECT_FALSE(parseRtp(std::string("\x80\xc8", 2) + std::string(10, '\0')));        // RTCP sender report
}

TEST(Rtp, G711RoundTripsWithinItsQuantisation) {
  for (Codec codec : {Codec::Pcmu, Codec::Pcma}) {
    std::vector<std::int16_t> in(160), out(160);
    for (std::size_t i = 0; i < in.size(); ++i) in[i] = static_cast<std::int16_t>(8000 * std::sin(i * 0.3));
    std::vector<std::uint8_t> bytes(160);
    encodeG711(codec, in.data(), in.size(), bytes.data());
    decodeG711(codec, bytes.data(), bytes.size(), out.data());
    for (std::size_t i = 0; i < in.size(); ++i) EXPECT_NEAR(out[i], in[i], 260) << i;
  }
  std::int16_t silence = 0;
  std::uint8_t byte = 0;
  encodeG711(Codec::Pcmu, &silence, 1, &byte);
  EXPECT_EQ(byte, 0xff);  // mu-law's zero
}

TEST(Rtp, TelephoneEventsAndTheirKeys) {
  std::vector<std::uint8_t> out;
  writeTelephoneEvent(out, {11, true, 10, 1200});
  auto e = parseTelephoneEvent(packetOf(out));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->event, 11);
  EXPECT_TRUE(e->end);
  EXPECT_EQ(e->volume, 10);
  EXPECT_EQ(e->duration, 1200);
  EXPECT_FALSE(parseTelephoneEvent("abc"));
  EXPECT_EQ(dtmfTone(0), '0');
  EXPECT_EQ(dtmfTone(10), '*');
  EXPECT_EQ(dtmfTone(11), '#');
  EXPECT_EQ(dtmfTone(15), 'D');
  EXPECT_EQ(dtmfTone(16), 0);  // flash is not a key
  EXPECT_EQ(dtmfEvent('#'), 11);
  EXPECT_EQ(dtmfEvent('x'), -1);
}

// --- jitter buffer ---

std::vector<std::int16_t> frameOf(std::int16_t value) { return std::vector<std::int16_t>(160, value); }

TEST(JitterBufferTest, PlaysPacketsInTimestampOrderAfterItsDelay) {
  JitterBuffer jb(320);  // 40 ms
  // Packets 2 and 1 swapped on the way.
  EXPECT_EQ(jb.put(10, 1000, frameOf(1).data(), 160), JitterBuffer::Put::Stored);
  EXPECT_EQ(jb.put(12, 1320, frameOf(3).data(), 160), JitterBuffer::Put::Stored);
  EXPECT_EQ(jb.put(11, 1160, frameOf(2).data(), 160), JitterBuffer::Put::Stored);
  std::vector<std::int16_t> out(160);
  EXPECT_FALSE(jb.pull(out.data(), 160));  // the delay: nothing yet
  EXPECT_FALSE(jb.pull(out.data(), 160));
  for (std::int16_t want : {1, 2, 3}) {
    ASSERT_TRUE(jb.pull(out.data(), 160));
    EXPECT_EQ(out[0], want);
    EXPECT_EQ(out[159], want);
  }
  EXPECT_EQ(jb.counters().reordered, 1u);
  EXPECT_EQ(jb.counters().concealed, 0u);
}

TEST(JitterBufferTest, DropsDuplicatesAndLatePacketsAndCountsThem) {
  JitterBuffer jb(160);
  jb.put(1, 0, frameOf(1).data(), 160);
  EXPECT_EQ(jb.put(1, 0, frameOf(9).data(), 160), JitterBuffer::Put::Duplicate);
  std::vector<std::int16_t> out(160);
  jb.pull(out.data(), 160);  // the delay
  jb.pull(out.data(), 160);  // packet 1
  EXPECT_EQ(out[0], 1);
  jb.pull(out.data(), 160);  // packet 2's time passes without it
  EXPECT_EQ(jb.put(2, 160, frameOf(2).data(), 160), JitterBuffer::Put::Late);
  EXPECT_EQ(jb.counters().duplicates, 1u);
  EXPECT_EQ(jb.counters().late, 1u);
}

TEST(JitterBufferTest, ConcealsALostPacketThenFallsSilentWhenTheStreamStops) {
  JitterBuffer jb(160);
  std::vector<std::int16_t> tone(160);
  for (std::size_t i = 0; i < 160; ++i) tone[i] = static_cast<std::int16_t>(6000 * std::sin(i * 2 * M_PI / 20));
  for (std::uint16_t n = 0; n < 5; ++n) jb.put(n, n * 160u, tone.data(), 160);
  jb.put(6, 6 * 160u, tone.data(), 160);  // 5 is lost
  std::vector<std::int16_t> out(160);
  jb.pull(out.data(), 160);  // the delay
  for (int n = 0; n < 5; ++n) EXPECT_TRUE(jb.pull(out.data(), 160));
  EXPECT_TRUE(jb.pull(out.data(), 160));  // 5: concealed, not silence
  int loud = 0;
  for (auto v : out) loud += std::abs(v) > 500;
  EXPECT_GT(loud, 40);
  EXPECT_TRUE(jb.pull(out.data(), 160));  // 6
  EXPECT_EQ(jb.counters().concealed, 1u);
  // The stream stops: a little concealment, then silence and "nothing to mix".
  int pulls = 0;
  while (jb.pull(out.data(), 160) && pulls < 100) ++pulls;
  EXPECT_LE(pulls, 3);
  for (auto v : out) EXPECT_EQ(v, 0);
}

TEST(JitterBufferTest, AStreamThatJumpsOrComesBackStartsAgain) {
  JitterBuffer jb(160);
  std::vector<std::int16_t> out(160);
  jb.put(1, 0, frameOf(1).data(), 160);
  // A timestamp far beyond the buffer (a new sender clock): playout restarts at it.
  EXPECT_EQ(jb.put(2, 1'000'000, frameOf(2).data(), 160), JitterBuffer::Put::Restarted);
  jb.pull(out.data(), 160);
  ASSERT_TRUE(jb.pull(out.data(), 160));
  EXPECT_EQ(out[0], 2);
  // Quiet for a while, then back with a timestamp behind playout (a sender back from hold): not "late" forever.
  for (int i = 0; i < 20; ++i) jb.pull(out.data(), 160);
  EXPECT_EQ(jb.put(3, 1'000'000, frameOf(3).data(), 160), JitterBuffer::Put::Restarted);
  jb.pull(out.data(), 160);
  ASSERT_TRUE(jb.pull(out.data(), 160));
  EXPECT_EQ(out[0], 3);
}

TEST(JitterBufferTest, SequenceNumbersWrap) {
  JitterBuffer jb(160);
  EXPECT_EQ(jb.put(65535, 0, frameOf(1).data(), 160), JitterBuffer::Put::Stored);
  EXPECT_EQ(jb.put(0, 160, frameOf(2).data(), 160), JitterBuffer::Put::Stored);
  EXPECT_EQ(jb.put(65535, 0, frameOf(1).data(), 160), JitterBuffer::Put::Duplicate);
}

// --- SDP ---

const char* kOffer =
    "v=0\r\no=alice 2890844526 2890844526 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n"
    "m=audio 49170 RTP/AVP 9 8 0 101\r\na=rtpmap:9 G722/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-15\r\na=ptime:20\r\n";

std::string oLine(const std::string& sdp) { return sdp.substr(sdp.find("o="), sdp.find("\r\n", sdp.find("o=")) - sdp.find("o=")); }

// The o= line's fields: [1] is the session id, [2] the version.
std::vector<std::string> originFields(const std::string& sdp) {
  const std::string o = oLine(sdp);
  std::vector<std::string> f;
  for (std::size_t at = 0; at != std::string::npos;) {
    const auto space = o.find(' ', at);
    f.push_back(o.substr(at, space == std::string::npos ? space : space - at));
    at = space == std::string::npos ? space : space + 1;
  }
  return f;
}

TEST(Sdp, AnswersTheFirstG711FormatOfferedWithItsTelephoneEvent) {
  LocalSdp local("127.0.0.1", 20000);
  Negotiated n;
  std::string why;
  auto answer = local.answer(kOffer, &n, &why);
  ASSERT_TRUE(answer) << why;
  EXPECT_EQ(n.codec, Codec::Pcma);
  EXPECT_EQ(n.payloadType, 8);
  EXPECT_EQ(n.telephoneEvent, 101);
  EXPECT_EQ(n.address, "192.0.2.10");
  EXPECT_EQ(n.port, 49170);
  EXPECT_TRUE(n.send);
  EXPECT_TRUE(n.receive);
  EXPECT_NE(answer->find("m=audio 20000 RTP/AVP 8 101\r\n"), std::string::npos) << *answer;
  EXPECT_NE(answer->find("a=rtpmap:101 telephone-event/8000\r\n"), std::string::npos);
  EXPECT_NE(answer->find("a=sendrecv\r\n"), std::string::npos);
  EXPECT_NE(answer->find("c=IN IP4 127.0.0.1\r\n"), std::string::npos);
}

TEST(Sdp, AHoldIsAnsweredRecvonlyAndTheOriginVersionGrowsOnlyWithAChange) {
  LocalSdp local("127.0.0.1", 20000);
  Negotiated n;
  std::string why;
  const std::string first = *local.answer(kOffer, &n, &why);
  const std::string same = *local.answer(kOffer, &n, &why);
  EXPECT_EQ(oLine(first), oLine(same));  // nothing changed: the same version
  const std::string hold = *local.answer(std::string(kOffer) + "a=sendonly\r\n", &n, &why);
  EXPECT_NE(hold.find("a=recvonly\r\n"), std::string::npos) << hold;
  EXPECT_FALSE(n.send);
  EXPECT_TRUE(n.receive);
  // Same session id, version one up.
  const auto before = originFields(first), after = originFields(hold);
  EXPECT_EQ(before[1], after[1]);
  EXPECT_EQ(std::stoull(after[2]), std::stoull(before[2]) + 1);
  const std::string inactive = *local.answer(std::string(kOffer) + "a=inactive\r\n", &n, &why);
  EXPECT_NE(inactive.find("a=inactive\r\n"), std::string::npos);
  EXPECT_FALSE(n.send);
  EXPECT_FALSE(n.receive);
  // RFC 2543's hold: c=0.0.0.0 means "do not send to me".
  std::string old = kOffer;
  old.replace(old.find("c=IN IP4 192.0.2.10"), 19, "c=IN IP4 0.0.0.0");
  ASSERT_TRUE(local.answer(old, &n, &why));
  EXPECT_FALSE(n.send);
}

TEST(Sdp, StreamsItCannotTakeAreDeclinedInPlace) {
  LocalSdp local("127.0.0.1", 20000);
  const std::string offer =
      "v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n"
      "m=video 5000 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\nm=audio 5002 RTP/AVP 0\r\n";
  Negotiated n;
  std::string why;
  auto answer = local.answer(offer, &n, &why);
  ASSERT_TRUE(answer) << why;
  const auto video = answer->find("m=video 0 RTP/AVP 96\r\n");
  const auto audio = answer->find("m=audio 20000 RTP/AVP 0\r\n");
  ASSERT_NE(video, std::string::npos) << *answer;
  ASSERT_NE(audio, std::string::npos) << *answer;
  EXPECT_LT(video, audio);  // the offer's order (RFC 3264 6)
  EXPECT_EQ(n.telephoneEvent, -1);
}

TEST(Sdp, AnOfferWithoutAnythingItSpeaksIsRefused) {
  LocalSdp local("127.0.0.1", 20000);
  Negotiated n;
  std::string why;
  EXPECT_FALSE(local.answer("v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n"
                            "m=audio 5000 RTP/AVP 9\r\na=rtpmap:9 G722/8000\r\n", &n, &why));
  EXPECT_NE(why.find("PCMU or PCMA"), std::string::npos);
  EXPECT_FALSE(local.answer("v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n"
                            "m=audio 5000 RTP/SAVP 0\r\n", &n, &why));
  EXPECT_FALSE(local.answer("not sdp at all", &n, &why));
  EXPECT_FALSE(local.answer("", &n, &why));
}

TEST(Sdp, AnAnswerToOurOfferIsRead) {
  LocalSdp local("127.0.0.1", 20000);
  const std::string offer = local.offer();
  EXPECT_NE(offer.find("m=audio 20000 RTP/AVP 0 8 101\r\n"), std::string::npos) << offer;
  Negotiated n;
  std::string why;
  ASSERT_TRUE(local.accept("v=0\r\no=- 1 1 IN IP4 192.0.2.20\r\ns=-\r\nc=IN IP4 192.0.2.20\r\nt=0 0\r\n"
                           "m=audio 6000 RTP/AVP 8 101\r\na=rtpmap:101 telephone-event/8000\r\na=recvonly\r\n",
                           &n, &why))
      << why;
  EXPECT_EQ(n.codec, Codec::Pcma);
  EXPECT_EQ(n.telephoneEvent, 101);
  EXPECT_EQ(n.port, 6000);
  EXPECT_TRUE(n.send);      // it receives
  EXPECT_FALSE(n.receive);  // and sends nothing
  EXPECT_FALSE(local.accept("v=0\r\no=- 1 1 IN IP4 192.0.2.20\r\ns=-\r\nc=IN IP4 192.0.2.20\r\nt=0 0\r\n"
                            "m=audio 0 RTP/AVP 0\r\n", &n, &why));
}

// --- SDES and SRTP ---

const std::string kKey(30, 'k');
const std::string kKeyText = detail::base64Encode(kKey);

TEST(Sdes, CryptoLinesTheGatewayTakesAndThoseItDoesNot) {
  auto c = parseCrypto("1 AES_CM_128_HMAC_SHA1_80 inline:" + kKeyText);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->tag, 1);
  EXPECT_EQ(c->suite, SrtpSuite::AesCm128HmacSha1_80);
  EXPECT_EQ(c->key, kKey);
  EXPECT_EQ(formatCrypto(*c), "1 AES_CM_128_HMAC_SHA1_80 inline:" + kKeyText);
  c = parseCrypto("7  AES_CM_128_HMAC_SHA1_32\tinline:" + kKeyText + "|2^31");  // any WSP; a lifetime is fine
  ASSERT_TRUE(c);
  EXPECT_EQ(c->tag, 7);
  EXPECT_EQ(c->suite, SrtpSuite::AesCm128HmacSha1_32);
  EXPECT_TRUE(parseCrypto("1 AES_CM_128_HMAC_SHA1_80 inline:" + kKeyText + "|1048576"));
  for (const std::string& refused : std::vector<std::string>{
           "1 AES_CM_128_HMAC_SHA1_80 inline:" + kKeyText + "|2^20|1:4",          // an MKI
           "1 AES_CM_128_HMAC_SHA1_80 inline:" + kKeyText + ";inline:" + kKeyText,  // two keys
           "1 AES_CM_128_HMAC_SHA1_80 inline:" + kKeyText + " UNENCRYPTED_SRTP",   // a session parameter
           "1 AES_256_CM_HMAC_SHA1_80 inline:" + kKeyText,                          // a suite it does not speak
           "1 F8_128_HMAC_SHA1_80 inline:" + kKeyText,
           "1 AES_CM_128_HMAC_SHA1_80 inline:" + detail::base64Encode(std::string(16, 'k')),  // too short
           "1 AES_CM_128_HMAC_SHA1_80 inline:!!notbase64!!",
           "1 AES_CM_128_HMAC_SHA1_80 " + kKeyText,                                 // no method
           "x AES_CM_128_HMAC_SHA1_80 inline:" + kKeyText,
           "1234567890 AES_CM_128_HMAC_SHA1_80 inline:" + kKeyText,                 // a tag of ten digits
           "1 AES_CM_128_HMAC_SHA1_80",
           "",
       })
    EXPECT_FALSE(parseCrypto(refused)) << refused;
}

const std::string kSavpOffer =
    "v=0\r\no=alice 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n"
    "m=audio 49170 RTP/SAVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n"
    "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + kKeyText + "|2^20|1:4\r\n"   // an MKI: not taken
    "a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:" + kKeyText + "\r\n"
    "a=crypto:3 AES_CM_128_HMAC_SHA1_80 inline:" + kKeyText + "\r\n";

TEST(Sdes, OverTlsAnSrtpOfferIsAnsweredWithItsFirstUsableLineAndAKeyOfOurs) {
  LocalSdp local("127.0.0.1", 20000, SrtpPolicy::Optional);
  Negotiated n;
  std::string why;
  auto answer = local.answer(kSavpOffer, &n, &why);
  ASSERT_TRUE(answer) << why;
  ASSERT_TRUE(n.srtp);
  EXPECT_EQ(n.srtp->suite, SrtpSuite::AesCm128HmacSha1_32);
  EXPECT_EQ(n.srtp->remote, kKey);
  EXPECT_EQ(n.srtp->local.size(), kSrtpKeyBytes);
  EXPECT_NE(n.srtp->local, kKey);
  EXPECT_NE(answer->find("m=audio 20000 RTP/SAVP 0 101\r\n"), std::string::npos) << *answer;
  EXPECT_NE(answer->find("a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:" + detail::base64Encode(n.srtp->local) + "\r\n"),
            std::string::npos) << *answer;
  // A re-INVITE with the same offer: the same key, the same description, the same o= version.
  Negotiated again;
  auto second = local.answer(kSavpOffer, &again, &why);
  ASSERT_TRUE(second);
  EXPECT_EQ(again, n);
  EXPECT_EQ(oLine(*second), oLine(*answer));
  // A plain offer is still taken over TLS.
  Negotiated plain;
  ASSERT_TRUE(local.answer(kOffer, &plain, &why)) << why;
  EXPECT_FALSE(plain.srtp);
}

TEST(Sdes, KeysAreNeitherTakenNorOfferedOverSignalingThatIsNotTls) {
  LocalSdp local("127.0.0.1", 20000);
  Negotiated n;
  std::string why;
  EXPECT_FALSE(local.answer(kSavpOffer, &n, &why));
  EXPECT_NE(why.find("only over TLS"), std::string::npos) << why;
  EXPECT_EQ(local.offer().find("a=crypto"), std::string::npos);
  // An offer of SRTP beside plain RTP: the plain stream is taken, the SRTP one declined in place.
  const std::string both = "v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n"
                           "m=audio 5000 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + kKeyText +
                           "\r\nm=audio 5002 RTP/AVP 0\r\n";
  auto answer = local.answer(both, &n, &why);
  ASSERT_TRUE(answer) << why;
  EXPECT_FALSE(n.srtp);
  EXPECT_EQ(n.port, 5002);
  EXPECT_NE(answer->find("m=audio 0 RTP/SAVP 0\r\nm=audio 20000 RTP/AVP 0\r\n"), std::string::npos) << *answer;
  EXPECT_EQ(answer->find("a=crypto"), std::string::npos);
}

TEST(Sdes, OurSecureOfferIsSrtpOnlyAndItsAnswerMustTakeOneOfItsLines) {
  LocalSdp local("127.0.0.1", 20000, SrtpPolicy::Optional);
  const std::string offer = local.offer();
  EXPECT_NE(offer.find("m=audio 20000 RTP/SAVP 0 8 101\r\n"), std::string::npos) << offer;
  const auto at = offer.find("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:");
  ASSERT_NE(at, std::string::npos) << offer;
  ASSERT_NE(offer.find("a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:"), std::string::npos) << offer;
  const auto ours = parseCrypto(offer.substr(at + 9, offer.find("\r\n", at) - at - 9));
  ASSERT_TRUE(ours);
  const std::string head = "v=0\r\no=- 1 1 IN IP4 192.0.2.20\r\ns=-\r\nc=IN IP4 192.0.2.20\r\nt=0 0\r\n";
  Negotiated n;
  std::string why;
  ASSERT_TRUE(local.accept(head + "m=audio 6000 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + kKeyText + "\r\n",
                           &n, &why)) << why;
  ASSERT_TRUE(n.srtp);
  EXPECT_EQ(n.srtp->suite, SrtpSuite::AesCm128HmacSha1_80);
  EXPECT_EQ(n.srtp->local, ours->key);
  EXPECT_EQ(n.srtp->remote, kKey);
  // Plain RTP, a tag we did not offer, or a tag with another line's suite: not an answer to this offer.
  EXPECT_FALSE(local.accept(head + "m=audio 6000 RTP/AVP 0\r\n", &n, &why));
  EXPECT_FALSE(local.accept(head + "m=audio 6000 RTP/SAVP 0\r\na=crypto:3 AES_CM_128_HMAC_SHA1_80 inline:" + kKeyText + "\r\n", &n, &why));
  EXPECT_FALSE(local.accept(head + "m=audio 6000 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_32 inline:" + kKeyText + "\r\n", &n, &why));
  EXPECT_FALSE(local.accept(head + "m=audio 6000 RTP/SAVP 0\r\n", &n, &why));
}

TEST(Sdes, OptionalFallsBackToPlainRtpOnceAndRequiredNeither) {
  const std::string head = "v=0\r\no=- 1 1 IN IP4 192.0.2.20\r\ns=-\r\nc=IN IP4 192.0.2.20\r\nt=0 0\r\n";
  LocalSdp optional("127.0.0.1", 20000, SrtpPolicy::Optional);
  const std::string first = optional.offer();
  EXPECT_TRUE(optional.offersSrtp());
  ASSERT_TRUE(optional.fallBackToRtp());
  EXPECT_FALSE(optional.fallBackToRtp());  // once
  const std::string second = optional.offer();
  EXPECT_NE(second.find("m=audio 20000 RTP/AVP 0 8 101\r\n"), std::string::npos) << second;
  EXPECT_EQ(second.find("a=crypto"), std::string::npos);
  // The same session, a new version: the description changed.
  EXPECT_EQ(originFields(second)[1], originFields(first)[1]);
  EXPECT_EQ(std::stoull(originFields(second)[2]), std::stoull(originFields(first)[2]) + 1);
  Negotiated n;
  std::string why;
  ASSERT_TRUE(optional.accept(head + "m=audio 6000 RTP/AVP 0\r\n", &n, &why)) << why;
  EXPECT_FALSE(n.srtp);

  LocalSdp required("127.0.0.1", 20000, SrtpPolicy::Required);
  EXPECT_FALSE(required.fallBackToRtp());
  EXPECT_TRUE(required.offersSrtp());
  EXPECT_FALSE(required.answer(kOffer, &n, &why));
  EXPECT_NE(why.find("requires SRTP"), std::string::npos) << why;
  EXPECT_TRUE(required.answer(kSavpOffer, &n, &why)) << why;
  EXPECT_FALSE(LocalSdp("127.0.0.1", 20000, SrtpPolicy::Off).fallBackToRtp());
}

TEST(Srtp, WhatOneSideProtectsTheOtherAuthenticatesOnceAndAForgeryNever) {
  for (SrtpSuite suite : {SrtpSuite::AesCm128HmacSha1_80, SrtpSuite::AesCm128HmacSha1_32}) {
    const std::string a = newSrtpKey(), b = newSrtpKey();
    SrtpSession alice(SrtpKeys{suite, a, b}), bob(SrtpKeys{suite, b, a});
    std::vector<std::uint8_t> packet;
    const std::vector<std::uint8_t> payload(160, 0x55);
    writeRtp(packet, false, 0, 7, 1120, 0x1234, payload.data(), payload.size());
    const std::vector<std::uint8_t> plain = packet;
    ASSERT_TRUE(alice.protect(packet));
    EXPECT_EQ(packet.size(), plain.size() + (suite == SrtpSuite::AesCm128HmacSha1_80 ? 10u : 4u));
    EXPECT_NE(std::vector<std::uint8_t>(packet.begin() + 12, packet.begin() + 172), payload);  // encrypted
    std::vector<char> wire(packet.begin(), packet.end());
    std::vector<char> replay = wire, forged = wire;
    auto size = bob.unprotect(wire.data(), wire.size());
    ASSERT_TRUE(size);
    EXPECT_EQ(std::vector<std::uint8_t>(wire.begin(), wire.begin() + static_cast<std::ptrdiff_t>(*size)), plain);
    EXPECT_FALSE(bob.unprotect(replay.data(), replay.size())) << "a replay";
    forged[20] ^= 1;
    EXPECT_FALSE(bob.unprotect(forged.data(), forged.size())) << "a changed byte";
    std::vector<char> clear(plain.begin(), plain.end());
    EXPECT_FALSE(bob.unprotect(clear.data(), clear.size())) << "plain RTP";
    std::vector<char> tiny(5, 0);
    EXPECT_FALSE(bob.unprotect(tiny.data(), tiny.size()));
    // The sender's own key does not open what it sent.
    std::vector<std::uint8_t> next;
    writeRtp(next, false, 0, 8, 1280, 0x1234, payload.data(), payload.size());
    ASSERT_TRUE(alice.protect(next));
    SrtpSession eve(SrtpKeys{suite, b, b});
    std::vector<char> stolen(next.begin(), next.end());
    EXPECT_FALSE(eve.unprotect(stolen.data(), stolen.size()));
  }
  EXPECT_THROW(SrtpSession(SrtpKeys{SrtpSuite::AesCm128HmacSha1_80, "short", newSrtpKey()}), std::runtime_error);
}

}  // namespace
}  // namespace daily::devserver::media
