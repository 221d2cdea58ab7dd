// Stream framing (RFC 3261 §18.3, RFC 5626 §4.4.1): messages cut by Content-Length however the bytes arrive,
// keepalives told apart, and every size capped.
#include "sip/framing.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace daily::devserver::sip {
namespace {

std::string message(const std::string& method, const std::string& body, const std::string& lengthHeader = "Content-Length") {
  return method + " sip:room@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5070;branch=z9hG4bK-1\r\n"
         "Call-ID: c1\r\nCSeq: 1 " + method + "\r\n" + lengthHeader + ": " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

struct Framed {
  std::vector<std::string> messages;
  int pings = 0;
  bool error = false;
};

Framed frameAll(StreamFramer& framer) {
  Framed out;
  std::string m;
  for (;;) {
    switch (framer.next(&m)) {
      case StreamFramer::Next::Message: out.messages.push_back(m); continue;
      case StreamFramer::Next::Ping: ++out.pings; continue;
      case StreamFramer::Next::NeedMore: return out;
      case StreamFramer::Next::Error: out.error = true; return out;
    }
  }
}

TEST(StreamFramer, CutsMessagesByContentLengthHoweverTheBytesArrive) {
  const std::vector<std::string> sent{message("INVITE", "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n"), message("ACK", ""),
                                      message("INFO", "Signal=1\r\n\r\n", "l")};
  std::string stream;
  for (const auto& m : sent) stream += m;
  // Split at every point: two chunks.
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    StreamFramer framer;
    framer.feed(std::string_view(stream).substr(0, cut));
    Framed first = frameAll(framer);
    framer.feed(std::string_view(stream).substr(cut));
    Framed second = frameAll(framer);
    first.messages.insert(first.messages.end(), second.messages.begin(), second.messages.end());
    ASSERT_EQ(first.messages, sent) << "cut at " << cut;
    EXPECT_FALSE(first.error || second.error);
    EXPECT_EQ(framer.buffered(), 0u);
  }
  // And a byte at a time.
  StreamFramer framer;
  Framed all;
  for (char c : stream) {
    framer.feed(std::string_view(&c, 1));
    Framed f = frameAll(framer);
    all.messages.insert(all.messages.end(), f.messages.begin(), f.messages.end());
  }
  EXPECT_EQ(all.messages, sent);
}

TEST(StreamFramer, ADoubleCrlfIsAPingAndALoneCrlfIsSkipped) {
  StreamFramer framer;
  framer.feed("\r\n\r\n");
  Framed f = frameAll(framer);
  EXPECT_EQ(f.pings, 1);
  framer.feed("\r\n" + message("OPTIONS", ""));  // a lone CRLF before a message
  f = frameAll(framer);
  EXPECT_EQ(f.pings, 0);
  ASSERT_EQ(f.messages.size(), 1u);
  EXPECT_EQ(f.messages[0].rfind("OPTIONS", 0), 0u);
  framer.feed("\r\n");  // may yet become a ping: waits, and is no partial message
  EXPECT_EQ(framer.next(nullptr), StreamFramer::Next::NeedMore);
  EXPECT_FALSE(framer.midMessage());
  framer.feed("\r\n");
  EXPECT_EQ(frameAll(framer).pings, 1);
  framer.feed("INV");
  EXPECT_TRUE(framer.midMessage());
}

TEST(StreamFramer, AMessageWithoutContentLengthIsAnError) {
  StreamFramer framer;
  framer.feed("OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK-1\r\n\r\n");
  EXPECT_TRUE(frameAll(framer).error);
  EXPECT_NE(framer.error().find("Content-Length"), std::string::npos);
  std::string m;
  EXPECT_EQ(framer.next(&m), StreamFramer::Next::Error);  // and stays one
}

TEST(StreamFramer, MalformedOrContradictoryLengthsAreErrors) {
  for (const char* bad : {"Content-Length: -5\r\n", "Content-Length: 12abc\r\n", "Content-Length:\r\n",
                          "Content-Length: 1\r\nl: 2\r\n", "Content-Length: 99999999999\r\n"}) {
    StreamFramer framer;
    framer.feed(std::string("OPTIONS sip:x SIP/2.0\r\nCSeq: 1 OPTIONS\r\n") + bad + "\r\n");
    EXPECT_TRUE(frameAll(framer).error) << bad;
  }
  StreamFramer same;  // the same length twice is no contradiction
  same.feed("OPTIONS sip:x SIP/2.0\r\nContent-Length: 0\r\nl: 0\r\n\r\n");
  EXPECT_EQ(frameAll(same).messages.size(), 1u);
}

TEST(StreamFramer, HeadersAndBodiesAreCapped) {
  StreamFramer framer(StreamFramer::Limits{256, 100});
  framer.feed("OPTIONS sip:x SIP/2.0\r\nX-Long: " + std::string(300, 'a'));  // no blank line yet, already too long
  EXPECT_TRUE(frameAll(framer).error);
  StreamFramer body(StreamFramer::Limits{256, 100});
  body.feed(message("INFO", std::string(101, 'b')));
  EXPECT_TRUE(frameAll(body).error);
  StreamFramer fits(StreamFramer::Limits{256, 100});
  fits.feed(message("INFO", std::string(100, 'b')));
  EXPECT_EQ(frameAll(fits).messages.size(), 1u);
}

TEST(StreamFramer, AFoldedLineIsNotAContentLength) {
  StreamFramer framer;
  framer.feed("OPTIONS sip:x SIP/2.0\r\nSubject: a\r\n Content-Length: 5\r\nContent-Length: 0\r\n\r\n");
  Framed f = frameAll(framer);
  ASSERT_EQ(f.messages.size(), 1u);
  EXPECT_FALSE(f.error);
}

}  // namespace
}  // namespace daily::devserver::sip
