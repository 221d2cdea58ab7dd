// Telephony end to end: the devserver's SIP gateway, CallClient's telephony calls, and real SIP user agents
// (sipp from Debian's sip-tester, and baresip). Each case checks what the bot saw and what the SIP peer saw.

#include "baresip.hpp"
#include "certificates.hpp"
#include "devserver_fixture.hpp"
#include "events.hpp"
#include "kamailio.hpp"
#include "process.hpp"

#include <daily/daily.hpp>

#include <gtest/gtest.h>

#include <asio.hpp>
#include <openssl/evp.h>
#include <sys/socket.h>

#include <filesystem>
#include <fstream>

namespace daily::test {
namespace {

using nlohmann::json;

const std::string kScenarios = DAILY_SIP_SCENARIOS;

devserver::Options fastTimers(std::chrono::milliseconds answerDelay = {}) {
  devserver::Options o;
  o.sipT1 = std::chrono::milliseconds(100);
  o.sipTransactionTimeout = std::chrono::milliseconds(2000);
  o.sipAnswerDelay = answerDelay;
  return o;
}

bool isFor(const Event& e, const std::string& sessionId) {
  return e.payload.value("sessionId", "") == sessionId ||
         (e.payload.contains("participant") && e.payload["participant"].value("session_id", "") == sessionId);
}

class SipTest : public ::testing::Test {
 protected:
  explicit SipTest(devserver::Options options = fastTimers()) : server(options), dir(tempDir("daily-sip")) {
    room = server.createRoom(
        {{"name", "support"}, {"properties", {{"sip", {{"sip_mode", "dial-in"}, {"display_name", "Caller"}}}}}});
  }

  void joinOwner() { await(bot.join({.url = room["url"], .token = server.token({{"is_owner", true}}), .userName = "bot"})); }

  // A sipp caller dialing into the room with one of tests/sip/scenarios.
  std::unique_ptr<Process> sippCaller(const std::string& scenario) {
    std::vector<std::string> args{"127.0.0.1:" + std::to_string(server.sipPort()), "-sf", kScenarios + "/" + scenario,
                                  "-s", dialInUser(room)};
    args.insert(args.end(), sippCallerArgs.begin(), sippCallerArgs.end());
    return sipp(args, scenario);
  }
  // A sipp user agent server (a callee or a transfer target) listening on port.
  std::unique_ptr<Process> sippServer(const std::string& scenario, int port) {
    std::vector<std::string> args{"-p", std::to_string(port)};
    if (scenario == "uas") args.insert(args.end(), {"-sn", "uas"});
    else args.insert(args.end(), {"-sf", kScenarios + "/" + scenario});
    return sipp(args, scenario);
  }
  std::unique_ptr<Process> sipp(std::vector<std::string> args, const std::string& name) {
    const std::string base = dir + "/" + name;
    args.insert(args.begin(), "sipp");
    args.insert(args.end(), sippTransport.begin(), sippTransport.end());
    args.insert(args.end(), {"-i", "127.0.0.1", "-m", "1", "-timeout", "20s", "-timeout_error", "-nostdin",
                             "-trace_msg", "-message_file", base + ".messages", "-trace_err", "-error_file",
                             base + ".errors", "-mp", std::to_string(freeMediaPort())});
    return std::make_unique<Process>(args, dir, base + ".log");
  }
  std::string sippMessages(const std::string& name) const { return readFile(dir + "/" + name + ".messages"); }
  std::string sippErrors(const std::string& name) const {
    return readFile(dir + "/" + name + ".errors") + readFile(dir + "/" + name + ".log");
  }

  // The session of the next SIP caller that connects.
  /// The dialed-in caller's session id; when it does not come, fails with the caller's log (logFile) attached.
  std::string waitForCaller(const std::string& logFile = {}) {
    auto connected = events.waitFor("dialin-connected");
    if (!connected)
      throw std::runtime_error("no dialin-connected" + (logFile.empty() ? "" : "; " + logFile + ":\n" + readFile(logFile)));
    return connected->payload["sessionId"];
  }

  // A sipp caller running scenario is referred to an agent, and the transfer completes: returns its session id
  // once the final progress said "transferred" with 200 and the caller left the room.
  std::string referAndSeeItTransferred(const std::string& scenario, std::unique_ptr<Process>& caller) {
    joinOwner();
    caller = sippCaller(scenario);
    const std::string id = waitForCaller();
    EXPECT_NO_THROW(await(bot.sipRefer({.sessionId = id, .toEndPoint = "sip:agent@127.0.0.1:5099"})));
    auto done = events.waitFor("sip-refer-progress", [](const Event& e) { return e.payload["final"] == true; });
    if (!done) {
      ADD_FAILURE() << "no final sip-refer-progress: " << sippErrors(scenario);
      return id;
    }
    EXPECT_EQ(done->payload["status"], "transferred");
    EXPECT_EQ(done->payload["sipStatus"], 200);
    EXPECT_TRUE(events.waitFor("dialin-stopped", [&](const Event& e) { return isFor(e, id); }));
    return id;
  }

  InProcessServer server;
  std::string dir;
  json room;
  CallClient bot;
  EventRecorder events{bot};
  std::vector<std::string> sippTransport;  // sipp's -t (UDP when empty)
  std::vector<std::string> sippCallerArgs;  // more arguments for sippCaller's sipp
};

TEST_F(SipTest, DialInCallerJoinsTheRoomWithDailyJsEvents) {
  joinOwner();
  auto ready = events.waitFor("dialin-ready");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->payload["sipEndpoint"], room["config"]["sip_uri"]["endpoint"]);
  auto caller = sippCaller("caller_hangs_up.xml");
  const std::string id = waitForCaller();
  auto connected = events.waitFor("dialin-connected");
  EXPECT_EQ(connected->payload["sipHeaders"]["X-Customer-Id"], "42");
  EXPECT_EQ(connected->payload["provider"], "daily");
  EXPECT_TRUE(connected->payload["sipFrom"].get<std::string>().rfind("sip:caller@127.0.0.1", 0) == 0);
  auto joined = events.waitFor("participant-joined", [&](const Event& e) { return isFor(e, id); });
  ASSERT_TRUE(joined);
  EXPECT_EQ(joined->payload["participant"]["user_name"], "Caller");  // the room's sip.display_name
  EXPECT_EQ(joined->payload["participant"]["participantType"], "sip-dial-in");
  EXPECT_TRUE(bot.participants().contains(id));
  // The caller hangs up: participant-left, then dialin-stopped.
  EXPECT_EQ(caller->wait(15s), 0) << sippErrors("caller_hangs_up.xml");
  ASSERT_TRUE(events.waitFor("dialin-stopped", [&](const Event& e) { return isFor(e, id); }));
  const auto actions = events.actions();
  const auto at = [&](const std::string& a) { return std::find(actions.begin(), actions.end(), a) - actions.begin(); };
  EXPECT_LT(at("dialin-connected"), at("participant-joined"));
  EXPECT_LT(at("participant-left"), at("dialin-stopped"));
  EXPECT_FALSE(bot.participants().contains(id));
}

TEST_F(SipTest, ATransfersProgressGoesToOwnersAndAdminsOnly) {
  // An admin (not an owner) and a guest (no token) share the room with the owner bot.
  CallClient admin, guest;
  EventRecorder adminEvents{admin}, guestEvents{guest};
  await(admin.join({.url = room["url"], .token = server.token({{"permissions", {{"canAdmin", true}}}}), .userName = "admin"}));
  await(guest.join({.url = room["url"], .userName = "guest"}));
  joinOwner();
  auto caller = sippCaller("caller_accepts_refer.xml");
  const std::string id = waitForCaller();
  EXPECT_NO_THROW(await(bot.sipRefer({.sessionId = id, .toEndPoint = "sip:agent@127.0.0.1:5099"})));
  const auto transferred = [](const Event& e) { return e.payload["status"] == "transferred"; };
  EXPECT_TRUE(events.waitFor("sip-refer-progress", transferred));
  EXPECT_TRUE(adminEvents.waitFor("sip-refer-progress", transferred));
  // The guest sees the caller come and go (dialin-stopped is the last frame the server sends for it, so anything
  // sent to the guest before it has arrived), but not where the caller was transferred to.
  ASSERT_TRUE(guestEvents.waitFor("dialin-stopped", [&](const Event& e) { return isFor(e, id); }));
  const auto seen = guestEvents.actions();
  EXPECT_NE(std::find(seen.begin(), seen.end(), "dialin-connected"), seen.end());
  EXPECT_EQ(std::find(seen.begin(), seen.end(), "sip-refer-progress"), seen.end());
  EXPECT_EQ(caller->wait(15s), 0) << sippErrors("caller_accepts_refer.xml");
}

TEST_F(SipTest, SipReferCarriesExtraHeadersAndRefusesInjectedOnes) {
  joinOwner();
  auto caller = sippCaller("caller_accepts_refer.xml");
  const std::string id = waitForCaller();
  Error bad = expectError([&] {
    await(bot.sipRefer({.sessionId = id, .toEndPoint = "sip:agent@127.0.0.1", .sipHeaders = {{"X-Ticket", "1\r\nVia: x"}}}));
  });
  EXPECT_EQ(bad.code(), ErrorCode::InvalidArgument);
  await(bot.sipRefer({.sessionId = id, .toEndPoint = "sip:agent@127.0.0.1:5099", .sipHeaders = {{"X-Ticket", "T-1234"}}}));
  EXPECT_EQ(caller->wait(15s), 0) << sippErrors("caller_accepts_refer.xml");
  const std::string wire = sippMessages("caller_accepts_refer.xml");
  EXPECT_NE(wire.find("X-Ticket: T-1234"), std::string::npos) << wire;
  EXPECT_EQ(wire.find("Via: x"), std::string::npos);
}

TEST_F(SipTest, SipReferOnADialOutLeg) {
  joinOwner();
  const int calleePort = freeUdpPort();
  auto callee = sippServer("callee_accepts_refer.xml", calleePort);
  const DialOutSession session =
      await(bot.startDialOut({.sipUri = "sip:bob@127.0.0.1:" + std::to_string(calleePort), .displayName = "Support"}));
  ASSERT_TRUE(events.waitFor("dialout-answered", [&](const Event& e) { return isFor(e, session.sessionId); }));
  ASSERT_TRUE(events.waitFor("participant-joined", [&](const Event& e) { return isFor(e, session.sessionId); }));
  EXPECT_NO_THROW(await(bot.sipRefer({.sessionId = session.sessionId, .toEndPoint = "sip:agent@127.0.0.1:5099"})));
  ASSERT_TRUE(events.waitFor("participant-left", [&](const Event& e) { return isFor(e, session.sessionId); }));
  ASSERT_TRUE(events.waitFor("dialout-stopped", [&](const Event& e) { return isFor(e, session.sessionId); }));
  EXPECT_FALSE(events.seen("dialin-stopped"));
  EXPECT_EQ(callee->wait(15s), 0) << sippErrors("callee_accepts_refer.xml");
  const std::string wire = sippMessages("callee_accepts_refer.xml");
  EXPECT_NE(wire.find("Refer-To: <sip:agent@127.0.0.1:5099>"), std::string::npos) << wire;
  EXPECT_NE(wire.find("From: \"Support\" <sip:support@127.0.0.1"), std::string::npos) << wire;
}

TEST_F(SipTest, ANonOwnerIsRefusedAndNothingReachesTheWire) {
  joinOwner();
  auto caller = sippCaller("caller_hangs_up.xml");  // fails if any request reaches it
  const std::string id = waitForCaller();
  CallClient guest;
  await(guest.join({.url = room["url"], .userName = "guest"}));
  Error e = expectError([&] { await(guest.sipRefer({.sessionId = id, .toEndPoint = "sip:agent@127.0.0.1"})); });
  EXPECT_EQ(e.code(), ErrorCode::PermissionDenied);
  EXPECT_EQ(expectError([&] { await(guest.sendDTMF({.sessionId = id, .tones = "1"})); }).code(), ErrorCode::PermissionDenied);
  EXPECT_EQ(caller->wait(15s), 0) << sippErrors("caller_hangs_up.xml");
  EXPECT_EQ(sippMessages("caller_hangs_up.xml").find("REFER sip:"), std::string::npos);
}

TEST_F(SipTest, BadTargetsAndSessionsAreRefusedBeforeAnythingIsSent) {
  joinOwner();
  auto caller = sippCaller("caller_hangs_up.xml");
  const std::string id = waitForCaller();
  for (const char* target : {"sip:agent@127.0.0.1\r\nX-Evil: 1", "sip:agent@127.0.0.1>", "<sip:agent@127.0.0.1",
                             "agent@127.0.0.1", "sip:agent@127.0.0.1\n", ""}) {
    Error e = expectError([&] { await(bot.sipRefer({.sessionId = id, .toEndPoint = target})); });
    EXPECT_EQ(e.code(), ErrorCode::InvalidArgument) << target;
  }
  EXPECT_EQ(expectError([&] { await(bot.sipRefer({.sessionId = "no-such-session", .toEndPoint = "sip:a@127.0.0.1"})); })
                .code(),
            ErrorCode::NotFound);
  // A session that exists but is not a SIP participant (the bot itself).
  const std::string self = bot.participants()["local"]["session_id"];
  EXPECT_EQ(expectError([&] { await(bot.sipRefer({.sessionId = self, .toEndPoint = "sip:a@127.0.0.1"})); }).code(),
            ErrorCode::NotFound);
  // Targets that ask for TLS are not called in the clear (this gateway serves no SIP over TLS: no certificate).
  for (const char* target : {"sips:agent@127.0.0.1:5061", "sip:agent@127.0.0.1:5061;transport=tls"}) {
    Error e = expectError([&] { await(bot.sipCallTransfer({.sessionId = id, .toEndPoint = target})); });
    EXPECT_EQ(e.code(), ErrorCode::InvalidArgument) << target;
    EXPECT_NE(std::string(e.what()).find("TLS"), std::string::npos) << e.what();
    EXPECT_EQ(expectError([&] { await(bot.startDialOut({.sipUri = target})); }).code(), ErrorCode::InvalidArgument)
        << target;
  }
  EXPECT_EQ(caller->wait(15s), 0) << sippErrors("caller_hangs_up.xml");
  EXPECT_EQ(sippMessages("caller_hangs_up.xml").find("REFER sip:"), std::string::npos);
}

TEST_F(SipTest, MalformedSipGetsA400OrIsDroppedAndTheGatewayKeepsServing) {
  asio::io_context io;
  asio::ip::udp::socket peer(io, {asio::ip::make_address("127.0.0.1"), 0});
  const asio::ip::udp::endpoint gateway(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(server.sipPort()));
  auto exchange = [&](const std::string& datagram) {
    peer.send_to(asio::buffer(datagram), gateway);
    std::array<char, 4096> buf{};
    // Answers come at once on loopback; a 1 s receive timeout tells "dropped" from "answered". (recv() itself:
    // asio's synchronous receive would wait out EAGAIN by polling, ignoring SO_RCVTIMEO.)
    timeval tv{1, 0};
    setsockopt(peer.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    const ssize_t n = ::recv(peer.native_handle(), buf.data(), buf.size(), 0);
    return n <= 0 ? std::string() : std::string(buf.data(), static_cast<std::size_t>(n));
  };
  const std::string head = "INVITE sip:" + dialInUser(room) + "@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:" +
                           std::to_string(peer.local_endpoint().port()) +
                           ";branch=z9hG4bK-bad\r\nMax-Forwards: 70\r\nFrom: <sip:x@127.0.0.1>;tag=1\r\n"
                           "To: <sip:" + dialInUser(room) + "@127.0.0.1>\r\nCall-ID: bad-1\r\n";
  const std::string mismatched = exchange(head + "CSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(mismatched.rfind("SIP/2.0 400 Bad Request (CSeq method does not match)", 0), 0u) << mismatched;
  const std::string negative = exchange(head + "CSeq: 1 INVITE\r\nContent-Length: -5\r\n\r\n");
  EXPECT_EQ(negative.rfind("SIP/2.0 400", 0), 0u) << negative;
  EXPECT_EQ(exchange("\x01\x02 not SIP at all"), "");                           // dropped
  EXPECT_EQ(exchange("SIP/2.0 200 OK\r\nVia: nonsense\r\n\r\n"), "");       // responses are never answered
  // And the gateway still takes a real call.
  joinOwner();
  auto caller = sippCaller("caller_hangs_up.xml");
  EXPECT_FALSE(waitForCaller().empty());
  EXPECT_EQ(caller->wait(15s), 0) << sippErrors("caller_hangs_up.xml");
}

// The main flows over each transport the gateway serves: sipp callers, callees and targets over UDP and over TCP
// (sipp -t t1; the gateway listens for TCP on its UDP port's number, and dials ;transport=tcp targets over TCP).
enum class Wire { Udp, Tcp };

devserver::Options withTestCredentials() {
  devserver::Options o = fastTimers();
  o.sipCredentials = {"alice:s3cret@sip.test"};  // what caller_challenges_refer.xml checks
  return o;
}

class SipOverEachTransport : public SipTest, public ::testing::WithParamInterface<Wire> {
 protected:
  SipOverEachTransport() : SipTest(withTestCredentials()) {
    if (tcp()) sippTransport = {"-t", "t1"};
  }
  bool tcp() const { return GetParam() == Wire::Tcp; }
  // A port for a sipp server, free for its transport.
  int serverPort() const { return tcp() ? freeSipPort() : freeUdpPort(); }
  // A sipp server on port, ready for the gateway: over TCP, listening (a TCP connect is refused, not retried).
  std::unique_ptr<Process> readyServer(const std::string& scenario, int port) {
    auto server = sippServer(scenario, port);
    if (tcp() && !waitForTcpListener(port, 10s)) ADD_FAILURE() << "sipp never listened: " << sippErrors(scenario);
    return server;
  }
  // A SIP URI the gateway reaches over this transport.
  std::string target(const std::string& user, int port) const {
    return "sip:" + user + "@127.0.0.1:" + std::to_string(port) + (tcp() ? ";transport=tcp" : "");
  }
  // A dial-out to a sipp callee running scenario over this transport, answered and in the room.
  std::pair<std::unique_ptr<Process>, DialOutSession> dialOut(const std::string& scenario) {
    joinOwner();
    const int port = serverPort();
    auto callee = readyServer(scenario, port);
    const DialOutSession s = await(bot.startDialOut({.sipUri = target("bob", port)}));
    if (!events.waitFor("participant-joined", [&](const Event& e) { return isFor(e, s.sessionId); }))
      ADD_FAILURE() << "the callee never joined: " << sippErrors(scenario);
    return {std::move(callee), s};
  }
  // What a request the gateway sent says of its transport: its Via, and the Contact it gives.
  void expectSentOverThisTransport(const std::string& wire, const std::string& request) {
    const std::size_t at = wire.find(request);
    ASSERT_NE(at, std::string::npos) << wire;
    const std::string message = wire.substr(at, wire.find("\n\n", at) - at);
    EXPECT_NE(message.find(tcp() ? "Via: SIP/2.0/TCP " : "Via: SIP/2.0/UDP "), std::string::npos) << message;
    if (tcp()) {
      EXPECT_NE(message.find(";transport=tcp>"), std::string::npos) << message;
    }
  }
};

TEST_P(SipOverEachTransport, ACallerDialsInAndHangsUp) {
  joinOwner();
  auto caller = sippCaller("caller_hangs_up.xml");
  const std::string id = waitForCaller();
  ASSERT_TRUE(events.waitFor("participant-joined", [&](const Event& e) { return isFor(e, id); }));
  EXPECT_EQ(caller->wait(15s), 0) << sippErrors("caller_hangs_up.xml");
  ASSERT_TRUE(events.waitFor("dialin-stopped", [&](const Event& e) { return isFor(e, id); }));
  EXPECT_FALSE(bot.participants().contains(id));
  const std::string wire = sippMessages("caller_hangs_up.xml");
  // The 200 to its INVITE tells the caller where to send in-dialog requests over this transport.
  EXPECT_NE(wire.find(tcp() ? "<sip:gateway@127.0.0.1:" + std::to_string(server.sipPort()) + ";transport=tcp>"
                            : "<sip:gateway@127.0.0.1:" + std::to_string(server.sipPort()) + ">"),
            std::string::npos) << wire;
}

TEST_P(SipOverEachTransport, SipReferReachesACallerThatFollowsIt) {
  std::unique_ptr<Process> caller;
  const std::string id = referAndSeeItTransferred("caller_accepts_refer.xml", caller);
  ASSERT_TRUE(events.waitFor("participant-left", [&](const Event& e) { return isFor(e, id); }));
  EXPECT_EQ(caller->wait(15s), 0) << sippErrors("caller_accepts_refer.xml");
  // What the caller saw on the wire.
  const std::string wire = sippMessages("caller_accepts_refer.xml");
  expectSentOverThisTransport(wire, "REFER sip:caller@127.0.0.1");
  expectSentOverThisTransport(wire, "BYE sip:caller@127.0.0.1");
  EXPECT_NE(wire.find("Refer-To: <sip:agent@127.0.0.1:5099>"), std::string::npos) << wire;
  EXPECT_NE(wire.find("Referred-By: <sip:"), std::string::npos) << wire;
  // The progress the bot saw, in order: 202, NOTIFY 100, NOTIFY 200.
  std::vector<int> statuses;
  for (const auto& e : events.all())
    if (e.action == "sip-refer-progress") statuses.push_back(e.payload["sipStatus"]);
  EXPECT_EQ(statuses, (std::vector<int>{202, 100, 200}));
}

TEST_P(SipOverEachTransport, ARefusedReferIsSipRejectedAndTheCallerStays) {
  joinOwner();
  auto caller = sippCaller("caller_declines_refer.xml");
  const std::string id = waitForCaller();
  Error e = expectError([&] { await(bot.sipRefer({.sessionId = id, .toEndPoint = "sip:agent@127.0.0.1:5099"})); });
  EXPECT_EQ(e.code(), ErrorCode::SipRejected);
  EXPECT_EQ(e.sipStatus(), 603);
  EXPECT_TRUE(bot.participants().contains(id));
  EXPECT_EQ(caller->wait(15s), 0) << sippErrors("caller_declines_refer.xml");
}

TEST_P(SipOverEachTransport, DtmfReachesTheCallerAsInfo) {
  joinOwner();
  auto caller = sippCaller("caller_dtmf.xml");
  const std::string id = waitForCaller();
  EXPECT_NO_THROW(await(bot.sendDTMF({.sessionId = id, .tones = "1#b"})));
  EXPECT_EQ(caller->wait(15s), 0) << sippErrors("caller_dtmf.xml");
  const std::string wire = sippMessages("caller_dtmf.xml");
  EXPECT_NE(wire.find("Signal=B"), std::string::npos) << wire;
  expectSentOverThisTransport(wire, "INFO sip:caller@127.0.0.1");
}

TEST_P(SipOverEachTransport, BaresipFollowsTheReferToASippTarget) {
  ASSERT_TRUE(onPath("baresip")) << "baresip is part of the test dependencies (scripts/install-deps.sh)";
  joinOwner();
  const int targetPort = serverPort();
  auto agent = readyServer("uas", targetPort);
  // baresip: a real softphone, headless, with an 8 kHz WAV as its microphone; it hangs up (on the target, by
  // then) when the WAV's 5 seconds end. It dials the gateway over this transport, and follows the REFER over it.
  const int phonePort = freeSipPort();
  const std::string config = writeBaresipConfig(dir + "/baresip", "127.0.0.1", phonePort, "caller", 5);
  const std::string gateway =
      "sip:" + dialInUser(room) + "@127.0.0.1:" + std::to_string(server.sipPort()) + (tcp() ? ";transport=tcp" : "");
  Process phone({"baresip", "-f", config, "-e", "/dial " + gateway, "-t", "10"}, dir, dir + "/baresip.log");
  const std::string id = waitForCaller(dir + "/baresip.log");
  const std::string to = target("agent", targetPort);
  EXPECT_NO_THROW(await(bot.sipRefer({.sessionId = id, .toEndPoint = to})));
  auto done = events.waitFor("sip-refer-progress", [](const Event& e) { return e.payload["final"] == true; }, 15s);
  ASSERT_TRUE(done) << readFile(dir + "/baresip.log");
  EXPECT_EQ(done->payload["status"], "transferred");
  ASSERT_TRUE(events.waitFor("dialin-stopped", [&](const Event& e) { return isFor(e, id); }));
  // The target really received the caller's INVITE, and the call ended cleanly there.
  EXPECT_EQ(agent->wait(20s), 0) << sippErrors("uas") << readFile(dir + "/baresip.log");
  const std::string wire = sippMessages("uas");
  EXPECT_NE(wire.find("INVITE sip:agent@127.0.0.1:" + std::to_string(targetPort)), std::string::npos) << wire;
  EXPECT_NE(wire.find("From: <sip:caller@127.0.0.1:" + std::to_string(phonePort)), std::string::npos) << wire;
  if (tcp()) {
    EXPECT_NE(wire.find("Via: SIP/2.0/TCP "), std::string::npos) << wire;
  }
}

TEST_P(SipOverEachTransport, ADialOutIsAnsweredAndStoppedWithABye) {
  auto [callee, s] = dialOut("callee_answers.xml");
  ASSERT_TRUE(events.waitFor("dialout-answered", [&](const Event& e) { return isFor(e, s.sessionId); }));
  EXPECT_NO_THROW(await(bot.stopDialOut({.sessionId = s.sessionId})));
  ASSERT_TRUE(events.waitFor("dialout-stopped", [&](const Event& e) { return isFor(e, s.sessionId); }));
  EXPECT_EQ(callee->wait(10s), 0) << sippErrors("callee_answers.xml");
  const std::string wire = sippMessages("callee_answers.xml");
  expectSentOverThisTransport(wire, "INVITE sip:bob@127.0.0.1");
  expectSentOverThisTransport(wire, "BYE sip:callee@127.0.0.1");
}

TEST_P(SipOverEachTransport, SipReferOnADialOutLeg) {
  auto [callee, s] = dialOut("callee_accepts_refer.xml");
  EXPECT_NO_THROW(await(bot.sipRefer({.sessionId = s.sessionId, .toEndPoint = "sip:agent@127.0.0.1:5099"})));
  ASSERT_TRUE(events.waitFor("dialout-stopped", [&](const Event& e) { return isFor(e, s.sessionId); }));
  EXPECT_EQ(callee->wait(15s), 0) << sippErrors("callee_accepts_refer.xml");
  expectSentOverThisTransport(sippMessages("callee_accepts_refer.xml"), "REFER sip:callee@127.0.0.1");
}

TEST_P(SipOverEachTransport, SipCallTransferBridgesTheCallerToTheTarget) {
  joinOwner();
  const int port = serverPort();
  auto agent = readyServer("uas", port);
  auto caller = sippCaller("caller_hangs_up.xml");
  const std::string id = waitForCaller();
  EXPECT_NO_THROW(await(bot.sipCallTransfer({.sessionId = id, .toEndPoint = target("agent", port)})));
  ASSERT_TRUE(events.waitFor("dialin-stopped", [&](const Event& e) { return isFor(e, id); }));
  EXPECT_EQ(caller->wait(15s), 0) << sippErrors("caller_hangs_up.xml");
  EXPECT_EQ(agent->wait(15s), 0) << sippErrors("uas");  // the caller's BYE ended the bridge: the agent got one too
  expectSentOverThisTransport(sippMessages("uas"), "INVITE sip:agent@127.0.0.1");
}

TEST_P(SipOverEachTransport, AnAttendedTransferRefersTheCallerToTheOtherPartyWithAReplacesOfItsCall) {
  joinOwner();
  // B: the party the caller is handed to. Its own phone would take the caller's INVITE with Replaces and hang up
  // on the gateway; this one hangs up after 3 s.
  sippCallerArgs = {"-p", std::to_string(serverPort())};
  auto b = sippCaller("caller_hangs_up.xml");
  auto bConnected = events.waitFor("dialin-connected");
  ASSERT_TRUE(bConnected);
  const std::string bId = bConnected->payload["sessionId"];
  const std::string bCallId = bConnected->payload["sipCallId"];
  // A: the caller, who follows the REFER.
  sippCallerArgs = {"-p", std::to_string(serverPort())};
  auto a = sippCaller("caller_accepts_refer.xml");
  auto aConnected = events.waitFor("dialin-connected", [&](const Event& e) { return !isFor(e, bId); });
  ASSERT_TRUE(aConnected);
  const std::string aId = aConnected->payload["sessionId"];
  // toEndPoint or replacesSessionId, not both; and not the caller itself.
  EXPECT_EQ(expectError([&] {
              await(bot.sipRefer({.sessionId = aId, .toEndPoint = "sip:x@127.0.0.1", .replacesSessionId = bId}));
            }).code(),
            ErrorCode::InvalidArgument);
  EXPECT_EQ(expectError([&] { await(bot.sipRefer({.sessionId = aId, .replacesSessionId = aId})); }).code(),
            ErrorCode::InvalidArgument);
  EXPECT_EQ(expectError([&] { await(bot.sipRefer({.sessionId = aId, .replacesSessionId = "nobody"})); }).code(),
            ErrorCode::NotFound);
  EXPECT_NO_THROW(await(bot.sipRefer({.sessionId = aId, .replacesSessionId = bId})));
  auto done = events.waitFor("sip-refer-progress", [](const Event& e) { return e.payload["final"] == true; });
  ASSERT_TRUE(done);
  EXPECT_EQ(done->payload["status"], "transferred");
  // The gateway leaves both calls: A's with its BYE, B's when B's party hangs up.
  EXPECT_TRUE(events.waitFor("dialin-stopped", [&](const Event& e) { return isFor(e, aId); }));
  EXPECT_TRUE(events.waitFor("dialin-stopped", [&](const Event& e) { return isFor(e, bId); }));
  EXPECT_EQ(a->wait(15s), 0) << sippErrors("caller_accepts_refer.xml");
  EXPECT_EQ(b->wait(15s), 0) << sippErrors("caller_hangs_up.xml");
  // A was sent to B's Contact, with B's dialog in Replaces as B sees it (RFC 3891): to-tag B's, from-tag ours.
  const std::string wire = sippMessages("caller_accepts_refer.xml");
  const std::size_t at = wire.find("Refer-To: <sip:caller@127.0.0.1:");
  ASSERT_NE(at, std::string::npos) << wire;
  const std::string referTo = wire.substr(at, wire.find('\n', at) - at);
  std::string escapedCallId;
  for (char c : bCallId) escapedCallId += c == '@' ? std::string("%40") : std::string(1, c);
  EXPECT_NE(referTo.find("?Replaces=" + escapedCallId + "%3Bto-tag%3D"), std::string::npos) << referTo;
  EXPECT_NE(referTo.find("SIPpTag001%3Bfrom-tag%3D"), std::string::npos) << referTo;  // B's tag, as to-tag
  expectSentOverThisTransport(wire, "REFER sip:caller@127.0.0.1");
}

// A peer's blind transfer to the gateway (inbound REFER) over this transport: the NOTIFYs go to the referrer over
// it, and the target is called over it.
TEST_P(SipOverEachTransport, ThePeersBlindTransferMovesTheParticipantToTheTarget) {
  joinOwner();
  const int port = serverPort();
  auto agent = readyServer("callee_answers_then_hangs_up.xml", port);
  const std::string to = target("agent", port);
  sippCallerArgs = {"-key", "target", to};
  auto caller = sippCaller("caller_transfers_away.xml");
  const std::string id = waitForCaller();
  auto done = events.waitFor("sip-inbound-refer-progress", [](const Event& e) { return e.payload["final"] == true; });
  ASSERT_TRUE(done) << sippErrors("caller_transfers_away.xml") << sippErrors("callee_answers_then_hangs_up.xml");
  EXPECT_EQ(done->payload["status"], "transferred");
  EXPECT_TRUE(events.waitFor("participant-updated", [&](const Event& e) { return isFor(e, id); }));
  EXPECT_EQ(caller->wait(15s), 0) << sippErrors("caller_transfers_away.xml");
  EXPECT_EQ(agent->wait(10s), 0) << sippErrors("callee_answers_then_hangs_up.xml");
  expectSentOverThisTransport(sippMessages("caller_transfers_away.xml"), "NOTIFY sip:caller@127.0.0.1");
  expectSentOverThisTransport(sippMessages("callee_answers_then_hangs_up.xml"), "INVITE " + to);
}

// A REFER challenged for credentials, over this transport: it goes again (a new transaction on the same flow).
TEST_P(SipOverEachTransport, AChallengedReferGoesAgainWithCredentials) {
  std::unique_ptr<Process> caller;
  referAndSeeItTransferred("caller_challenges_refer.xml", caller);
  EXPECT_EQ(caller->wait(15s), 0) << sippErrors("caller_challenges_refer.xml");  // the digest checked out
  const std::string wire = sippMessages("caller_challenges_refer.xml");
  const std::size_t second = wire.find("REFER sip:", wire.find("REFER sip:") + 1);
  ASSERT_NE(second, std::string::npos) << wire;
  expectSentOverThisTransport(wire.substr(second), "REFER sip:");
  EXPECT_NE(wire.find("Authorization: Digest username=\"alice\", realm=\"sip.test\""), std::string::npos) << wire;
  EXPECT_EQ(wire.find("s3cret"), std::string::npos) << "the password went on the wire";
}

// The REFER subscription's corner cases over each transport: a NOTIFY of another subscription, the final NOTIFY
// after the caller's BYE, and a call that ends without one.
TEST_P(SipOverEachTransport, ANotifyForAnotherSubscriptionIsRefusedAndTheTransferGoesOn) {
  std::unique_ptr<Process> caller;
  referAndSeeItTransferred("caller_notifies_another_subscription.xml", caller);  // its id=999 NOTIFY got a 481
  EXPECT_EQ(caller->wait(15s), 0) << sippErrors("caller_notifies_another_subscription.xml");
  for (const auto& e : events.all()) {
    if (e.action == "sip-refer-progress") {
      EXPECT_NE(e.payload["sipStatus"], 603) << e.payload.dump();
    }
  }
}

TEST_P(SipOverEachTransport, AFinalNotifyAfterTheCallersByeStillReportsTheTransfer) {
  joinOwner();
  auto caller = sippCaller("caller_notifies_after_bye.xml");
  const std::string id = waitForCaller();
  EXPECT_NO_THROW(await(bot.sipRefer({.sessionId = id, .toEndPoint = "sip:agent@127.0.0.1:5099"})));
  ASSERT_TRUE(events.waitFor("dialin-stopped", [&](const Event& e) { return isFor(e, id); }));
  auto done = events.waitFor("sip-refer-progress", [&](const Event& e) { return isFor(e, id) && e.payload["final"] == true; });
  ASSERT_TRUE(done);
  EXPECT_EQ(done->payload["status"], "transferred") << done->payload.dump();
  EXPECT_EQ(done->payload["sipStatus"], 200);
  EXPECT_EQ(caller->wait(15s), 0) << sippErrors("caller_notifies_after_bye.xml");  // its NOTIFY got a 200
}

TEST_P(SipOverEachTransport, ACallThatEndsWithoutAFinalNotifyEndsItsTransferAsUnknown) {
  joinOwner();
  auto caller = sippCaller("caller_hangs_up_after_accepting_refer.xml");
  const std::string id = waitForCaller();
  EXPECT_NO_THROW(await(bot.sipRefer({.sessionId = id, .toEndPoint = "sip:agent@127.0.0.1:5099"})));
  ASSERT_TRUE(events.waitFor("dialin-stopped", [&](const Event& e) { return isFor(e, id); }));
  EXPECT_EQ(caller->wait(15s), 0) << sippErrors("caller_hangs_up_after_accepting_refer.xml");
  // The subscription outlives the call for 64*T1 (2 s here), then the transfer's outcome is reported as unknown.
  auto done = events.waitFor("sip-refer-progress", [&](const Event& e) { return isFor(e, id) && e.payload["final"] == true; });
  ASSERT_TRUE(done);
  EXPECT_EQ(done->payload["status"], "unknown") << done->payload.dump();
  EXPECT_EQ(done->payload["sipStatus"], 0);
}

INSTANTIATE_TEST_SUITE_P(Transports, SipOverEachTransport, ::testing::Values(Wire::Udp, Wire::Tcp),
                         [](const auto& info) { return info.param == Wire::Udp ? "Udp" : "Tcp"; });

class SipReferRefused : public SipTest, public ::testing::WithParamInterface<std::pair<const char*, int>> {};

TEST_P(SipReferRefused, IsSipRejectedWithTheStatusAndTheCallerStays) {
  const auto [scenario, status] = GetParam();
  joinOwner();
  auto caller = sippCaller(scenario);
  const std::string id = waitForCaller();
  Error e = expectError([&] { await(bot.sipRefer({.sessionId = id, .toEndPoint = "sip:agent@127.0.0.1:5099"})); });
  EXPECT_EQ(e.code(), ErrorCode::SipRejected);
  EXPECT_EQ(e.sipStatus(), status);
  EXPECT_TRUE(bot.participants().contains(id));  // still in the room
  auto rejected = events.waitFor("sip-refer-progress");
  ASSERT_TRUE(rejected);
  EXPECT_EQ(rejected->payload["status"], "rejected");
  EXPECT_EQ(rejected->payload["sipStatus"], status);
  EXPECT_EQ(caller->wait(15s), 0) << sippErrors(scenario);  // it hangs up by itself later
  EXPECT_TRUE(events.waitFor("dialin-stopped"));
}

INSTANTIATE_TEST_SUITE_P(Statuses, SipReferRefused,
                         ::testing::Values(std::pair{"caller_declines_refer.xml", 603},
                                           std::pair{"caller_challenges_refer_407.xml", 407},  // no credentials
                                           std::pair{"caller_refuses_refer_405.xml", 405},
                                           std::pair{"caller_refuses_refer_503.xml", 503}));

TEST_P(SipOverEachTransport, ACallerThatNeverAnswersTheReferTimesOut) {
  joinOwner();
  auto caller = sippCaller("caller_ignores_refer.xml");
  const std::string id = waitForCaller();
  const auto start = std::chrono::steady_clock::now();
  Error e = expectError([&] { await(bot.sipRefer({.sessionId = id, .toEndPoint = "sip:agent@127.0.0.1:5099"})); });
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(e.code(), ErrorCode::Timeout);
  EXPECT_EQ(e.sipStatus(), 0);
  EXPECT_GE(elapsed, 1900ms);  // the configured transaction timeout is 2 s
  EXPECT_LT(elapsed, 6s);
  EXPECT_TRUE(bot.participants().contains(id));
  EXPECT_EQ(caller->wait(15s), 0) << sippErrors("caller_ignores_refer.xml");
  // The gateway retransmitted the REFER over UDP while waiting (T1 = 100 ms), and never over TCP (§17.1.2.2: no
  // Timer E on a reliable transport), where it waited all the same.
  const std::string wire = sippMessages("caller_ignores_refer.xml");
  std::size_t refers = 0;
  for (std::size_t at = wire.find("REFER sip:"); at != std::string::npos; at = wire.find("REFER sip:", at + 1)) ++refers;
  if (tcp()) {
    EXPECT_EQ(refers, 1u) << wire;
  } else {
    EXPECT_GE(refers, 3u) << wire;
  }
}

TEST_P(SipOverEachTransport, ATransferThatFailsAtTheTargetLeavesTheCallerInTheRoom) {
  joinOwner();
  auto caller = sippCaller("caller_transfer_fails.xml");
  const std::string id = waitForCaller();
  EXPECT_NO_THROW(await(bot.sipRefer({.sessionId = id, .toEndPoint = "sip:busy@127.0.0.1:5099"})));
  auto done = events.waitFor("sip-refer-progress", [](const Event& e) { return e.payload["final"] == true; });
  ASSERT_TRUE(done);
  EXPECT_EQ(done->payload["status"], "failed");
  EXPECT_EQ(done->payload["sipStatus"], 486);
  EXPECT_TRUE(bot.participants().contains(id));
  EXPECT_FALSE(events.seen("dialin-stopped"));
  EXPECT_EQ(caller->wait(15s), 0) << sippErrors("caller_transfer_fails.xml");
  EXPECT_EQ(sippMessages("caller_transfer_fails.xml").find("BYE sip:caller"), std::string::npos);  // the gateway stayed
}

TEST(SipFaults, DevserverKilledDuringAPendingSipRefer) {
  ChildServer server({"--sip-timeout-ms", "30000"});
  const json room = server.createRoom({{"name", "support"}, {"properties", {{"sip", {{"sip_mode", "dial-in"}}}}}});
  CallClient bot(CallClientOptions{.reconnect = false});  // Reconnect.* in fault_matrix_test covers the other case
  EventRecorder events(bot);
  await(bot.join({.url = room["url"], .token = server.token({{"is_owner", true}})}));
  const std::string dir = tempDir("daily-sip-kill");
  Process caller({"sipp", "127.0.0.1:" + std::to_string(server.sipPort()), "-sf", kScenarios + "/caller_ignores_refer.xml",
                  "-s", dialInUser(room), "-i", "127.0.0.1", "-m", "1", "-timeout", "10s", "-nostdin", "-mp",
                  std::to_string(freeMediaPort())},
                 dir, dir + "/sipp.log");
  auto connected = events.waitFor("dialin-connected");
  ASSERT_TRUE(connected);
  auto pending = bot.sipRefer({.sessionId = connected->payload["sessionId"], .toEndPoint = "sip:agent@127.0.0.1:5099"});
  ASSERT_EQ(pending.wait_for(300ms), std::future_status::timeout);  // the caller never answers: still pending
  server.kill();
  Error e = expectError([&] { await(std::move(pending), 5s); });
  EXPECT_EQ(e.code(), ErrorCode::ConnectionLost);
  EXPECT_TRUE(events.waitFor("error"));
  EXPECT_EQ(bot.meetingState(), "error");
}

TEST_P(SipOverEachTransport, DialOutToABusyCalleeIsADialoutErrorWith486) {
  joinOwner();
  const int port = serverPort();
  auto callee = readyServer("callee_busy.xml", port);
  const DialOutSession s = await(bot.startDialOut({.sipUri = target("bob", port), .userId = "bob-1"}));
  EXPECT_FALSE(s.sessionId.empty());
  auto error = events.waitFor("dialout-error");
  ASSERT_TRUE(error);
  EXPECT_EQ(error->payload["sipStatus"], 486);
  EXPECT_EQ(error->payload["sessionId"], s.sessionId);
  EXPECT_EQ(error->payload["userId"], "bob-1");
  EXPECT_NE(error->payload["errorMsg"].get<std::string>().find("486"), std::string::npos);
  EXPECT_FALSE(bot.participants().contains(s.sessionId));
  EXPECT_EQ(callee->wait(10s), 0) << sippErrors("callee_busy.xml");  // it got its ACK
}

TEST_F(SipTest, StopDialOutSendsByeAndDialoutStopped) {
  joinOwner();
  const int port = freeUdpPort();
  auto callee = sippServer("callee_answers.xml", port);
  const DialOutSession s = await(bot.startDialOut({.sipUri = "sip:bob@127.0.0.1:" + std::to_string(port)}));
  ASSERT_TRUE(events.waitFor("dialout-connected", [&](const Event& e) { return isFor(e, s.sessionId); }));
  ASSERT_TRUE(events.waitFor("dialout-answered", [&](const Event& e) { return isFor(e, s.sessionId); }));
  ASSERT_TRUE(events.waitFor("participant-joined", [&](const Event& e) { return isFor(e, s.sessionId); }));
  EXPECT_NO_THROW(await(bot.stopDialOut({.sessionId = s.sessionId})));
  ASSERT_TRUE(events.waitFor("participant-left", [&](const Event& e) { return isFor(e, s.sessionId); }));
  ASSERT_TRUE(events.waitFor("dialout-stopped", [&](const Event& e) { return isFor(e, s.sessionId); }));
  EXPECT_EQ(callee->wait(10s), 0) << sippErrors("callee_answers.xml");
  EXPECT_NE(sippMessages("callee_answers.xml").find("BYE sip:callee@127.0.0.1"), std::string::npos);
  EXPECT_EQ(expectError([&] { await(bot.stopDialOut({.sessionId = s.sessionId})); }).code(), ErrorCode::NotFound);
}

TEST_F(SipTest, DtmfReachesTheSipPeerAsInfoWithTheRightDigits) {
  joinOwner();
  auto caller = sippCaller("caller_dtmf.xml");
  const std::string id = waitForCaller();
  EXPECT_EQ(expectError([&] { await(bot.sendDTMF({.sessionId = id, .tones = "12x"})); }).code(), ErrorCode::InvalidArgument);
  EXPECT_EQ(expectError([&] { await(bot.sendDTMF({.sessionId = id, .tones = "1\r\n"})); }).code(), ErrorCode::InvalidArgument);
  EXPECT_NO_THROW(await(bot.sendDTMF({.sessionId = id, .tones = "1#b"})));
  EXPECT_EQ(caller->wait(15s), 0) << sippErrors("caller_dtmf.xml");
  const std::string wire = sippMessages("caller_dtmf.xml");
  const auto one = wire.find("Signal=1"), hash = wire.find("Signal=#"), b = wire.find("Signal=B");
  ASSERT_NE(one, std::string::npos) << wire;
  ASSERT_NE(hash, std::string::npos) << wire;
  ASSERT_NE(b, std::string::npos) << wire;
  EXPECT_LT(one, hash);
  EXPECT_LT(hash, b);
  EXPECT_NE(wire.find("Content-Type: application/dtmf-relay"), std::string::npos);
}

// RFC 3261 §18.1.1: a REFER longer than 1300 bytes goes over TCP to the caller's address and port; sipp, listening
// on UDP only, refuses the connection, and the REFER goes over UDP after all (tcp_test.cpp has a caller that takes
// it over TCP).
TEST_F(SipTest, ALongReferToACallerThatTakesNoTcpGoesOverUdpAfterAll) {
  joinOwner();
  auto caller = sippCaller("caller_accepts_refer.xml");
  const std::string id = waitForCaller();
  EXPECT_NO_THROW(await(bot.sipRefer({.sessionId = id, .toEndPoint = "sip:agent@127.0.0.1:5099",
                                      .sipHeaders = {{"X-Notes", std::string(700, 'n')}, {"X-More", std::string(700, 'm')}}})));
  auto done = events.waitFor("sip-refer-progress", [](const Event& e) { return e.payload["final"] == true; });
  ASSERT_TRUE(done) << sippErrors("caller_accepts_refer.xml");
  EXPECT_EQ(done->payload["status"], "transferred");
  EXPECT_EQ(caller->wait(15s), 0) << sippErrors("caller_accepts_refer.xml");
  const std::string wire = sippMessages("caller_accepts_refer.xml");
  const std::size_t refer = wire.find("REFER sip:");
  ASSERT_NE(refer, std::string::npos) << wire;
  const std::string message = wire.substr(refer, wire.find("\n\n", refer) - refer);
  EXPECT_NE(message.find("Via: SIP/2.0/UDP "), std::string::npos) << message;
  EXPECT_NE(message.find("X-Notes: nnnn"), std::string::npos) << message;
}

// Digest authentication (RFC 3261 22.2): peers that challenge the gateway's requests, and check the digest it
// answers with (sipp's verifyauth), for credentials given as --sip-auth alice:s3cret@sip.test.
// MD5 in lower-case hex, from OpenSSL: an account of the digest that does not use the gateway's own code.
std::string md5Hex(const std::string& text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), digest, &length, EVP_md5(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) out += {hex[digest[i] >> 4], hex[digest[i] & 15]};
  return out;
}

// Each over UDP and TCP (the challenged REFER is SipOverEachTransport's): a challenged request goes again as a new
// transaction on the same flow, retransmitted only where the transport is not reliable.
class SipAuthTest : public SipOverEachTransport {};

TEST_P(SipAuthTest, AChallengedDialOutInviteGoesAgainWithCredentials) {
  joinOwner();
  const int port = serverPort();
  auto callee = readyServer("callee_challenges_invite.xml", port);
  const DialOutSession s = await(bot.startDialOut({.sipUri = target("bob", port)}));
  ASSERT_TRUE(events.waitFor("dialout-answered", [&](const Event& e) { return isFor(e, s.sessionId); }))
      << sippErrors("callee_challenges_invite.xml");
  ASSERT_TRUE(events.waitFor("participant-joined", [&](const Event& e) { return isFor(e, s.sessionId); }));
  EXPECT_NO_THROW(await(bot.stopDialOut({.sessionId = s.sessionId})));  // its BYE: CSeq 3, after the INVITEs' 1 and 2
  ASSERT_TRUE(events.waitFor("dialout-stopped", [&](const Event& e) { return isFor(e, s.sessionId); }));
  EXPECT_EQ(callee->wait(10s), 0) << sippErrors("callee_challenges_invite.xml");
  EXPECT_NE(sippMessages("callee_challenges_invite.xml").find("CSeq: 3 BYE"), std::string::npos);
}

TEST_P(SipAuthTest, AChallengedDtmfInfoGoesAgainWithProxyCredentials) {
  joinOwner();
  auto caller = sippCaller("caller_challenges_info_407.xml");
  const std::string id = waitForCaller();
  EXPECT_NO_THROW(await(bot.sendDTMF({.sessionId = id, .tones = "5"})));
  EXPECT_EQ(caller->wait(15s), 0) << sippErrors("caller_challenges_info_407.xml");
  const std::string wire = sippMessages("caller_challenges_info_407.xml");
  EXPECT_NE(wire.find("Signal=5"), std::string::npos) << wire;
  const std::size_t second = wire.find("INFO sip:", wire.find("INFO sip:") + 1);
  ASSERT_NE(second, std::string::npos) << wire;
  expectSentOverThisTransport(wire.substr(second), "INFO sip:");
  // sipp's verifyauth reads only Authorization, so the digest is checked here, by RFC 2617's formula with qop=auth.
  const std::size_t at = wire.find("Proxy-Authorization: Digest ");
  ASSERT_NE(at, std::string::npos) << wire;
  const std::string line = wire.substr(at, wire.find('\n', at) - at);
  auto param = [&](const std::string& name) {
    const std::size_t p = line.find(" " + name + "=");
    if (p == std::string::npos) return std::string();
    std::size_t begin = p + name.size() + 2, end;
    if (line[begin] == '"') end = line.find('"', ++begin);
    else end = line.find_first_of(", ", begin);
    return line.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
  };
  EXPECT_EQ(param("username"), "alice");
  EXPECT_EQ(param("realm"), "sip.test");
  EXPECT_EQ(param("nonce"), "0a4f113b5b8c2d7e91f0c3");
  const std::string ha1 = md5Hex("alice:sip.test:s3cret"), ha2 = md5Hex("INFO:" + param("uri"));
  EXPECT_EQ(param("response"), md5Hex(ha1 + ":" + param("nonce") + ":" + param("nc") + ":" + param("cnonce") + ":auth:" + ha2))
      << line;
  EXPECT_EQ(line.find("s3cret"), std::string::npos);
}

TEST_P(SipAuthTest, AChallengedByeGoesAgainWithCredentialsAndTheCallEnds) {
  joinOwner();
  const int port = serverPort();
  auto callee = readyServer("callee_challenges_bye.xml", port);
  const DialOutSession s = await(bot.startDialOut({.sipUri = target("bob", port)}));
  ASSERT_TRUE(events.waitFor("participant-joined", [&](const Event& e) { return isFor(e, s.sessionId); }))
      << sippErrors("callee_challenges_bye.xml");
  EXPECT_NO_THROW(await(bot.stopDialOut({.sessionId = s.sessionId})));
  ASSERT_TRUE(events.waitFor("participant-left", [&](const Event& e) { return isFor(e, s.sessionId); }));
  EXPECT_EQ(callee->wait(10s), 0) << sippErrors("callee_challenges_bye.xml");  // the second BYE's digest checked out
  const std::string wire = sippMessages("callee_challenges_bye.xml");
  EXPECT_NE(wire.find("Authorization: Digest username=\"alice\""), std::string::npos) << wire;
}

TEST_P(SipAuthTest, AChallengeForARealmWithoutCredentialsIsSipRejectedWithItsStatus) {
  joinOwner();
  auto caller = sippCaller("caller_challenges_refer_407.xml");  // realm proxy.test
  const std::string id = waitForCaller();
  Error e = expectError([&] { await(bot.sipRefer({.sessionId = id, .toEndPoint = "sip:agent@127.0.0.1:5099"})); });
  EXPECT_EQ(e.code(), ErrorCode::SipRejected);
  EXPECT_EQ(e.sipStatus(), 407);
  EXPECT_EQ(caller->wait(15s), 0) << sippErrors("caller_challenges_refer_407.xml");
  EXPECT_EQ(sippMessages("caller_challenges_refer_407.xml").find("Proxy-Authorization:"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Transports, SipAuthTest, ::testing::Values(Wire::Udp, Wire::Tcp),
                         [](const auto& info) { return info.param == Wire::Udp ? "Udp" : "Tcp"; });

// Dial-ins that need credentials (--sip-dial-in-auth): a caller's INVITE is challenged (401, MD5: Debian's baresip
// and sipp speak nothing else) until it proves an account. baresip answers as a softphone does; sipp checks the
// exchange message by message.
devserver::Options withDialInCredentials() {
  devserver::Options o = fastTimers();
  o.sipDialInCredentials = {"trunk:pa55@calls.test"};
  return o;
}

class SipDialInAuth : public SipTest {
 protected:
  SipDialInAuth() : SipTest(withDialInCredentials()) {}
  // baresip as the trunk "trunk", with password, dialing the room; its log is trunkLog.
  std::unique_ptr<Process> trunk(const std::string& password) {
    const std::string config =
        writeBaresipConfig(dir + "/trunk", "127.0.0.1", freeSipPort(), "trunk", 5, {.authPassword = password});
    return std::make_unique<Process>(
        std::vector<std::string>{"baresip", "-f", config, "-e",
                                 "/dial sip:" + dialInUser(room) + "@127.0.0.1:" + std::to_string(server.sipPort()), "-t", "8"},
        dir, trunkLog);
  }
  const std::string trunkLog = dir + "/trunk/baresip.log";
};

// baresip answers the challenge (RFC 8760: the topmost challenge whose algorithm it supports).
TEST_F(SipDialInAuth, ACallerThatAnswersTheChallengeDialsIn) {
  joinOwner();
  auto phone = trunk("pa55");
  const std::string id = waitForCaller(trunkLog);
  EXPECT_FALSE(id.empty());
  EXPECT_TRUE(events.waitFor("participant-joined", [&](const Event& e) { return isFor(e, id); }));
}

TEST_F(SipDialInAuth, AWrongPasswordIsChallengedAgainAndTheCallerNeverJoins) {
  joinOwner();
  auto phone = trunk("wrong");
  // baresip gives up once the second INVITE is challenged too ("401 Unauthorized" in its log).
  EXPECT_TRUE(waitForFileContaining(trunkLog, "401 Unauthorized", 10s)) << readFile(trunkLog);
  EXPECT_FALSE(events.waitFor("dialin-connected", {}, 1s));
  EXPECT_EQ(bot.participants().size(), 1u);
}

TEST_F(SipDialInAuth, SippsDigestIsTakenAndItsCallEndsNormally) {
  joinOwner();
  sippCallerArgs = {"-au", "trunk", "-ap", "pa55"};
  auto caller = sippCaller("caller_authenticates.xml");
  EXPECT_FALSE(waitForCaller(dir + "/caller_authenticates.xml.log").empty());
  EXPECT_EQ(caller->wait(15s), 0) << sippErrors("caller_authenticates.xml");
  const std::string wire = sippMessages("caller_authenticates.xml");
  const std::size_t challenge = wire.find("SIP/2.0 401 Unauthorized");
  ASSERT_NE(challenge, std::string::npos) << wire;
  EXPECT_NE(wire.find("WWW-Authenticate: Digest realm=\"calls.test\"", challenge), std::string::npos) << wire;
  EXPECT_EQ(wire.find("algorithm=SHA-256", challenge), std::string::npos) << wire;  // MD5 alone, unless asked for
  EXPECT_NE(wire.find("Authorization: Digest username=\"trunk\""), std::string::npos) << wire;
  EXPECT_EQ(wire.find("pa55"), std::string::npos);
}

TEST_F(SipDialInAuth, WithoutCredentialsEveryDialInIsChallengedRoomOrNot) {
  // Not even the 404 of a wrong identifier is given to a caller that has not proved an account.
  for (const std::string& user : {dialInUser(room), std::string("nosuchroom")}) {
    SCOPED_TRACE(user);
    auto caller = sipp({"127.0.0.1:" + std::to_string(server.sipPort()), "-sf", kScenarios + "/caller_hangs_up.xml",
                        "-s", user},
                       "unauthenticated-" + user);
    EXPECT_NE(caller->wait(15s), 0);
    EXPECT_NE(sippMessages("unauthenticated-" + user).find("SIP/2.0 401 Unauthorized"), std::string::npos)
        << sippErrors("unauthenticated-" + user);
  }
}

// kamailio as a Record-Routing proxy between the gateway and its SIP peers: sipp callers send to it (-rsa) and
// their dialogs go through it; the gateway's dial-outs go to it as their outbound proxy. Whatever the gateway sends
// within those dialogs must go through it too: a caller behind such a proxy is often reachable only through it.
// Each request sipp gets is checked to have come through the proxy (kamailio's Via on top of the gateway's).
struct WithAProxy {
  WithAProxy() : proxyDir(tempDir("daily-proxy")), proxy(proxyDir, freeSipPort()) {}
  std::string proxyDir;
  KamailioProxy proxy;
};

class SipThroughAProxy : public WithAProxy, public SipTest {
 protected:
  SipThroughAProxy() : SipTest(throughProxy(proxy)) {
    sippCallerArgs = {"-rsa", "127.0.0.1:" + std::to_string(proxy.port())};
  }
  static devserver::Options throughProxy(const KamailioProxy& proxy) {
    devserver::Options o = fastTimers();
    o.sipOutboundProxy = "sip:127.0.0.1:" + std::to_string(proxy.port());
    return o;
  }
  // The request that sipp's wire log has, as it arrived: with the proxy's Via above the gateway's.
  void expectThroughTheProxy(const std::string& wire, const std::string& request) {
    const std::size_t at = wire.find(request);
    ASSERT_NE(at, std::string::npos) << wire << "\nkamailio:\n" << proxy.log();
    const std::string message = wire.substr(at, wire.find("\n\n", at) - at);
    const std::size_t proxyVia = message.find("Via: SIP/2.0/UDP 127.0.0.1:" + std::to_string(proxy.port()) + ";");
    const std::size_t gatewayVia = message.find("Via: SIP/2.0/UDP 127.0.0.1:" + std::to_string(server.sipPort()) + ";");
    EXPECT_NE(proxyVia, std::string::npos) << "not through the proxy:\n" << message;
    EXPECT_LT(proxyVia, gatewayVia) << message;
  }
};

TEST_F(SipThroughAProxy, ACallerBehindTheProxyIsReferredAndHungUpThroughIt) {
  std::unique_ptr<Process> caller;
  referAndSeeItTransferred("caller_accepts_refer.xml", caller);
  EXPECT_EQ(caller->wait(15s), 0) << sippErrors("caller_accepts_refer.xml");
  const std::string wire = sippMessages("caller_accepts_refer.xml");
  // The INVITE was Record-Routed, and what the gateway sent afterwards followed the route.
  EXPECT_NE(wire.find("Record-Route: <sip:127.0.0.1:" + std::to_string(proxy.port()) + ";lr"), std::string::npos) << wire;
  expectThroughTheProxy(wire, "REFER sip:caller@");
  expectThroughTheProxy(wire, "BYE sip:caller@");
  EXPECT_EQ(proxy.relayed("REFER"), 1) << proxy.log();
  EXPECT_EQ(proxy.relayed("BYE"), 1) << proxy.log();
}

TEST_F(SipThroughAProxy, DtmfReachesACallerBehindTheProxyThroughIt) {
  joinOwner();
  auto caller = sippCaller("caller_dtmf.xml");
  const std::string id = waitForCaller();
  EXPECT_NO_THROW(await(bot.sendDTMF({.sessionId = id, .tones = "1#b"})));
  EXPECT_EQ(caller->wait(15s), 0) << sippErrors("caller_dtmf.xml");
  expectThroughTheProxy(sippMessages("caller_dtmf.xml"), "INFO sip:caller@");
}

TEST_F(SipThroughAProxy, ADialOutGoesThroughTheOutboundProxyWhichRoutesAHostName) {
  joinOwner();
  const int port = freeUdpPort();
  auto callee = sippServer("callee_answers.xml", port);
  // A host name that no DNS server knows and the proxy can route: the gateway does not look it up.
  const DialOutSession s = await(bot.startDialOut({.sipUri = "sip:bob@callee.test:" + std::to_string(port)}));
  ASSERT_TRUE(events.waitFor("dialout-answered", [&](const Event& e) { return isFor(e, s.sessionId); }))
      << sippErrors("callee_answers.xml") << "\nkamailio:\n" << proxy.log();
  EXPECT_NO_THROW(await(bot.stopDialOut({.sessionId = s.sessionId})));
  ASSERT_TRUE(events.waitFor("dialout-stopped", [&](const Event& e) { return isFor(e, s.sessionId); }));
  EXPECT_EQ(callee->wait(10s), 0) << sippErrors("callee_answers.xml");
  const std::string wire = sippMessages("callee_answers.xml");
  expectThroughTheProxy(wire, "INVITE sip:bob@127.0.0.1:");  // the proxy routed callee.test
  expectThroughTheProxy(wire, "ACK sip:");
  expectThroughTheProxy(wire, "BYE sip:callee@");
  EXPECT_EQ(proxy.relayed("INVITE"), 1) << proxy.log();
  // The proxy took its own Route off the INVITE (RFC 3261 16.4) and Record-Routed it.
  const std::string invite = wire.substr(wire.find("INVITE sip:bob@"), wire.find("\n\n", wire.find("INVITE sip:bob@")) - wire.find("INVITE sip:bob@"));
  EXPECT_EQ(invite.find("\nRoute: "), std::string::npos) << invite;
  EXPECT_NE(invite.find("Record-Route: <sip:127.0.0.1:" + std::to_string(proxy.port()) + ";lr"), std::string::npos) << invite;
}

TEST(SipOutboundProxy, OneThatIsNotASipUriOverUdpTcpOrTlsIsRefused) {
  for (const std::string bad : {"proxy.example.com", "tel:+15551234", "sip:127.0.0.1;transport=sctp",
                                "sip:proxy.example.com;transport=ws"}) {
    devserver::Options o;
    o.sipOutboundProxy = bad;
    EXPECT_THROW(devserver::Devserver{o}, std::invalid_argument) << bad;
  }
  // A host name is found by DNS (RFC 3263) when a call is made.
  for (const std::string good : {"sip:proxy.example.com", "sip:proxy.example.com:5070;transport=tcp"}) {
    devserver::Options o;
    o.sipOutboundProxy = good;
    EXPECT_NO_THROW(devserver::Devserver{o}) << good;
  }
  // One over TLS needs the gateway's TLS.
  devserver::Options o;
  o.sipOutboundProxy = "sips:127.0.0.1";
  EXPECT_THROW(devserver::Devserver{o}, std::invalid_argument);
  o.sipTlsCertFile = certificates().goodCert;
  o.sipTlsKeyFile = certificates().goodKey;
  EXPECT_NO_THROW(devserver::Devserver{o});
}

// SIP over TLS: the gateway serves it with a certificate made for the test (tests/support/certificates) and
// verifies the TLS peers it calls against the test's CA. baresip is the peer: Debian's sipp has no TLS.
devserver::Options withTls() { return withSipTls(fastTimers()); }

class SipOverTls : public SipTest {
 protected:
  SipOverTls() : SipTest(withTls()) {}
  const Certificates& certs = certificates();
  // baresip with a certificate (listening for TLS on port + 1), trusting the test's CA.
  std::unique_ptr<Process> baresip(const std::string& name, int port, std::vector<std::string> args,
                                   BaresipExtras extras, int seconds = 30) {
    if (extras.certificate.empty()) extras.certificate = certs.peerBundle;
    extras.caFile = certs.ca;
    const std::string config = writeBaresipConfig(dir + "/" + name, "127.0.0.1", port, name, seconds, extras);
    args.insert(args.begin(), {"baresip", "-f", config});
    return std::make_unique<Process>(args, dir, config + "/baresip.log");
  }
  std::string baresipLog(const std::string& name) const { return readFile(dir + "/" + name + "/baresip.log"); }
};

TEST_F(SipOverTls, ACallerDialsInOverTlsAndFollowsTheReferSentOnItsConnection) {
  ASSERT_NE(server.sipTlsPort(), 0);
  joinOwner();
  const int targetPort = freeUdpPort();
  auto target = sippServer("uas", targetPort);
  // The gateway's TLS port speaks nothing but TLS: a call there is a call over TLS. Its REFER can only reach
  // the caller on the caller's TLS connection (or on a new TLS connection to the caller's Contact).
  auto phone = baresip("caller", freeSipTlsPort(),
                       {"-e", "/dial sip:" + dialInUser(room) + "@127.0.0.1:" + std::to_string(server.sipTlsPort()) + ";transport=tls",
                        "-t", "10"},
                       {}, 5);
  const std::string id = waitForCaller(dir + "/caller/baresip.log");
  EXPECT_NO_THROW(await(bot.sipRefer({.sessionId = id, .toEndPoint = "sip:agent@127.0.0.1:" + std::to_string(targetPort)})));
  auto done = events.waitFor("sip-refer-progress", [](const Event& e) { return e.payload["final"] == true; }, 15s);
  ASSERT_TRUE(done) << baresipLog("caller");
  EXPECT_EQ(done->payload["status"], "transferred");
  ASSERT_TRUE(events.waitFor("dialin-stopped", [&](const Event& e) { return isFor(e, id); }));
  EXPECT_EQ(target->wait(20s), 0) << sippErrors("uas") << baresipLog("caller");
  EXPECT_NE(sippMessages("uas").find("INVITE sip:agent@127.0.0.1:" + std::to_string(targetPort)), std::string::npos);
}

// baresip, in a call with the room over TLS, transfers it to the gateway (its /transfer over its cons module): the
// REFER comes over TLS, the 202 and the NOTIFYs go back over it, and the target takes over the participant.
TEST_F(SipOverTls, ACallersBlindTransferOverTlsMovesTheParticipantToTheTarget) {
  ASSERT_NE(server.sipTlsPort(), 0);
  joinOwner();
  const int targetPort = freeUdpPort();
  auto target = sippServer("callee_answers_then_hangs_up.xml", targetPort);
  const std::string to = "sip:agent@127.0.0.1:" + std::to_string(targetPort);
  const int consPort = freeSipPort();
  auto phone = baresip("caller", freeSipTlsPort(),
                       {"-e", "/dial sip:" + dialInUser(room) + "@127.0.0.1:" + std::to_string(server.sipTlsPort()) + ";transport=tls",
                        "-t", "15"},
                       {.consPort = consPort}, 10);
  const std::string id = waitForCaller(dir + "/caller/baresip.log");
  baresipCommand(consPort, "/transfer " + to);
  auto done = events.waitFor("sip-inbound-refer-progress", [](const Event& e) { return e.payload["final"] == true; }, 15s);
  ASSERT_TRUE(done) << baresipLog("caller") << sippErrors("callee_answers_then_hangs_up.xml");
  EXPECT_EQ(done->payload["status"], "transferred");
  EXPECT_TRUE(events.waitFor("participant-updated", [&](const Event& e) { return isFor(e, id); }));
  EXPECT_EQ(target->wait(10s), 0) << sippErrors("callee_answers_then_hangs_up.xml");
}

TEST_F(SipOverTls, ADialOutToASipsTargetVerifiesItsCertificateAndIsAnsweredAndHungUp) {
  joinOwner();
  const int port = freeSipTlsPort();
  auto callee = baresip("bob", port, {"-t", "20"}, {.certificate = {}, .caFile = {}, .autoAnswer = true});
  ASSERT_TRUE(waitForTcpListener(port + 1, 10s)) << baresipLog("bob");
  const DialOutSession s = await(bot.startDialOut({.sipUri = "sips:bob@127.0.0.1:" + std::to_string(port + 1)}));
  ASSERT_TRUE(events.waitFor("dialout-answered", [&](const Event& e) { return isFor(e, s.sessionId); }, 15s))
      << baresipLog("bob");
  ASSERT_TRUE(events.waitFor("participant-joined", [&](const Event& e) { return isFor(e, s.sessionId); }));
  EXPECT_NO_THROW(await(bot.stopDialOut({.sessionId = s.sessionId})));
  ASSERT_TRUE(events.waitFor("dialout-stopped", [&](const Event& e) { return isFor(e, s.sessionId); }));
  // baresip answered the call that came in over TLS (its only way in: the sips: port), and saw it end (libre
  // reports a BYE as "Connection reset by peer").
  EXPECT_NE(baresipLog("bob").find("Call established"), std::string::npos) << baresipLog("bob");
  EXPECT_TRUE(waitForFileContaining(dir + "/bob/baresip.log", "session closed", 10s)) << baresipLog("bob");
}

TEST_F(SipOverTls, ATlsTargetWhoseCertificateDoesNotNameItIsNotCalled) {
  joinOwner();
  const int port = freeSipTlsPort();
  auto callee = baresip("mallory", port, {"-t", "20"}, {.certificate = certs.wrongHostBundle, .caFile = {}, .autoAnswer = true});
  ASSERT_TRUE(waitForTcpListener(port + 1, 10s)) << baresipLog("mallory");
  const DialOutSession s = await(bot.startDialOut({.sipUri = "sips:mallory@127.0.0.1:" + std::to_string(port + 1)}));
  auto error = events.waitFor("dialout-error", [&](const Event& e) { return isFor(e, s.sessionId); }, 15s);
  ASSERT_TRUE(error) << baresipLog("mallory");
  EXPECT_NE(error->payload["errorMsg"].get<std::string>().find("could not be reached"), std::string::npos)
      << error->payload.dump();
  EXPECT_FALSE(bot.participants().contains(s.sessionId));
  // The handshake failed at the gateway: no INVITE ever reached the (auto-answering) peer.
  EXPECT_EQ(baresipLog("mallory").find("call: answering"), std::string::npos) << baresipLog("mallory");
}

TEST(SipTlsConfig, ACertificateWithoutItsKeyOrAnUnreadableOneIsRefused) {
  const Certificates& certs = certificates();
  devserver::Options o;
  o.sipTlsCertFile = certs.goodCert;
  EXPECT_THROW(devserver::Devserver{o}, std::invalid_argument);
  o.sipTlsKeyFile = certs.dir + "/missing.key";
  EXPECT_THROW(devserver::Devserver{o}, std::invalid_argument);
  o.sipTlsKeyFile = certs.wrongHostKey;  // not the certificate's key
  EXPECT_THROW(devserver::Devserver{o}, std::invalid_argument);
  o.sipTlsKeyFile = certs.goodKey;
  EXPECT_NO_THROW(devserver::Devserver{o});
}

TEST_F(SipTest, AnInviteWithReplacesTakesOverTheReplacedCallsParticipant) {
  joinOwner();
  sippCallerArgs = {"-p", std::to_string(freeUdpPort())};
  auto old = sippCaller("caller_waits_for_bye.xml");
  auto connected = events.waitFor("dialin-connected");
  ASSERT_TRUE(connected);
  const std::string id = connected->payload["sessionId"];
  const std::string callId = connected->payload["sipCallId"];
  // The dialog as the gateway knows it: its tag in the 200's To, the caller's in the From.
  const std::string trace = dir + "/caller_waits_for_bye.xml.messages";
  ASSERT_TRUE(waitForFileContaining(trace, "SIP/2.0 200 OK", 5s));
  const std::string wire = readFile(trace);
  const auto tagAfter = [&](const std::string& header, std::size_t from) {
    const std::size_t at = wire.find(";tag=", wire.find(header, from));
    return wire.substr(at + 5, wire.find_first_of(";\r\n>", at + 5) - at - 5);
  };
  const std::size_t ok = wire.find("SIP/2.0 200 OK");
  const std::string gatewayTag = tagAfter("\nTo: ", ok);
  const std::string callerTag = tagAfter("\nFrom: ", ok);
  // Another party's INVITE replaces it: the same participant is now the new call, and the old one gets a BYE.
  sippCallerArgs = {"-p", std::to_string(freeUdpPort()), "-key", "replaces",
                    callId + ";to-tag=" + gatewayTag + ";from-tag=" + callerTag};
  auto replacing = sippCaller("caller_replaces.xml");
  auto updated = events.waitFor("participant-updated", [&](const Event& e) { return isFor(e, id); });
  ASSERT_TRUE(updated) << sippErrors("caller_replaces.xml");
  EXPECT_EQ(updated->payload["participant"]["user_name"], "Caller");  // the room's sip.display_name
  EXPECT_EQ(old->wait(15s), 0) << sippErrors("caller_waits_for_bye.xml");  // it got the BYE
  EXPECT_TRUE(bot.participants().contains(id));
  // The new party hangs up after half a second: now the participant leaves.
  ASSERT_TRUE(events.waitFor("participant-left", [&](const Event& e) { return isFor(e, id); }));
  EXPECT_EQ(replacing->wait(15s), 0) << sippErrors("caller_replaces.xml");
  // Only the first dialin-connected: the replacing call was not announced as a new caller.
  int connects = 0;
  for (const auto& e : events.all()) connects += e.action == "dialin-connected";
  EXPECT_EQ(connects, 1);
}

TEST_F(SipTest, AnInviteWhoseReplacesNamesNoCallIsRefusedWith481) {
  std::string scenario = readFile(kScenarios + "/caller_replaces.xml");
  const std::size_t from = scenario.find("  <recv response=\"100\"");
  scenario = scenario.substr(0, from) + "  <recv response=\"481\"/>\n  <send>\n    <![CDATA[\n      ACK sip:gateway@[remote_ip]:[remote_port] SIP/2.0\n"
             "      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]\n"
             "      From: <sip:newparty@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]\n"
             "      To: <sip:gateway@[remote_ip]:[remote_port]>[peer_tag_param]\n      Call-ID: [call_id]\n"
             "      CSeq: 1 ACK\n      Max-Forwards: 70\n      Content-Length: 0\n    ]]>\n  </send>\n</scenario>\n";
  std::ofstream(dir + "/replaces_nothing.xml") << scenario;
  auto caller = sipp({"127.0.0.1:" + std::to_string(server.sipPort()), "-sf", dir + "/replaces_nothing.xml", "-key",
                      "replaces", "no-such-call@127.0.0.1;to-tag=a;from-tag=b"},
                     "replaces_nothing");
  EXPECT_EQ(caller->wait(15s), 0) << sippErrors("replaces_nothing");
}

// Inbound REFER: the caller's side transfers the call to the gateway (a PBX's blind transfer). The gateway calls
// the Refer-To target, reports to the referrer by NOTIFY, and the target takes over the caller's participant.
class SipInboundRefer : public SipTest {
 protected:
  // A sipp caller that REFERs the gateway to target.
  std::unique_ptr<Process> referringCaller(const std::string& scenario, const std::string& target) {
    sippCallerArgs = {"-key", "target", target};
    return sippCaller(scenario);
  }
  std::vector<std::string> progress() {
    std::vector<std::string> out;
    for (const auto& e : events.all())
      if (e.action == "sip-inbound-refer-progress")
        out.push_back(e.payload["status"].get<std::string>() + " " + std::to_string(e.payload["sipStatus"].get<int>()));
    return out;
  }
};

TEST_F(SipInboundRefer, TheTargetTakesOverTheCallersParticipantAndTheCallerIsToldByNotify) {
  joinOwner();
  const int port = freeUdpPort();
  auto target = sippServer("callee_answers_then_hangs_up.xml", port);
  const std::string to = "sip:agent@127.0.0.1:" + std::to_string(port);
  auto caller = referringCaller("caller_transfers_away.xml", to);
  const std::string id = waitForCaller();
  auto done = events.waitFor("sip-inbound-refer-progress", [](const Event& e) { return e.payload["final"] == true; });
  ASSERT_TRUE(done) << sippErrors("caller_transfers_away.xml") << sippErrors("callee_answers_then_hangs_up.xml");
  EXPECT_EQ(done->payload["status"], "transferred");
  EXPECT_EQ(done->payload["sessionId"], id);
  EXPECT_EQ(done->payload["referTo"], to);
  // The same participant, now the target's call.
  auto updated = events.waitFor("participant-updated", [&](const Event& e) { return isFor(e, id); });
  ASSERT_TRUE(updated);
  EXPECT_EQ(updated->payload["participant"]["user_name"], to);
  EXPECT_TRUE(bot.participants().contains(id));
  // The referrer got NOTIFY 100 then 200 (the scenario checks each), and the gateway's BYE.
  EXPECT_EQ(caller->wait(15s), 0) << sippErrors("caller_transfers_away.xml");
  // The target hangs up after half a second: the participant leaves then, and only then.
  ASSERT_TRUE(events.waitFor("participant-left", [&](const Event& e) { return isFor(e, id); }));
  EXPECT_EQ(target->wait(10s), 0) << sippErrors("callee_answers_then_hangs_up.xml");
  EXPECT_EQ(progress(), (std::vector<std::string>{"accepted 202", "transferred 200"}));
  // The target was called as the room, and told who referred it (RFC 3892).
  const std::string wire = sippMessages("callee_answers_then_hangs_up.xml");
  EXPECT_NE(wire.find("INVITE " + to), std::string::npos) << wire;
  EXPECT_NE(wire.find("Referred-By: <sip:caller@127.0.0.1"), std::string::npos) << wire;
  // Only one participant-left for it: the referrer's own call ending did not remove the participant.
  int left = 0;
  for (const auto& e : events.all()) left += e.action == "participant-left" && isFor(e, id);
  EXPECT_EQ(left, 1);
}

TEST_F(SipInboundRefer, ATargetThatRefusesIsReportedToTheReferrerWhoStays) {
  joinOwner();
  const int port = freeUdpPort();
  auto target = sippServer("callee_busy.xml", port);
  auto caller = referringCaller("caller_transfer_refused_by_target.xml", "sip:agent@127.0.0.1:" + std::to_string(port));
  const std::string id = waitForCaller();
  auto done = events.waitFor("sip-inbound-refer-progress", [](const Event& e) { return e.payload["final"] == true; });
  ASSERT_TRUE(done) << sippErrors("caller_transfer_refused_by_target.xml");
  EXPECT_EQ(done->payload["status"], "failed");
  EXPECT_EQ(done->payload["sipStatus"], 486);
  EXPECT_EQ(done->payload["referTo"], "sip:agent@127.0.0.1:" + std::to_string(port));
  // The referrer heard NOTIFY 486 (checked by its scenario) and hangs up itself.
  EXPECT_EQ(caller->wait(15s), 0) << sippErrors("caller_transfer_refused_by_target.xml");
  ASSERT_TRUE(events.waitFor("dialin-stopped", [&](const Event& e) { return isFor(e, id); }));
  EXPECT_EQ(target->wait(10s), 0) << sippErrors("callee_busy.xml");
}

TEST_F(SipInboundRefer, WhenTheReferrerHangsUpFirstTheTargetJoinsAsAParticipantOfItsOwn) {
  joinOwner();
  const int port = freeUdpPort();
  auto target = sippServer("callee_answers_late_then_hangs_up.xml", port);  // answers after 500 ms
  auto caller = referringCaller("caller_transfers_and_hangs_up.xml", "sip:agent@127.0.0.1:" + std::to_string(port));
  const std::string id = waitForCaller();
  ASSERT_TRUE(events.waitFor("dialin-stopped", [&](const Event& e) { return isFor(e, id); }));
  auto done = events.waitFor("sip-inbound-refer-progress", [](const Event& e) { return e.payload["final"] == true; });
  ASSERT_TRUE(done) << sippErrors("callee_answers_late_then_hangs_up.xml");
  EXPECT_EQ(done->payload["status"], "transferred");
  EXPECT_EQ(done->payload["sessionId"], id);  // the referrer's
  const std::string newId = done->payload.value("newSessionId", "");
  ASSERT_FALSE(newId.empty()) << done->payload.dump();
  EXPECT_NE(newId, id);
  EXPECT_TRUE(events.waitFor("participant-joined", [&](const Event& e) { return isFor(e, newId); }));
  ASSERT_TRUE(events.waitFor("participant-left", [&](const Event& e) { return isFor(e, newId); }));
  EXPECT_EQ(caller->wait(15s), 0) << sippErrors("caller_transfers_and_hangs_up.xml");
  EXPECT_EQ(target->wait(10s), 0) << sippErrors("callee_answers_late_then_hangs_up.xml");
}

// A real softphone's blind transfer toward the gateway: baresip, in a call with the room, is told to transfer it
// (its /transfer, over its cons module) and sends the gateway a REFER; the gateway calls the target, which takes
// over the participant. (Debian's baresip 1.0 has no attended transfer; sipp plays that, caller_replaces.xml.)
TEST_F(SipInboundRefer, BaresipsBlindTransferMovesTheParticipantToTheTarget) {
  ASSERT_TRUE(onPath("baresip")) << "baresip is part of the test dependencies (scripts/install-deps.sh)";
  joinOwner();
  const int port = freeUdpPort();
  auto target = sippServer("callee_answers_then_hangs_up.xml", port);
  const std::string to = "sip:agent@127.0.0.1:" + std::to_string(port);
  const int consPort = freeSipPort();
  const std::string config =
      writeBaresipConfig(dir + "/phone", "127.0.0.1", freeSipPort(), "phone", 20, {.consPort = consPort});
  Process phone({"baresip", "-f", config, "-e", "/dial sip:" + dialInUser(room) + "@127.0.0.1:" + std::to_string(server.sipPort()),
                 "-t", "20"},
                dir, config + "/baresip.log");
  const std::string id = waitForCaller(config + "/baresip.log");
  baresipCommand(consPort, "/transfer " + to);
  auto done = events.waitFor("sip-inbound-refer-progress", [](const Event& e) { return e.payload["final"] == true; }, 15s);
  ASSERT_TRUE(done) << readFile(config + "/baresip.log") << sippErrors("callee_answers_then_hangs_up.xml");
  EXPECT_EQ(done->payload["status"], "transferred");
  EXPECT_EQ(done->payload["referTo"], to);
  EXPECT_TRUE(events.waitFor("participant-updated", [&](const Event& e) { return isFor(e, id); }));
  // The target hangs up after half a second: the participant leaves then.
  ASSERT_TRUE(events.waitFor("participant-left", [&](const Event& e) { return isFor(e, id); }));
  EXPECT_EQ(target->wait(10s), 0) << sippErrors("callee_answers_then_hangs_up.xml");
  EXPECT_EQ(progress().front(), "accepted 202");
  EXPECT_NE(sippMessages("callee_answers_then_hangs_up.xml").find("INVITE " + to), std::string::npos);
}

TEST_F(SipInboundRefer, ARoomThatDoesNotAcceptReferRefusesItWith403) {
  const json closed = server.createRoom(
      {{"name", "closed"}, {"properties", {{"sip", {{"sip_mode", "dial-in"}, {"accept_refer", false}}}}}});
  await(bot.join({.url = closed["url"], .token = server.token({{"is_owner", true}, {"room_name", "closed"}}), .userName = "bot"}));
  auto caller = sipp({"127.0.0.1:" + std::to_string(server.sipPort()), "-sf", kScenarios + "/caller_refer_forbidden.xml",
                      "-s", dialInUser(closed), "-key", "target", "sip:agent@127.0.0.1:5099"},
                     "forbidden");
  const std::string id = waitForCaller();
  // The caller got its 403 (its scenario checks), stayed, and hung up itself.
  EXPECT_EQ(caller->wait(15s), 0) << sippErrors("forbidden");
  ASSERT_TRUE(events.waitFor("dialin-stopped", [&](const Event& e) { return isFor(e, id); }));
  EXPECT_TRUE(progress().empty());
}

TEST_F(SipInboundRefer, ARefersToThatIsNotAPlainSipUriIsRefused) {
  joinOwner();
  // A Replaces header (attended transfer) is not taken from a peer; a tel: URI is not a SIP target.
  for (const auto& [target, status] : std::vector<std::pair<std::string, std::string>>{
           {"sip:agent@127.0.0.1:5099?Replaces=abc%3Bto-tag%3D1%3Bfrom-tag%3D2", "501"}, {"tel:+15551234", "416"}}) {
    SCOPED_TRACE(target);
    std::string scenario = readFile(kScenarios + "/caller_refer_forbidden.xml");
    scenario.replace(scenario.find("response=\"403\""), 14, "response=\"" + status + "\"");
    const std::string file = dir + "/refused_" + status + ".xml";
    std::ofstream(file) << scenario;
    auto caller = sipp({"127.0.0.1:" + std::to_string(server.sipPort()), "-sf", file, "-s", dialInUser(room), "-key", "target",
                        target},
                       "refused_" + status);
    EXPECT_EQ(caller->wait(15s), 0) << sippErrors("refused_" + status);
  }
  EXPECT_TRUE(progress().empty());
}

class SipRingingTest : public SipTest {
 protected:
  SipRingingTest() : SipTest(fastTimers(std::chrono::milliseconds(1500))) {}
};

TEST_F(SipRingingTest, CancelBeforeAnswerLeavesNoGhostParticipant) {
  joinOwner();
  auto caller = sippCaller("caller_cancels.xml");
  EXPECT_EQ(caller->wait(15s), 0) << sippErrors("caller_cancels.xml");
  EXPECT_NE(sippMessages("caller_cancels.xml").find("SIP/2.0 487"), std::string::npos);
  // Nothing joined, and a later caller still gets in: the gateway kept no state for the cancelled one.
  auto next = sippCaller("caller_hangs_up.xml");
  const std::string id = waitForCaller();
  ASSERT_TRUE(events.waitFor("participant-joined", [&](const Event& e) { return isFor(e, id); }));
  EXPECT_EQ(bot.participants().size(), 2u);  // local + the second caller only
  EXPECT_EQ(next->wait(15s), 0) << sippErrors("caller_hangs_up.xml");
  std::size_t connected = 0;
  for (const auto& e : events.all()) connected += e.action == "dialin-connected";
  EXPECT_EQ(connected, 1u);
  EXPECT_FALSE(id.empty());
}

TEST_F(SipTest, SipCallTransferBridgesTheCallerToTheTarget) {
  CallClient guest;
  EventRecorder guestEvents{guest};
  await(guest.join({.url = room["url"], .userName = "guest"}));
  joinOwner();
  const int targetPort = freeUdpPort();
  auto target = sippServer("uas", targetPort);
  auto caller = sippCaller("caller_hangs_up.xml");
  const std::string id = waitForCaller();
  EXPECT_NO_THROW(await(bot.sipCallTransfer({.sessionId = id, .toEndPoint = "sip:agent@127.0.0.1:" + std::to_string(targetPort)})));
  ASSERT_TRUE(events.waitFor("participant-left", [&](const Event& e) { return isFor(e, id); }));
  ASSERT_TRUE(events.waitFor("dialin-stopped", [&](const Event& e) { return isFor(e, id); }));
  auto answered = events.waitFor("sip-call-transfer-progress", [](const Event& e) { return e.payload["status"] == "answered"; });
  ASSERT_TRUE(answered);
  // A guest sees the caller leave the room, not where it went (the progress, sent before, goes to owners only).
  ASSERT_TRUE(guestEvents.waitFor("dialin-stopped", [&](const Event& e) { return isFor(e, id); }));
  const auto seen = guestEvents.actions();
  EXPECT_EQ(std::find(seen.begin(), seen.end(), "sip-call-transfer-progress"), seen.end());
  // The caller's own BYE (3 s after it called) ends the bridge: the gateway hangs up the target too.
  EXPECT_EQ(caller->wait(15s), 0) << sippErrors("caller_hangs_up.xml");
  EXPECT_EQ(target->wait(15s), 0) << sippErrors("uas");
  EXPECT_NE(sippMessages("uas").find("INVITE sip:agent@127.0.0.1:" + std::to_string(targetPort)), std::string::npos);
}

TEST_F(SipTest, SipCallTransferToABusyTargetIsSipRejectedAndTheCallerStays) {
  joinOwner();
  const int targetPort = freeUdpPort();
  auto target = sippServer("callee_busy.xml", targetPort);
  auto caller = sippCaller("caller_hangs_up.xml");
  const std::string id = waitForCaller();
  Error e = expectError([&] {
    await(bot.sipCallTransfer({.sessionId = id, .toEndPoint = "sip:agent@127.0.0.1:" + std::to_string(targetPort)}));
  });
  EXPECT_EQ(e.code(), ErrorCode::SipRejected);
  EXPECT_EQ(e.sipStatus(), 486);
  EXPECT_TRUE(bot.participants().contains(id));
  EXPECT_EQ(target->wait(10s), 0) << sippErrors("callee_busy.xml");
  EXPECT_EQ(caller->wait(15s), 0) << sippErrors("caller_hangs_up.xml");
}

#ifdef DAILY_EXAMPLES_DIR
// The example bots, run as a user runs them.
namespace examples {

const std::string kBin = DAILY_EXAMPLES_DIR;

TEST_F(SipTest, SipReferBotReportsATransferThatFailedAndExitsNonZero) {
  auto caller = sippCaller("caller_transfer_fails.xml");
  Process bot({kBin + "/sip_refer_bot", "--room-url", room["url"], "--token", server.token({{"is_owner", true}}), "--to",
               "sip:busy@127.0.0.1:5099", "--timeout", "10"},
              dir, dir + "/bot.log");
  EXPECT_EQ(bot.wait(20s), 1) << readFile(dir + "/bot.log");
  EXPECT_NE(readFile(dir + "/bot.log").find("outcome: failed (SIP 486)"), std::string::npos) << readFile(dir + "/bot.log");
  EXPECT_EQ(caller->wait(15s), 0) << sippErrors("caller_transfer_fails.xml");
}

TEST_F(SipTest, SipReferBotRefusesAHeaderInjectingTarget) {
  Process bot({kBin + "/sip_refer_bot", "--room-url", room["url"], "--token", server.token({{"is_owner", true}}), "--to",
               "sip:agent@127.0.0.1>\r\nX-Evil: 1"},
              dir, dir + "/bot.log");
  EXPECT_EQ(bot.wait(10s), 2) << readFile(dir + "/bot.log");
}

TEST_F(SipTest, DialoutBotDialsAndHangsUp) {
  const int port = freeUdpPort();
  auto callee = sippServer("callee_answers.xml", port);
  Process bot({kBin + "/dialout_bot", "--room-url", room["url"], "--token", server.token({{"is_owner", true}}), "--dial",
               "sip:bob@127.0.0.1:" + std::to_string(port), "--hold", "0"},
              dir, dir + "/bot.log");
  EXPECT_EQ(bot.wait(20s), 0) << readFile(dir + "/bot.log");
  EXPECT_EQ(callee->wait(10s), 0) << sippErrors("callee_answers.xml");
}

TEST_F(SipTest, DialoutBotDialsAndRefers) {
  const int port = freeUdpPort();
  auto callee = sippServer("callee_accepts_refer.xml", port);
  Process bot({kBin + "/dialout_bot", "--room-url", room["url"], "--token", server.token({{"is_owner", true}}), "--dial",
               "sip:bob@127.0.0.1:" + std::to_string(port), "--refer-to", "sip:agent@127.0.0.1:5099"},
              dir, dir + "/bot.log");
  EXPECT_EQ(bot.wait(20s), 0) << readFile(dir + "/bot.log");
  EXPECT_EQ(callee->wait(10s), 0) << sippErrors("callee_accepts_refer.xml");
  EXPECT_NE(readFile(dir + "/bot.log").find("dialout-stopped"), std::string::npos);
}

}  // namespace examples
#endif

#ifdef DAILY_CLI_PATH
TEST_F(SipTest, TheCliRefersACallerAndRefusesInjection) {
  auto caller = sippCaller("caller_accepts_refer.xml");
  CallClient watcher;
  EventRecorder seen(watcher);
  await(watcher.join({.url = room["url"]}));
  auto connected = seen.waitFor("dialin-connected");
  ASSERT_TRUE(connected);
  const std::string id = connected->payload["sessionId"];
  const std::vector<std::string> base{DAILY_CLI_PATH, "--api-url", server.httpUrl() + "/v1", "--api-key", kApiKey};
  auto run = [&](std::vector<std::string> args, const std::string& name) {
    args.insert(args.begin(), base.begin(), base.end());
    Process p(args, dir, dir + "/" + name);
    return p.wait(20s);
  };
  EXPECT_EQ(run({"sip-refer", "--room", "support", "--session", id, "--to", "sip:agent@127.0.0.1\r\nX: y"}, "bad"), 1);
  EXPECT_EQ(run({"sip-refer", "--room", "support", "--session", id, "--to", "sip:agent@127.0.0.1:5099", "--header",
                 "X-Ticket", "T-9"},
                "good"),
            0)
      << readFile(dir + "/good");
  EXPECT_NE(readFile(dir + "/good").find("REFER accepted"), std::string::npos);
  EXPECT_TRUE(seen.waitFor("dialin-stopped"));
  EXPECT_EQ(caller->wait(15s), 0) << sippErrors("caller_accepts_refer.xml");
  EXPECT_NE(sippMessages("caller_accepts_refer.xml").find("X-Ticket: T-9"), std::string::npos);
}
#endif

}  // namespace
}  // namespace daily::test
