// Webhooks from the devserver to a local receiver, for transfers made through the call object and through REST.

#include "devserver_fixture.hpp"
#include "events.hpp"
#include "http_responder.hpp"
#include "process.hpp"

#include <daily/daily.hpp>

#include <gtest/gtest.h>

namespace daily::test {
namespace {

using nlohmann::json;

const std::string kScenarios = DAILY_SIP_SCENARIOS;

devserver::Options quickWebhooks() {
  devserver::Options o;
  o.sipT1 = std::chrono::milliseconds(100);
  o.sipTransactionTimeout = std::chrono::milliseconds(2000);
  o.webhookTimeout = std::chrono::milliseconds(400);
  o.webhookRetryBase = std::chrono::milliseconds(50);
  return o;
}

class WebhookTest : public ::testing::Test {
 protected:
  WebhookTest() : server(quickWebhooks()), dir(tempDir("daily-webhooks")) {
    RestClientOptions o;
    o.baseUrl = server.httpUrl() + "/v1";
    o.apiKey = kApiKey;
    rest = std::make_unique<RestClient>(o);
    const auto room = rest->createRoom({.name = "support", .properties = {{"sip", {{"sip_mode", "dial-in"}}}}});
    dialIn = dialInUser(room.raw);
    hook = rest->createWebhook({.url = receiver.url() + "/hooks"});
  }

  std::unique_ptr<Process> caller(const std::string& scenario) {
    return std::make_unique<Process>(
        std::vector<std::string>{"sipp", "127.0.0.1:" + std::to_string(server.sipPort()), "-sf", kScenarios + "/" + scenario,
                                 "-s", dialIn, "-i", "127.0.0.1", "-m", "1", "-timeout", "20s", "-timeout_error",
                                 "-nostdin", "-mp", std::to_string(freeMediaPort())},
        dir, dir + "/sipp.log");
  }

  // The deliveries the receiver got (after the verification POST), checked for a valid signature.
  std::vector<WebhookEvent> deliveries() {
    std::vector<WebhookEvent> out;
    for (const auto& r : receiver.requests()) {
      if (r.body == R"({"test":"test"})") continue;
      EXPECT_TRUE(verifyWebhookSignature(hook.hmac, r.headers.at("x-webhook-timestamp"), r.body,
                                         r.headers.at("x-webhook-signature")))
          << r.body;
      out.push_back(parseWebhookEvent(r.body));
    }
    return out;
  }
  bool waitForType(const std::string& type) {
    return receiver.waitFor(1, [&](const RecordedRequest& r) { return r.body.find("\"" + type + "\"") != std::string::npos; });
  }
  std::vector<std::string> typesFor(const std::string& sessionId) {
    std::vector<std::string> out;
    for (const auto& e : deliveries())
      if (e.payload.value("session_id", "") == sessionId) out.push_back(e.type);
    return out;
  }

  HttpResponder receiver;
  InProcessServer server;
  std::string dir;
  std::unique_ptr<RestClient> rest;
  std::string dialIn;  // the room's dial-in identifier
  Webhook hook;
};

TEST_F(WebhookTest, CreationVerifiesTheEndpointAndReturnsTheSecret) {
  EXPECT_EQ(hook.state, "ACTIVE");
  EXPECT_FALSE(hook.hmac.empty());
  EXPECT_EQ(hook.retryType, "circuit-breaker");
  ASSERT_FALSE(receiver.requests().empty());
  EXPECT_EQ(receiver.requests()[0].body, R"({"test":"test"})");
  EXPECT_EQ(rest->listWebhooks().size(), 1u);
  EXPECT_EQ(rest->getWebhook(hook.uuid).url, receiver.url() + "/hooks");
  // An endpoint that does not answer 2xx is refused.
  HttpResponder refusing;
  refusing.setDefault({404, "{}"});
  EXPECT_EQ(expectError([&] { rest->createWebhook({.url = refusing.url()}); }).code(), ErrorCode::InvalidArgument);
  EXPECT_EQ(expectError([&] { rest->createWebhook({.url = "ftp://x"}); }).code(), ErrorCode::InvalidArgument);
  EXPECT_EQ(expectError([&] { rest->createWebhook({.url = receiver.url(), .eventTypes = {"no.such"}}); }).code(),
            ErrorCode::InvalidArgument);
  rest->deleteWebhook(hook.uuid);
  EXPECT_EQ(expectError([&] { rest->getWebhook(hook.uuid); }).code(), ErrorCode::NotFound);
}

TEST_F(WebhookTest, ASipReferThroughTheCallObjectFiresTheCalltransferSequenceSigned) {
  CallClient bot;
  EventRecorder events(bot);
  await(bot.join({.url = server.httpUrl() + "/support", .token = server.token({{"is_owner", true}})}));
  auto sipp = caller("caller_accepts_refer.xml");
  auto connected = events.waitFor("dialin-connected");
  ASSERT_TRUE(connected) << readFile(dir + "/sipp.log");
  const std::string id = connected->payload["sessionId"];
  await(bot.sipRefer({.sessionId = id, .toEndPoint = "sip:agent@127.0.0.1:5099"}));
  ASSERT_TRUE(waitForType("dialin.stopped"));
  EXPECT_EQ(sipp->wait(15s), 0);
  const auto types = typesFor(id);
  const std::vector<std::string> expected{"dialin.connected",       "participant.joined",    "calltransfer.triggered",
                                          "calltransfer.initiated", "calltransfer.answered", "participant.left",
                                          "dialin.stopped"};
  EXPECT_EQ(types, expected);
  for (const auto& e : deliveries()) {
    EXPECT_EQ(e.version, "1.0.0");
    EXPECT_EQ(e.payload["room"], "support");
    EXPECT_TRUE(e.payload.contains("domain_id"));
    if (e.type.rfind("calltransfer.", 0) != 0) continue;
    EXPECT_EQ(e.payload["is_sip_refer"], true);
    EXPECT_EQ(e.payload["to_endpoint"], "sip:agent@127.0.0.1:5099");
    EXPECT_EQ(e.payload["session_id"], id);
    EXPECT_TRUE(e.payload["timestamp"].is_string());
    EXPECT_TRUE(e.payload["from_endpoint"].get<std::string>().rfind("sip:caller@127.0.0.1", 0) == 0);
  }
}

TEST_F(WebhookTest, ASipReferThroughRestActsLikeTheCallObject) {
  CallClient watcher;
  EventRecorder events(watcher);
  // An owner that does nothing itself: REST does the transfer, and the room's owners see its progress.
  await(watcher.join({.url = server.httpUrl() + "/support", .token = server.token({{"is_owner", true}})}));
  auto sipp = caller("caller_accepts_refer.xml");
  auto connected = events.waitFor("dialin-connected");
  ASSERT_TRUE(connected) << readFile(dir + "/sipp.log");
  const std::string id = connected->payload["sessionId"];
  rest->sipRefer("support", {.sessionId = id, .toEndPoint = "sip:agent@127.0.0.1:5099"});
  ASSERT_TRUE(events.waitFor("dialin-stopped"));  // the same room events as the call object's sipRefer
  ASSERT_TRUE(events.waitFor("sip-refer-progress", [](const Event& e) { return e.payload["status"] == "transferred"; }));
  ASSERT_TRUE(waitForType("dialin.stopped"));
  EXPECT_EQ(sipp->wait(15s), 0);
  const auto types = typesFor(id);
  const auto at = [&](const std::string& t) { return std::find(types.begin(), types.end(), t) - types.begin(); };
  ASSERT_LT(at("calltransfer.answered"), static_cast<long>(types.size()));
  EXPECT_LT(at("calltransfer.triggered"), at("calltransfer.initiated"));
  EXPECT_LT(at("calltransfer.initiated"), at("calltransfer.answered"));
  EXPECT_EQ(std::count(types.begin(), types.end(), "calltransfer.completed"), 0);  // not for a REFER
}

TEST_F(WebhookTest, ASipCallTransferThroughRestEndsWithCompletedWhenTheBridgedCallEnds) {
  CallClient watcher;
  EventRecorder events(watcher);
  await(watcher.join({.url = server.httpUrl() + "/support"}));
  const int targetPort = freeUdpPort();
  Process target({"sipp", "-sn", "uas", "-i", "127.0.0.1", "-p", std::to_string(targetPort), "-m", "1", "-timeout", "20s",
                  "-timeout_error", "-nostdin", "-mp", std::to_string(freeMediaPort())},
                 dir, dir + "/target.log");
  auto sipp = caller("caller_hangs_up.xml");  // hangs up 3 s after it called: that ends the bridge
  auto connected = events.waitFor("dialin-connected");
  ASSERT_TRUE(connected) << readFile(dir + "/sipp.log");
  const std::string id = connected->payload["sessionId"];
  const std::string to = "sip:agent@127.0.0.1:" + std::to_string(targetPort);
  rest->sipCallTransfer("support", {.sessionId = id, .toEndPoint = to});
  ASSERT_TRUE(waitForType("calltransfer.completed"));
  EXPECT_EQ(sipp->wait(15s), 0);
  EXPECT_EQ(target.wait(15s), 0);
  const auto types = typesFor(id);
  const std::vector<std::string> transfer{"calltransfer.triggered", "calltransfer.initiated", "calltransfer.answered"};
  auto first = std::find(types.begin(), types.end(), transfer[0]);
  ASSERT_NE(first, types.end());
  EXPECT_TRUE(std::equal(transfer.begin(), transfer.end(), first));
  EXPECT_EQ(types.back(), "calltransfer.completed");
  for (const auto& e : deliveries())
    if (e.type.rfind("calltransfer.", 0) == 0) {
      EXPECT_EQ(e.payload["is_sip_refer"], false);
      EXPECT_EQ(e.payload["to_endpoint"], to);
    }
}

TEST_F(WebhookTest, ATamperedBodyOrAnOldTimestampFailsVerification) {
  CallClient watcher;
  await(watcher.join({.url = server.httpUrl() + "/support"}));
  ASSERT_TRUE(waitForType("participant.joined"));
  const RecordedRequest delivery = receiver.requests().back();
  const std::string ts = delivery.headers.at("x-webhook-timestamp"), sig = delivery.headers.at("x-webhook-signature");
  EXPECT_TRUE(verifyWebhookSignature(hook.hmac, ts, delivery.body, sig));
  std::string tampered = delivery.body;
  tampered.replace(tampered.find("participant.joined"), 18, "participant.jOined");
  EXPECT_FALSE(verifyWebhookSignature(hook.hmac, ts, tampered, sig));
  const std::string old = std::to_string(std::stoll(ts) - 3600);
  EXPECT_FALSE(verifyWebhookSignature(hook.hmac, old, delivery.body, signWebhook(hook.hmac, old, delivery.body)));
}

TEST_F(WebhookTest, ADeadReceiverGoesFailedWithoutBlockingTheGateway) {
  receiver.setDefault({.hang = true});  // every delivery now waits for the 400 ms timeout
  CallClient bot;
  EventRecorder events(bot);
  await(bot.join({.url = server.httpUrl() + "/support", .token = server.token({{"is_owner", true}})}));
  auto sipp = caller("caller_accepts_refer.xml");
  auto connected = events.waitFor("dialin-connected");
  ASSERT_TRUE(connected) << readFile(dir + "/sipp.log");
  // Deliveries are stuck, yet the transfer goes through at SIP speed.
  const auto start = std::chrono::steady_clock::now();
  await(bot.sipRefer({.sessionId = connected->payload["sessionId"], .toEndPoint = "sip:agent@127.0.0.1:5099"}));
  ASSERT_TRUE(events.waitFor("dialin-stopped"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1500ms);
  EXPECT_EQ(sipp->wait(15s), 0);
  // Three failures in a row (circuit-breaker) and the webhook is FAILED.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  Webhook now = rest->getWebhook(hook.uuid);
  while (now.state != "FAILED" && std::chrono::steady_clock::now() < deadline) {
    receiver.waitFor(receiver.requests().size() + 1, {}, 1s);  // the next attempt
    now = rest->getWebhook(hook.uuid);
  }
  EXPECT_EQ(now.state, "FAILED");
  EXPECT_GE(now.failedCount, 3);
  // Updating it re-activates it.
  receiver.setDefault({});
  EXPECT_EQ(rest->updateWebhook(hook.uuid, {.url = receiver.url() + "/again"}).state, "ACTIVE");
}

#ifdef DAILY_EXAMPLES_DIR
TEST_F(WebhookTest, TheExampleReceiverVerifiesAndPrintsTheTransfer) {
  int port = 0;
  {
    asio::io_context io;
    asio::ip::tcp::acceptor probe(io, {asio::ip::make_address("127.0.0.1"), 0});
    port = probe.local_endpoint().port();
  }
  Process example({std::string(DAILY_EXAMPLES_DIR) + "/webhook_receiver", "--port", std::to_string(port), "--secret",
                   "c2VjcmV0LWtleS1mb3ItdGVzdHM=", "--count", "100"},
                  dir, dir + "/receiver.log");
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/daily";
  // The receiver may take a moment to listen: creating the webhook is refused until its verification POST gets 200.
  std::optional<Webhook> created;
  for (auto deadline = std::chrono::steady_clock::now() + 10s; !created && std::chrono::steady_clock::now() < deadline;) {
    try {
      created = rest->createWebhook({.url = url, .hmac = "c2VjcmV0LWtleS1mb3ItdGVzdHM="});
    } catch (const Error&) {
    }
  }
  ASSERT_TRUE(created);
  // A webhook signing with another secret cannot even be created: the receiver refuses its verification POST.
  EXPECT_EQ(expectError([&] { rest->createWebhook({.url = url, .hmac = "b3RoZXItc2VjcmV0"}); }).code(),
            ErrorCode::InvalidArgument);
  CallClient bot;
  EventRecorder events(bot);
  await(bot.join({.url = server.httpUrl() + "/support", .token = server.token({{"is_owner", true}})}));
  auto sipp = caller("caller_accepts_refer.xml");
  auto connected = events.waitFor("dialin-connected");
  ASSERT_TRUE(connected) << readFile(dir + "/sipp.log");
  await(bot.sipRefer({.sessionId = connected->payload["sessionId"], .toEndPoint = "sip:agent@127.0.0.1:5099"}));
  ASSERT_TRUE(events.waitFor("dialin-stopped"));
  EXPECT_EQ(sipp->wait(15s), 0);
  // Each webhook has its own queue and retries: a delivery to the example that timed out (a loaded machine, a
  // sanitizer build) comes again a second later, so wait for the example's own log, not for the test receiver.
  EXPECT_TRUE(waitForFileContaining(dir + "/receiver.log", "dialin.stopped", 15s)) << readFile(dir + "/receiver.log");
  const std::string log = readFile(dir + "/receiver.log");
  EXPECT_NE(log.find("verification POST answered"), std::string::npos) << log;
  EXPECT_NE(log.find("calltransfer.triggered  session " + connected->payload["sessionId"].get<std::string>()),
            std::string::npos) << log;
  EXPECT_NE(log.find("-> sip:agent@127.0.0.1:5099  (SIP REFER)"), std::string::npos) << log;
  EXPECT_NE(log.find("REFUSED"), std::string::npos) << log;  // the other secret's verification POST
}
#endif

}  // namespace
}  // namespace daily::test
