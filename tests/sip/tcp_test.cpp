// SIP over TCP against the real devserver, from raw sockets where a peer must misbehave in ways no SIP agent
// does on purpose: the transport's framing, keepalives and bounds (docs/sip.md), each a rule with its test.
// The flows themselves (dial-in, REFER, DTMF, dial-out, bridges) run against sipp over TCP in sip_test.cpp.

#include "devserver_fixture.hpp"
#include "events.hpp"
#include "process.hpp"
#include "sip/message.hpp"

#include <daily/daily.hpp>

#include <gtest/gtest.h>

#include <asio.hpp>

#include <poll.h>

#include <thread>

namespace daily::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// Short bounds, so that each rule shows within a test's time.
devserver::Options tcpOptions() {
  devserver::Options o;
  o.apiKey = kApiKey;
  o.sipT1 = 100ms;
  o.sipTransactionTimeout = 3000ms;
  o.sipTcpMessageTimeout = 500ms;
  o.sipTcpIdleTimeout = 1500ms;
  return o;
}

// A TCP client of the gateway's SIP port.
struct TcpPeer {
  explicit TcpPeer(int port) : socket(io) {
    socket.connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
    socket.non_blocking(true);
  }
  void send(const std::string& bytes) {
    socket.non_blocking(false);
    asio::write(socket, asio::buffer(bytes));
    socket.non_blocking(true);
  }
  // Reads until `done` says the bytes so far are enough, the gateway closes the connection, or the wait ends.
  // Returns what was read; *closed says whether the gateway closed it.
  std::string readUntil(const std::function<bool(const std::string&)>& done, std::chrono::milliseconds wait,
                        bool* closed = nullptr) {
    std::string got;
    if (closed) *closed = false;
    const auto deadline = std::chrono::steady_clock::now() + wait;
    char buf[65536];
    while (!done(got)) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      pollfd readable{socket.native_handle(), POLLIN, 0};
      if (left.count() <= 0 || ::poll(&readable, 1, static_cast<int>(left.count())) <= 0) break;
      asio::error_code ec;
      const std::size_t n = socket.read_some(asio::buffer(buf), ec);
      if (ec == asio::error::would_block) continue;
      if (ec) {  // eof or reset: the gateway closed it
        if (closed) *closed = true;
        break;
      }
      got.append(buf, n);
    }
    return got;
  }
  // Whether the gateway has dropped the connection within the wait, as a sender finds out: a send to a connection
  // the gateway let go of is reset. (A kernel that gives up on a peer tells it nothing, so reading alone would
  // never learn.) A lone CRLF at most every 50 ms is the probe: the gateway skips it, and it starts no message.
  bool droppedWithin(std::chrono::milliseconds wait) {
    const auto deadline = std::chrono::steady_clock::now() + wait;
    while (std::chrono::steady_clock::now() < deadline) {
      asio::error_code ec;
      socket.send(asio::buffer("\r\n", 2), 0, ec);
      if (ec && ec != asio::error::would_block) return true;
      // Waits for the reset itself (an error or hang-up on the socket), up to 50 ms before the next probe.
      pollfd reset{socket.native_handle(), 0, 0};
      ::poll(&reset, 1, 50);
    }
    return false;
  }
  // Whether the gateway closes the connection within the wait (reading and dropping whatever comes first).
  bool closedWithin(std::chrono::milliseconds wait) {
    bool closed = false;
    readUntil([](const std::string&) { return false; }, wait, &closed);
    return closed;
  }
  asio::io_context io;
  asio::ip::tcp::socket socket;
};

std::string options(const std::string& callId, int port, const std::string& extra = "Content-Length: 0\r\n\r\n") {
  return "OPTIONS sip:127.0.0.1:" + std::to_string(port) + " SIP/2.0\r\n"
         "Via: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bK-" + callId + "\r\n"
         "Max-Forwards: 70\r\nFrom: <sip:t@127.0.0.1>;tag=1\r\nTo: <sip:127.0.0.1>\r\nCall-ID: " + callId + "\r\n"
         "CSeq: 1 OPTIONS\r\n" + extra;
}

bool hasWholeResponse(const std::string& s) { return s.find("\r\n\r\n") != std::string::npos; }

class SipTcp : public ::testing::Test {
 protected:
  InProcessServer server{tcpOptions()};
  int port = server.sipTcpPort();
};

TEST_F(SipTcp, ListensOnTheUdpPortsNumberByDefault) { EXPECT_EQ(server.sipTcpPort(), server.sipPort()); }

TEST_F(SipTcp, ARequestIsAnsweredOnTheConnectionItCameIn) {
  TcpPeer peer(port);
  peer.send(options("tcp-1", port));
  const std::string answer = peer.readUntil(hasWholeResponse, 3s);
  ASSERT_EQ(answer.rfind("SIP/2.0 200 OK\r\n", 0), 0u) << answer;
  EXPECT_NE(answer.find("Via: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bK-tcp-1"), std::string::npos) << answer;
  // Two requests in one write, then one split across two: each answered, in order.
  peer.send(options("tcp-2", port) + options("tcp-3", port));
  const std::string both = peer.readUntil([](const std::string& s) { return s.find("tcp-3") != std::string::npos; }, 3s);
  ASSERT_NE(both.find("tcp-2"), std::string::npos) << both;
  EXPECT_LT(both.find("tcp-2"), both.find("tcp-3"));
  const std::string split = options("tcp-4", port);
  peer.send(split.substr(0, 40));
  peer.send(split.substr(40));
  EXPECT_NE(peer.readUntil([](const std::string& s) { return s.find("tcp-4") != std::string::npos; }, 3s).find("tcp-4"),
            std::string::npos);
}

TEST_F(SipTcp, ADoubleCrlfPingGetsACrlfPong) {
  TcpPeer peer(port);
  peer.send("\r\n\r\n");
  EXPECT_EQ(peer.readUntil([](const std::string& s) { return s.size() >= 2; }, 3s), "\r\n");
  peer.send(options("after-ping", port));  // and the connection still serves
  EXPECT_EQ(peer.readUntil(hasWholeResponse, 3s).rfind("SIP/2.0 200 OK", 0), 0u);
}

TEST_F(SipTcp, AMessageWithoutContentLengthClosesTheConnection) {
  TcpPeer peer(port);
  peer.send(options("no-length", port, "\r\n"));
  EXPECT_TRUE(peer.closedWithin(3s));
}

TEST_F(SipTcp, OversizedHeadersCloseTheConnectionBeforeTheyEnd) {
  TcpPeer peer(port);
  peer.send(options("huge", port, "X-Padding: " + std::string(20000, 'a')));  // no blank line: it never ends
  EXPECT_TRUE(peer.closedWithin(3s));
}

TEST_F(SipTcp, AMessageThatStopsHalfWayClosesTheConnectionAfterTheMessageTimeout) {
  TcpPeer peer(port);
  peer.send(options("slow", port).substr(0, 60));
  EXPECT_TRUE(peer.closedWithin(5s));  // 500 ms here
}

TEST_F(SipTcp, AnIdleConnectionIsClosedAndABusyOneIsNot) {
  TcpPeer idle(port);
  TcpPeer busy(port);
  const auto start = std::chrono::steady_clock::now();
  // The busy one sends a ping every 300 ms for 2.4 s, past the 1.5 s idle timeout; the idle one sends nothing.
  for (int i = 0; i < 8; ++i) {
    busy.send("\r\n\r\n");
    ASSERT_EQ(busy.readUntil([](const std::string& s) { return s.size() >= 2; }, 1s), "\r\n") << "ping " << i;
    std::this_thread::sleep_until(start + (i + 1) * 300ms);  // paces the pings: the test is about a clock
  }
  EXPECT_TRUE(idle.closedWithin(3s));
  busy.send(options("still-open", port));
  EXPECT_EQ(busy.readUntil(hasWholeResponse, 3s).rfind("SIP/2.0 200 OK", 0), 0u);
}

// Pipelined requests whose answers the peer never reads.
std::string burstOf(int count, int port) {
  std::string burst;
  for (int i = 0; i < count; ++i) burst += options("stop-" + std::to_string(i), port);
  return burst;
}

TEST_F(SipTcp, APeerThatStopsReadingIsDroppedOnceAMebibyteWaitsForIt) {
  TcpPeer peer(port);
  // 30,000 answers, about 7 MB: past the kernel's buffers, the gateway's queue passes 1 MiB.
  const std::string burst = burstOf(30000, port);
  peer.socket.non_blocking(false);
  asio::error_code ec;
  asio::write(peer.socket, asio::buffer(burst), ec);  // fails part way once the gateway has reset the connection
  peer.socket.non_blocking(true);
  EXPECT_TRUE(ec) << "the gateway read all 30,000 requests and kept every answer";
  EXPECT_TRUE(peer.closedWithin(20s));
  TcpPeer next(port);  // and it serves a new connection as before
  next.send(options("after", port));
  EXPECT_EQ(next.readUntil(hasWholeResponse, 3s).rfind("SIP/2.0 200 OK", 0), 0u);
}

TEST(SipTcpStall, APeerThatStopsReadingIsDroppedWhileItsAnswersStillFitInTheKernel) {
  // The answers (about 600 KB) fit in the kernel's send buffer: no write of the gateway's stalls and its queue
  // stays empty. The requests are whole (no message timeout) and it is not idle for a minute. Only the peer's
  // window staying shut for the message timeout (TCP_USER_TIMEOUT) can end this connection.
  devserver::Options o = tcpOptions();
  o.sipTcpIdleTimeout = 60s;
  InProcessServer server(o);
  const int port = server.sipTcpPort();
  TcpPeer peer(port);
  peer.socket.set_option(asio::socket_base::receive_buffer_size(4096));
  peer.send(burstOf(1500, port));
  EXPECT_TRUE(peer.droppedWithin(30s));  // 500 ms after its window shut
  TcpPeer next(port);
  next.send(options("after", port));
  EXPECT_EQ(next.readUntil(hasWholeResponse, 3s).rfind("SIP/2.0 200 OK", 0), 0u);
}

TEST_F(SipTcp, ADialOutToATcpPortNobodyListensOnFailsAtOnceAsUnreachable) {
  const json room = server.createRoom({{"name", "out"}});
  CallClient bot;
  EventRecorder events(bot);
  await(bot.join({.url = room["url"], .token = server.token({{"is_owner", true}})}));
  const int nobody = freeTcpPort();
  const auto s = await(bot.startDialOut({.sipUri = "sip:bob@127.0.0.1:" + std::to_string(nobody) + ";transport=tcp"}));
  // The refused connect ends the INVITE's transaction itself: the error says so, where a transaction timeout
  // would say "did not answer in time".
  auto error = events.waitFor("dialout-error", [&](const Event& e) { return e.payload["sessionId"] == s.sessionId; });
  ASSERT_TRUE(error);
  EXPECT_EQ(error->payload["errorMsg"], "the callee could not be reached");
  EXPECT_EQ(error->payload["sipStatus"], 0);
}

// A TCP caller's connection breaks during the call: the gateway's next in-dialog request goes to the caller's
// Contact (where it listens), on a connection of its own.
// A phone that dials in over TCP (to the room whose dial-in identifier is dialIn), giving contact as its Contact,
// and whose connection then breaks: a message the gateway cannot frame makes it reset the connection, and once
// the phone sees the reset the gateway has let the connection go. Returns the caller's session id ("" after a failed assertion).
std::string dialInThenLoseTheConnection(int port, EventRecorder& events, const std::string& dialIn,
                                        const std::string& contact) {
  const std::string gw = "127.0.0.1:" + std::to_string(port);
  TcpPeer phone(port);
  phone.send("INVITE sip:" + dialIn + "@" + gw + " SIP/2.0\r\nVia: SIP/2.0/TCP " + contact + ";branch=z9hG4bK-tc1\r\n"
             "Max-Forwards: 70\r\nFrom: <sip:phone@127.0.0.1>;tag=ph\r\nTo: <sip:" + dialIn + "@127.0.0.1>\r\n"
             "Call-ID: tcp-contact-" + dialIn + "\r\nCSeq: 1 INVITE\r\nContact: <sip:phone@" + contact +
             ";transport=tcp>\r\nContent-Length: 0\r\n\r\n");
  const std::string ok = phone.readUntil([](const std::string& s) {
    const std::size_t at = s.find("SIP/2.0 200");
    return at != std::string::npos && s.find("\r\n\r\n", at) != std::string::npos;
  }, 5s);
  const std::size_t at = ok.find("SIP/2.0 200");
  EXPECT_NE(at, std::string::npos) << ok;
  if (at == std::string::npos) return {};
  const std::size_t tag = ok.find(";tag=", ok.find("\r\nTo: ", at));
  const std::string toTag = ok.substr(tag + 5, ok.find_first_of(";\r", tag + 5) - tag - 5);
  phone.send("ACK sip:gateway@" + gw + " SIP/2.0\r\nVia: SIP/2.0/TCP " + contact + ";branch=z9hG4bK-tc2\r\n"
             "Max-Forwards: 70\r\nFrom: <sip:phone@127.0.0.1>;tag=ph\r\nTo: <sip:" + dialIn + "@127.0.0.1>;tag=" +
             toTag + "\r\nCall-ID: tcp-contact-" + dialIn + "\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n");
  auto connected = events.waitFor("dialin-connected");
  EXPECT_TRUE(connected);
  if (!connected) return {};
  phone.send("OPTIONS sip:x SIP/2.0\r\n\r\n");
  EXPECT_TRUE(phone.closedWithin(5s));
  return connected->payload["sessionId"];
}

TEST_F(SipTcp, InDialogRequestsFollowTheContactOnceTheCallersConnectionIsGone) {
  const json room = server.createRoom({{"name", "tcpcall"}, {"properties", {{"sip", {{"sip_mode", "dial-in"}}}}}});
  CallClient bot;
  EventRecorder events(bot);
  await(bot.join({.url = room["url"], .token = server.token({{"is_owner", true}})}));
  asio::io_context io;
  asio::ip::tcp::acceptor listener(io, {asio::ip::make_address("127.0.0.1"), 0});  // the phone's Contact
  const std::string contact = "127.0.0.1:" + std::to_string(listener.local_endpoint().port());
  const std::string sessionId = dialInThenLoseTheConnection(port, events, dialInUser(room), contact);
  ASSERT_FALSE(sessionId.empty());
  auto dtmf = bot.sendDTMF({.sessionId = sessionId, .tones = "5"});
  // The INFO comes to the Contact's listener, on a new connection; the phone answers it there.
  asio::ip::tcp::socket incoming(io);
  listener.non_blocking(true);
  asio::error_code ec = asio::error::would_block;
  for (const auto deadline = std::chrono::steady_clock::now() + 5s;
       ec == asio::error::would_block && std::chrono::steady_clock::now() < deadline;) {
    pollfd readable{listener.native_handle(), POLLIN, 0};
    ::poll(&readable, 1, 100);
    listener.accept(incoming, ec);
  }
  ASSERT_FALSE(ec) << "the gateway never connected to the Contact: " << ec.message();
  std::string info;
  char buf[4096];
  incoming.non_blocking(false);
  while (info.find("\r\n\r\n") == std::string::npos || info.find("Signal=5") == std::string::npos) {
    const std::size_t n = incoming.read_some(asio::buffer(buf), ec);
    if (ec) break;
    info.append(buf, n);
  }
  ASSERT_EQ(info.rfind("INFO sip:phone@" + contact + ";transport=tcp SIP/2.0", 0), 0u) << info;
  auto request = devserver::sip::parse(info, nullptr);
  ASSERT_TRUE(request) << info;
  asio::write(incoming, asio::buffer(devserver::sip::serialize(devserver::sip::newResponse(request.get(), 200, {}).get())));
  EXPECT_NO_THROW(dtmf.get());
}

TEST_F(SipTcp, AReferWhoseConnectionCannotBeMadeFailsAtOnceAsConnectionLost) {
  const json room = server.createRoom({{"name", "tcpgone"}, {"properties", {{"sip", {{"sip_mode", "dial-in"}}}}}});
  CallClient bot;
  EventRecorder events(bot);
  await(bot.join({.url = room["url"], .token = server.token({{"is_owner", true}})}));
  // Nothing listens at its Contact: the REFER's new connection is refused.
  const std::string contact = "127.0.0.1:" + std::to_string(freeTcpPort());
  const std::string sessionId = dialInThenLoseTheConnection(port, events, dialInUser(room), contact);
  ASSERT_FALSE(sessionId.empty());
  // ConnectionLost, not Timeout: the transport's failure ends the REFER's transaction at once.
  Error e = expectError([&] { await(bot.sipRefer({.sessionId = sessionId, .toEndPoint = "sip:agent@127.0.0.1:5099"})); });
  EXPECT_EQ(e.code(), ErrorCode::ConnectionLost) << e.what();
  auto done = events.waitFor("sip-refer-progress", [](const Event& ev) { return ev.payload["final"] == true; });
  ASSERT_TRUE(done);
  EXPECT_EQ(done->payload["status"], "unreachable");
}

// RFC 3261 §18.1.1: a request longer than 1300 bytes is not sent over UDP, whose path MTU the gateway does not
// know, but over TCP to the same address and port, even to a caller that came over UDP. The caller here is raw
// sockets: a UDP socket it dials in from, and a TCP listener on the same port number.
std::string headerLine(const std::string& message, const std::string& name) {
  const std::size_t at = message.find("\r\n" + name + ": ");
  return at == std::string::npos ? std::string() : message.substr(at + 2, message.find("\r\n", at + 2) - at - 2);
}
std::string answerTo(const std::string& request, const std::string& status) {
  std::string out = "SIP/2.0 " + status + "\r\n";
  for (const char* name : {"Via", "From", "To", "Call-ID", "CSeq"}) out += headerLine(request, name) + "\r\n";
  return out + "Content-Length: 0\r\n\r\n";
}

TEST_F(SipTcp, ALongReferToAUdpCallerGoesOverTcpToTheSameAddressAndPort) {
  const json room = server.createRoom({{"name", "long"}, {"properties", {{"sip", {{"sip_mode", "dial-in"}}}}}});
  CallClient bot;
  EventRecorder events(bot);
  await(bot.join({.url = room["url"], .token = server.token({{"is_owner", true}})}));
  asio::io_context io;
  const auto loopback = asio::ip::make_address("127.0.0.1");
  const int phonePort = freeSipPort();
  asio::ip::udp::socket udp(io, {loopback, static_cast<unsigned short>(phonePort)});
  asio::ip::tcp::acceptor listener(io, {loopback, static_cast<unsigned short>(phonePort)});
  const asio::ip::udp::endpoint gateway(loopback, static_cast<unsigned short>(server.sipPort()));
  const std::string me = "127.0.0.1:" + std::to_string(phonePort);
  const std::string gw = "127.0.0.1:" + std::to_string(server.sipPort());
  const std::string dialIn = dialInUser(room);
  timeval tv{0, 200000};
  setsockopt(udp.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  auto receiveUdp = [&](std::chrono::milliseconds wait) {  // every datagram that comes within the wait
    std::vector<std::string> got;
    const auto deadline = std::chrono::steady_clock::now() + wait;
    std::array<char, 65536> buf{};
    while (std::chrono::steady_clock::now() < deadline) {
      const ssize_t n = ::recv(udp.native_handle(), buf.data(), buf.size(), 0);
      if (n > 0) got.emplace_back(buf.data(), static_cast<std::size_t>(n));
    }
    return got;
  };
  udp.send_to(asio::buffer("INVITE sip:" + dialIn + "@" + gw + " SIP/2.0\r\nVia: SIP/2.0/UDP " + me +
                           ";branch=z9hG4bK-long1\r\nMax-Forwards: 70\r\nFrom: <sip:phone@" + me + ">;tag=ph\r\n"
                           "To: <sip:" + dialIn + "@" + gw + ">\r\nCall-ID: long-refer\r\nCSeq: 1 INVITE\r\n"
                           "Contact: <sip:phone@" + me + ">\r\nContent-Length: 0\r\n\r\n"),
              gateway);
  std::string ok;
  for (const auto& d : receiveUdp(2000ms))
    if (d.rfind("SIP/2.0 200", 0) == 0) ok = d;
  ASSERT_FALSE(ok.empty());
  udp.send_to(asio::buffer("ACK sip:gateway@" + gw + " SIP/2.0\r\nVia: SIP/2.0/UDP " + me +
                           ";branch=z9hG4bK-long2\r\nMax-Forwards: 70\r\nFrom: <sip:phone@" + me + ">;tag=ph\r\n" +
                           headerLine(ok, "To") + "\r\nCall-ID: long-refer\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n"),
              gateway);
  auto connected = events.waitFor("dialin-connected");
  ASSERT_TRUE(connected);
  auto refer = bot.sipRefer({.sessionId = connected->payload["sessionId"], .toEndPoint = "sip:agent@127.0.0.1:5099",
                             .sipHeaders = {{"X-Notes", std::string(700, 'n')}, {"X-More", std::string(700, 'm')}}});
  // The REFER comes over TCP, to the phone's port, saying so in its Via.
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  auto readableInTime = [&](int fd) {  // a connection to accept, or bytes to read, before the deadline
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    return left.count() > 0 && ::poll(&p, 1, static_cast<int>(left.count())) > 0;
  };
  ASSERT_TRUE(readableInTime(listener.native_handle())) << "no TCP connection to the phone";
  asio::ip::tcp::socket connection(io);
  asio::error_code ec;
  listener.accept(connection, ec);
  ASSERT_FALSE(ec) << ec.message();
  std::string wire;
  std::array<char, 65536> buf{};
  while (wire.find("\r\n\r\n") == std::string::npos && readableInTime(connection.native_handle())) {
    const std::size_t n = connection.read_some(asio::buffer(buf), ec);
    if (ec) break;
    wire.append(buf.data(), n);
  }
  ASSERT_EQ(wire.rfind("REFER sip:phone@" + me + " SIP/2.0\r\n", 0), 0u) << wire;
  EXPECT_GT(wire.size(), 1300u);
  EXPECT_EQ(headerLine(wire, "Via").rfind("Via: SIP/2.0/TCP 127.0.0.1:" + std::to_string(server.sipTcpPort()) + ";", 0), 0u)
      << wire;
  EXPECT_NE(wire.find("X-Notes: nnnn"), std::string::npos);
  asio::write(connection, asio::buffer(answerTo(wire, "603 Decline")));
  Error e = expectError([&] { await(std::move(refer)); });
  EXPECT_EQ(e.code(), ErrorCode::SipRejected);
  EXPECT_EQ(e.sipStatus(), 603);
  // Nothing of it went over UDP.
  for (const auto& d : receiveUdp(300ms)) EXPECT_NE(d.rfind("REFER ", 0), 0u) << d;
}

}  // namespace
}  // namespace daily::test
