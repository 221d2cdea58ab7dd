// RFC 3263 against a real DNS server: dnsmasq serving NAPTR, SRV and A records for names under .test. First the
// resolver alone (which records it follows, in which order, and what it asks), then the gateway dialing host
// names with sipp answering at the addresses they lead to, failing over from a server that answers 503, does not
// answer, or cannot be reached, to the next one.

#include "devserver_fixture.hpp"
#include "dnsmasq.hpp"
#include "events.hpp"
#include "process.hpp"
#include "sip/resolver.hpp"

#include <daily/daily.hpp>

#include <gtest/gtest.h>

#include <asio.hpp>

#include <poll.h>

#include <array>
#include <sstream>

namespace daily::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using devserver::sip::Flow;
using devserver::sip::Protocol;
using devserver::sip::Resolver;
using devserver::sip::ResolverOptions;

const std::string kScenarios = DAILY_SIP_SCENARIOS;

std::string describe(const std::vector<Flow>& flows) {
  std::ostringstream out;
  for (const auto& f : flows) out << f << " ";
  return out.str();
}

Flow flow(Protocol protocol, int port) {
  return Flow{protocol, asio::ip::make_address("127.0.0.1"), static_cast<std::uint16_t>(port), 0};
}

// The resolver on an io_context of the test's own, asking dnsmasq.
class ResolverTest : public ::testing::Test {
 protected:
  void serve(const DnsServer::Records& records, bool tls = true) {
    dns = std::make_unique<DnsServer>(dir, records);
    resolver = std::make_unique<Resolver>(io, ResolverOptions{dns->address(), 500ms, 2, AF_INET, tls});
  }
  // Resolves uri; fails the test when the answer does not come within 5 s.
  std::vector<Flow> resolve(const std::string& uri, std::string* error = nullptr) {
    std::optional<std::vector<Flow>> answer;
    std::string why;
    resolver->resolve(uri, [&](std::vector<Flow> targets, const std::string& e) {
      answer = std::move(targets);
      why = e;
    });
    io.restart();
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!answer && std::chrono::steady_clock::now() < deadline) io.run_for(50ms);
    EXPECT_TRUE(answer) << "no answer for " << uri;
    if (error) *error = why;
    return answer.value_or(std::vector<Flow>{});
  }

  // A DNS server that never answers: a UDP socket that reads nothing, so every query to it times out (200 ms, one
  // try each).
  void serveSilence() {
    silent.open(asio::ip::udp::v4());
    silent.bind(asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    resolver = std::make_unique<Resolver>(
        io, ResolverOptions{"127.0.0.1:" + std::to_string(silent.local_endpoint().port()), 200ms, 1, AF_INET, false});
  }

  std::string dir = tempDir("daily-dns");
  asio::io_context io;
  asio::ip::udp::socket silent{io};
  std::unique_ptr<DnsServer> dns;
  std::unique_ptr<Resolver> resolver;
};

TEST_F(ResolverTest, NaptrChoosesTheTransportAndSrvTheServersInOrder) {
  serve({.hosts = {{"a.example.test", "127.0.0.1"}, {"b.example.test", "127.0.0.1"}},
         .srv = {"_sip._tcp.example.test,a.example.test,5070,10,0", "_sip._udp.example.test,b.example.test,5080,10,0"},
         .naptr = {"example.test,20,10,s,SIP+D2U,,_sip._udp.example.test",
                   "example.test,10,10,s,SIP+D2T,,_sip._tcp.example.test",
                   "example.test,5,10,u,E2U+sip,!^.*$!sip:x@y!,"}});  // not an SRV: skipped
  const auto flows = resolve("sip:bob@example.test");
  ASSERT_EQ(flows.size(), 2u) << describe(flows);
  EXPECT_EQ(flows[0], flow(Protocol::Tcp, 5070));  // order 10 before order 20
  EXPECT_EQ(flows[1], flow(Protocol::Udp, 5080));
}

TEST_F(ResolverTest, ASipsUriFollowsOnlyTheTlsNaptr) {
  serve({.hosts = {{"a.example.test", "127.0.0.1"}},
         .srv = {"_sips._tcp.example.test,a.example.test,5071,10,0", "_sip._udp.example.test,a.example.test,5080,10,0"},
         .naptr = {"example.test,10,10,s,SIP+D2U,,_sip._udp.example.test",
                   "example.test,20,10,s,SIPS+D2T,,_sips._tcp.example.test"}});
  const auto flows = resolve("sips:bob@example.test");
  ASSERT_EQ(flows.size(), 1u) << describe(flows);
  EXPECT_EQ(flows[0], flow(Protocol::Tls, 5071));
}

TEST_F(ResolverTest, WithoutTlsOnOfferATlsNaptrIsPassedOver) {
  serve({.hosts = {{"a.example.test", "127.0.0.1"}},
         .srv = {"_sips._tcp.example.test,a.example.test,5071,10,0", "_sip._udp.example.test,a.example.test,5080,10,0"},
         .naptr = {"example.test,10,10,s,SIPS+D2T,,_sips._tcp.example.test",
                   "example.test,20,10,s,SIP+D2U,,_sip._udp.example.test"}},
        /*tls=*/false);
  const auto flows = resolve("sip:bob@example.test");
  ASSERT_EQ(flows.size(), 1u) << describe(flows);
  EXPECT_EQ(flows[0], flow(Protocol::Udp, 5080));
}

TEST_F(ResolverTest, WithoutNaptrEveryTransportsSrvIsAskedAndLowerPriorityComesFirst) {
  serve({.hosts = {{"a.example.test", "127.0.0.1"}, {"b.example.test", "127.0.0.1"}},
         .srv = {"_sip._udp.example.test,b.example.test,5082,20,0", "_sip._udp.example.test,a.example.test,5081,10,0",
                 "_sip._tcp.example.test,a.example.test,5090,10,0"}});
  const auto flows = resolve("sip:bob@example.test");
  ASSERT_EQ(flows.size(), 3u) << describe(flows);
  EXPECT_EQ(flows[0], flow(Protocol::Udp, 5081));
  EXPECT_EQ(flows[1], flow(Protocol::Udp, 5082));
  EXPECT_EQ(flows[2], flow(Protocol::Tcp, 5090));
  EXPECT_EQ(dns->queries("NAPTR", "example.test"), 1);
  EXPECT_EQ(dns->queries("SRV", "_sips._tcp.example.test"), 1);
}

TEST_F(ResolverTest, WithoutNaptrOrSrvTheHostsAddressIsUsedOnTheDefaultPort) {
  serve({.hosts = {{"plain.example.test", "127.0.0.1"}}});
  EXPECT_EQ(resolve("sip:bob@plain.example.test"), std::vector<Flow>{flow(Protocol::Udp, 5060)});
  EXPECT_EQ(resolve("sips:bob@plain.example.test"), std::vector<Flow>{flow(Protocol::Tls, 5061)});
}

TEST_F(ResolverTest, APortInTheUriSkipsNaptrAndSrv) {
  serve({.hosts = {{"plain.example.test", "127.0.0.1"}}, .naptr = {"plain.example.test,10,10,s,SIP+D2T,,_sip._tcp.x.test"}});
  EXPECT_EQ(resolve("sip:bob@plain.example.test:5099"), std::vector<Flow>{flow(Protocol::Udp, 5099)});
  EXPECT_EQ(resolve("sip:bob@plain.example.test:5099;transport=tcp"), std::vector<Flow>{flow(Protocol::Tcp, 5099)});
  EXPECT_EQ(dns->queries("NAPTR", "plain.example.test"), 0);
  EXPECT_EQ(dns->queries("A", "plain.example.test"), 2);
}

TEST_F(ResolverTest, ATransportInTheUriAsksOnlyThatTransportsSrv) {
  serve({.hosts = {{"a.example.test", "127.0.0.1"}},
         .srv = {"_sip._tcp.example.test,a.example.test,5090,10,0", "_sip._udp.example.test,a.example.test,5080,10,0"}});
  EXPECT_EQ(resolve("sip:bob@example.test;transport=tcp"), std::vector<Flow>{flow(Protocol::Tcp, 5090)});
  EXPECT_EQ(dns->queries("NAPTR", "example.test"), 0);
  EXPECT_EQ(dns->queries("SRV", "_sip._udp.example.test"), 0);
}

TEST_F(ResolverTest, AnIpAddressNeedsNoDns) {
  serve({});
  EXPECT_EQ(resolve("sip:bob@127.0.0.1:5070;transport=tcp"), std::vector<Flow>{flow(Protocol::Tcp, 5070)});
  EXPECT_EQ(dns->queries("A", "127.0.0.1"), 0);
}

TEST_F(ResolverTest, ANameWithNoRecordsSaysSo) {
  serve({});
  std::string error;
  EXPECT_TRUE(resolve("sip:bob@nowhere.test", &error).empty());
  EXPECT_NE(error.find("no SIP server found for nowhere.test"), std::string::npos) << error;
}

TEST_F(ResolverTest, ADnsServerThatNeverAnswersStillEndsTheLookup) {
  serveSilence();
  std::string error;
  EXPECT_TRUE(resolve("sip:bob@silent.test:5060", &error).empty());
  EXPECT_NE(error.find("no SIP server found for silent.test"), std::string::npos) << error;
}

TEST_F(ResolverTest, AStoppedResolverCallsNoOneBack) {
  serveSilence();
  bool called = false;
  resolver->resolve("sip:bob@silent.test", [&](std::vector<Flow>, const std::string&) { called = true; });
  io.run_for(50ms);  // the query is out
  resolver->resolve("sip:bob@127.0.0.1", [&](std::vector<Flow>, const std::string&) { called = true; });
  resolver->stop();  // before the answer for the IP address (posted, not yet run) and the DNS timeout
  io.run_for(1500ms);
  EXPECT_FALSE(called);
}

TEST_F(ResolverTest, BadServersAreRefused) {
  EXPECT_THROW(Resolver(io, ResolverOptions{"not an address", 500ms, 1, AF_INET, false}), std::invalid_argument);
}

// The gateway dialing host names that dnsmasq resolves, with sipp at the addresses and ports they lead to.
class SipDns : public ::testing::Test {
 protected:
  void start(const DnsServer::Records& records) {
    dns = std::make_unique<DnsServer>(dir, records);
    devserver::Options o;
    o.apiKey = kApiKey;
    o.sipT1 = 100ms;
    o.sipTransactionTimeout = 2000ms;
    o.sipDnsServers = dns->address();
    server = std::make_unique<InProcessServer>(o);
    room = server->createRoom({{"name", "dns"}});
    await(bot.join({.url = room["url"], .token = server->token({{"is_owner", true}}), .userName = "bot"}));
  }
  // What every sipp of these tests runs with: its port and address, one call, a deadline, and its messages traced
  // to base.messages.
  static std::vector<std::string> sippArgs(const std::string& base, int port) {
    return {"-p", std::to_string(port), "-i", "127.0.0.1", "-m", "1", "-timeout", "20s", "-timeout_error", "-nostdin",
            "-trace_msg", "-message_file", base + ".messages", "-mp", std::to_string(freeMediaPort())};
  }
  std::unique_ptr<Process> sipp(const std::string& scenario, int port, bool tcp = false) {
    const std::string base = dir + "/" + scenario + "-" + std::to_string(port);
    std::vector<std::string> args{"sipp"};
    if (scenario == "uas") args.insert(args.end(), {"-sn", "uas"});
    else args.insert(args.end(), {"-sf", kScenarios + "/" + scenario});
    if (tcp) args.insert(args.end(), {"-t", "t1"});
    const auto common = sippArgs(base, port);
    args.insert(args.end(), common.begin(), common.end());
    auto p = std::make_unique<Process>(args, dir, base + ".log");
    if (tcp && !waitForTcpListener(port, 10s)) ADD_FAILURE() << "sipp never listened on " << port;
    return p;
  }
  // sipp calling the gateway's dial-in user of room from port.
  std::unique_ptr<Process> sippCaller(const std::string& scenario, int port, const json& dialInRoom) {
    const std::string base = dir + "/" + scenario + "-" + std::to_string(port);
    std::vector<std::string> args{"sipp", "127.0.0.1:" + std::to_string(server->sipPort()), "-s",
                                  dialInUser(dialInRoom), "-sf", kScenarios + "/" + scenario};
    const auto common = sippArgs(base, port);
    args.insert(args.end(), common.begin(), common.end());
    return std::make_unique<Process>(args, dir, base + ".log");
  }
  // The first lines of the SIP requests that reach socket within `within` (until `count` have): each datagram
  // is waited for with poll(2), up to the deadline.
  static std::vector<std::string> requestsAt(asio::ip::udp::socket& socket, std::size_t count,
                                             std::chrono::milliseconds within, std::vector<std::string>* whole = nullptr) {
    std::vector<std::string> lines;
    socket.non_blocking(true);
    const auto deadline = std::chrono::steady_clock::now() + within;
    std::array<char, 8192> datagram{};
    while (lines.size() < count) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      pollfd readable{socket.native_handle(), POLLIN, 0};
      if (left.count() <= 0 || ::poll(&readable, 1, static_cast<int>(left.count())) <= 0) break;
      asio::error_code ec;
      const std::size_t n = socket.receive(asio::buffer(datagram), 0, ec);
      if (ec) continue;
      const std::string text(datagram.data(), n);
      if (text.rfind("SIP/2.0", 0) == 0) continue;  // a response: not what is counted
      lines.push_back(text.substr(0, text.find("\r\n")));
      if (whole) whole->push_back(text);
    }
    return lines;
  }
  std::string messages(const std::string& scenario, int port) const {
    return readFile(dir + "/" + scenario + "-" + std::to_string(port) + ".messages");
  }
  // A dial-out to uri that is answered: the callee joins the room.
  void expectAnswered(const std::string& uri) {
    const DialOutSession s = await(bot.startDialOut({.sipUri = uri}));
    EXPECT_TRUE(events.waitFor("participant-joined", [&](const Event& e) {
      return e.payload["participant"].value("session_id", "") == s.sessionId;
    })) << dns->log();
    await(bot.stopDialOut({.sessionId = s.sessionId}));
  }

  std::string dir = tempDir("daily-sip-dns");
  std::unique_ptr<DnsServer> dns;
  std::unique_ptr<InProcessServer> server;
  json room;
  CallClient bot;
  EventRecorder events{bot};
};

TEST_F(SipDns, ADialOutToAHostNameGoesWhereNaptrAndSrvSay) {
  const int port = freeSipPort();
  start({.hosts = {{"pbx.example.test", "127.0.0.1"}},
         .srv = {"_sip._tcp.example.test,pbx.example.test," + std::to_string(port) + ",10,0"},
         .naptr = {"example.test,10,10,s,SIP+D2T,,_sip._tcp.example.test"}});
  auto callee = sipp("uas", port, /*tcp=*/true);
  expectAnswered("sip:bob@example.test");
  EXPECT_EQ(callee->wait(10s), 0);
  const std::string wire = messages("uas", port);
  EXPECT_NE(wire.find("INVITE sip:bob@example.test SIP/2.0"), std::string::npos) << wire;
  EXPECT_NE(wire.find("Via: SIP/2.0/TCP "), std::string::npos) << wire;
}

TEST_F(SipDns, A503FromTheFirstServerSendsTheInviteToTheNext) {
  const int busy = freeUdpPort(), good = freeUdpPort();
  start({.hosts = {{"one.example.test", "127.0.0.1"}, {"two.example.test", "127.0.0.1"}},
         .srv = {"_sip._udp.example.test,one.example.test," + std::to_string(busy) + ",10,0",
                 "_sip._udp.example.test,two.example.test," + std::to_string(good) + ",20,0"}});
  auto first = sipp("callee_unavailable.xml", busy);
  auto second = sipp("uas", good);
  expectAnswered("sip:bob@example.test");
  EXPECT_EQ(first->wait(10s), 0) << messages("callee_unavailable.xml", busy);
  EXPECT_EQ(second->wait(10s), 0);
  // §4.3: a new transaction, so a new branch; the same Call-ID.
  const std::string tried = messages("callee_unavailable.xml", busy), answered = messages("uas", good);
  auto branch = [](const std::string& wire) {
    const std::size_t at = wire.find(";branch=");
    return at == std::string::npos ? std::string() : wire.substr(at, wire.find_first_of(";\r\n", at + 1) - at);
  };
  EXPECT_FALSE(branch(tried).empty());
  EXPECT_NE(branch(tried), branch(answered));
}

TEST_F(SipDns, AServerThatNeverAnswersIsFailedOverFromAfterTheTransactionTimeout) {
  asio::io_context io;
  asio::ip::udp::socket silent(io, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const int good = freeUdpPort();
  start({.hosts = {{"one.example.test", "127.0.0.1"}, {"two.example.test", "127.0.0.1"}},
         .srv = {"_sip._udp.example.test,one.example.test," + std::to_string(silent.local_endpoint().port()) + ",10,0",
                 "_sip._udp.example.test,two.example.test," + std::to_string(good) + ",20,0"}});
  auto second = sipp("uas", good);
  expectAnswered("sip:bob@example.test");
  EXPECT_EQ(second->wait(10s), 0);
  // The silent one had the INVITE (and its retransmissions) first.
  silent.non_blocking(true);
  std::array<char, 4096> datagram{};
  asio::error_code ec;
  const std::size_t n = silent.receive(asio::buffer(datagram), 0, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(std::string(datagram.data(), n).rfind("INVITE sip:bob@example.test SIP/2.0", 0), 0u);
}

TEST_F(SipDns, AServerThatCannotBeReachedIsFailedOverFromAtOnce) {
  const int nobody = freeTcpPort(), good = freeSipPort();
  start({.hosts = {{"one.example.test", "127.0.0.1"}, {"two.example.test", "127.0.0.1"}},
         .srv = {"_sip._tcp.example.test,one.example.test," + std::to_string(nobody) + ",10,0",
                 "_sip._tcp.example.test,two.example.test," + std::to_string(good) + ",20,0"}});
  auto second = sipp("uas", good, /*tcp=*/true);
  const auto begun = std::chrono::steady_clock::now();
  expectAnswered("sip:bob@example.test;transport=tcp");
  EXPECT_LT(std::chrono::steady_clock::now() - begun, 2000ms);  // before any transaction timeout could pass
  EXPECT_EQ(second->wait(10s), 0);
}

TEST_F(SipDns, ANameThatResolvesToNothingFailsTheDialOutWithWhy) {
  start({});
  const DialOutSession s = await(bot.startDialOut({.sipUri = "sip:bob@nowhere.test"}));
  auto error = events.waitFor("dialout-error", [&](const Event& e) { return e.payload["sessionId"] == s.sessionId; });
  ASSERT_TRUE(error);
  EXPECT_NE(error->payload["errorMsg"].get<std::string>().find("could not be resolved: no SIP server found for nowhere.test"),
            std::string::npos) << error->payload.dump();
  EXPECT_EQ(error->payload["sipStatus"], 0);
}

TEST_F(SipDns, AStopDialOutWhileTheNameIsLookedUpStopsIt) {
  // A DNS server that never answers keeps the lookup going for a while (2 s, twice): the stop comes first.
  asio::io_context io;
  asio::ip::udp::socket silent(io, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  devserver::Options o;
  o.apiKey = kApiKey;
  o.sipDnsServers = "127.0.0.1:" + std::to_string(silent.local_endpoint().port());
  server = std::make_unique<InProcessServer>(o);
  room = server->createRoom({{"name", "dns"}});
  await(bot.join({.url = room["url"], .token = server->token({{"is_owner", true}}), .userName = "bot"}));
  const DialOutSession s = await(bot.startDialOut({.sipUri = "sip:bob@slow.test"}));
  await(bot.stopDialOut({.sessionId = s.sessionId}));
  EXPECT_TRUE(events.waitFor("dialout-stopped", [&](const Event& e) { return e.payload["sessionId"] == s.sessionId; }, 15s));
  EXPECT_FALSE(events.seen("dialout-error"));
}

TEST_F(SipDns, ABridgedTransferReachesATargetByItsHostName) {
  const int agent = freeUdpPort();
  start({.hosts = {{"agents.example.test", "127.0.0.1"}},
         .srv = {"_sip._udp.example.test,agents.example.test," + std::to_string(agent) + ",10,0"}});
  const int calleePort = freeUdpPort();
  auto callee = sipp("uas", calleePort);
  const DialOutSession s = await(bot.startDialOut({.sipUri = "sip:bob@127.0.0.1:" + std::to_string(calleePort)}));
  ASSERT_TRUE(events.waitFor("participant-joined", [&](const Event& e) {
    return e.payload["participant"].value("session_id", "") == s.sessionId;
  }));
  auto target = sipp("uas", agent);
  EXPECT_NO_THROW(await(bot.sipCallTransfer({.sessionId = s.sessionId, .toEndPoint = "sip:agent@example.test"})));
  EXPECT_NE(messages("uas", agent).find("INVITE sip:agent@example.test SIP/2.0"), std::string::npos);
}

// RFC 3263 is for every request of a dialog, not only the first: a callee whose 2xx Contact names a host gets the
// ACK and the BYE where DNS says that host is (an SRV record here: another port than the INVITE went to).
TEST_F(SipDns, ACalleeWhoseContactNamesAHostGetsTheAckAndTheByeWhereDnsSays) {
  asio::io_context io;
  asio::ip::udp::socket desk(io, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const int deskPort = desk.local_endpoint().port();
  start({.hosts = {{"desk.example.test", "127.0.0.1"}},
         .srv = {"_sip._udp.desk.example.test,desk.example.test," + std::to_string(deskPort) + ",10,0"}});
  const int calleePort = freeUdpPort();
  auto callee = sipp("callee_contact_names_host.xml", calleePort);
  const DialOutSession s = await(bot.startDialOut({.sipUri = "sip:callee@127.0.0.1:" + std::to_string(calleePort)}));
  ASSERT_TRUE(events.waitFor("participant-joined", [&](const Event& e) {
    return e.payload["participant"].value("session_id", "") == s.sessionId;
  })) << dns->log();
  EXPECT_EQ(requestsAt(desk, 1, 5s), std::vector<std::string>{"ACK sip:callee@desk.example.test SIP/2.0"});
  await(bot.stopDialOut({.sessionId = s.sessionId}));  // unanswered, the BYE times out: the stop still completes
  const auto bye = requestsAt(desk, 1, 5s);
  ASSERT_FALSE(bye.empty());
  EXPECT_EQ(bye[0], "BYE sip:callee@desk.example.test SIP/2.0");
  EXPECT_EQ(callee->wait(10s), 0) << messages("callee_contact_names_host.xml", calleePort);
  EXPECT_EQ(messages("callee_contact_names_host.xml", calleePort).find("ACK sip:"), std::string::npos)
      << "the ACK went where the INVITE did, not where the Contact leads";
  EXPECT_GE(dns->queries("SRV", "_sip._udp.desk.example.test"), 1) << dns->log();
}

// Likewise a dial-in Record-Routed by a proxy that names itself by host: the gateway's REFER goes to that proxy,
// where DNS says it is, with the route set in its Route header.
TEST_F(SipDns, ADialInRecordRoutedByANamedProxySendsItsReferThere) {
  asio::io_context io;
  asio::ip::udp::socket edge(io, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  start({.hosts = {{"edge.example.test", "127.0.0.1"}},
         .srv = {"_sip._udp.edge.example.test,edge.example.test," + std::to_string(edge.local_endpoint().port()) + ",10,0"}});
  const json dialIn = server->createRoom({{"properties", {{"sip", {{"sip_mode", "dial-in"}}}}}});
  CallClient owner;
  EventRecorder ownerEvents(owner);
  await(owner.join({.url = dialIn["url"], .token = server->token({{"is_owner", true}}), .userName = "owner"}));
  const int callerPort = freeUdpPort();
  auto caller = sippCaller("caller_behind_named_edge.xml", callerPort, dialIn);
  auto connected = ownerEvents.waitFor("dialin-connected", {}, 10s);
  ASSERT_TRUE(connected) << readFile(dir + "/caller_behind_named_edge.xml-" + std::to_string(callerPort) + ".log");
  auto refer = owner.sipRefer({.sessionId = connected->payload["sessionId"], .toEndPoint = "sip:agent@127.0.0.1:5999"});
  std::vector<std::string> whole;
  const auto at = requestsAt(edge, 1, 5s, &whole);
  ASSERT_EQ(at.size(), 1u) << dns->log();
  EXPECT_EQ(at[0], "REFER sip:caller@127.0.0.1:" + std::to_string(callerPort) + " SIP/2.0");
  EXPECT_NE(whole[0].find("Route: <sip:edge.example.test;lr>"), std::string::npos) << whole[0];
  // Nobody answers it there: the REFER times out, and says so.
  EXPECT_THROW(await(std::move(refer), 10s), Error);
  EXPECT_EQ(caller->wait(10s), 0);
}

}  // namespace
}  // namespace daily::test
