// daily-js 0.92.2's type declarations as the contract for payloads (issue 15): a scripted session against the
// devserver, with sipp as the callers and callees, and every event each client saw checked against the interface
// the d.ts gives it (tests/reference/daily-js-0.92.2.d.ts, read by tests/support/dts). A field a later daily-js
// makes required, or one a change of ours drops, fails here with the event and the field's path.

#include "devserver_fixture.hpp"
#include "dts.hpp"
#include "events.hpp"
#include "process.hpp"

#include <daily/daily.hpp>

#include <gtest/gtest.h>

#include <set>

namespace daily::test {
namespace {

using nlohmann::json;

const std::string kScenarios = DAILY_SIP_SCENARIOS;

const dts::Declarations& declarations() {
  static const dts::Declarations d = dts::Declarations::fromFile(DAILY_JS_DTS);
  return d;
}

devserver::Options fastTimers() {
  devserver::Options o;
  o.sipT1 = std::chrono::milliseconds(100);
  o.sipTransactionTimeout = std::chrono::milliseconds(2000);
  return o;
}

// daily-cpp's own events, which the d.ts does not declare (docs/protocol.md does).
const std::set<std::string> kOurs = {"sip-refer-progress", "sip-call-transfer-progress", "sip-inbound-refer-progress"};

// What is wrong with each event of recorded, as "<action>: <problem>" lines.
std::vector<std::string> problemsOf(const std::vector<Event>& recorded) {
  std::vector<std::string> problems;
  for (const auto& e : recorded) {
    std::vector<std::string> found;
    if (e.payload.value("action", "") != e.action) found.push_back("$.action: not the event's name");
    if (kOurs.count(e.action)) {
      if (!e.payload.value("callClientId", json()).is_string()) found.push_back("$.callClientId: missing");
    } else {
      found = declarations().check(e.payload, declarations().eventType(e.action));
    }
    for (const auto& p : found) problems.push_back(e.action + ": " + p + "   in " + e.payload.dump());
  }
  return problems;
}

class DailyJsPayloads : public ::testing::Test {
 protected:
  DailyJsPayloads() : server(fastTimers()), dir(tempDir("daily-conformance")) {
    room = server.createRoom(
        {{"name", "contract"}, {"properties", {{"sip", {{"sip_mode", "dial-in"}, {"display_name", "Caller"}}}}}});
  }

  std::unique_ptr<Process> sipp(std::vector<std::string> args, const std::string& name) {
    args.insert(args.begin(), "sipp");
    args.insert(args.end(), {"-i", "127.0.0.1", "-m", "1", "-timeout", "20s", "-timeout_error", "-nostdin",
                             "-mp", std::to_string(freeMediaPort())});
    return std::make_unique<Process>(args, dir, dir + "/" + name + ".log");
  }
  std::unique_ptr<Process> caller(const std::string& scenario) {
    return sipp({"127.0.0.1:" + std::to_string(server.sipPort()), "-sf", kScenarios + "/" + scenario, "-s",
                 dialInUser(room)},
                scenario);
  }
  // (over UDP: an INVITE that comes before sipp listens is sent again)
  std::unique_ptr<Process> callee(const std::string& scenario, int port) {
    return sipp({"-p", std::to_string(port), "-sf", kScenarios + "/" + scenario}, scenario);
  }
  std::string log(const std::string& scenario) const { return readFile(dir + "/" + scenario + ".log"); }

  InProcessServer server;
  std::string dir;
  json room;
};

TEST_F(DailyJsPayloads, EveryEventOfAScriptedTelephonySessionHasWhatTheDtsRequires) {
  CallClient bot;
  EventRecorder events(bot);
  await(bot.join({.url = room["url"], .token = server.token({{"is_owner", true}}), .userName = "bot"}));
  ASSERT_TRUE(events.waitFor("dialin-ready"));
  std::vector<Event> others;  // what the other clients saw

  // Another participant joins, says something, and leaves.
  {
    CallClient guest;
    EventRecorder seen(guest);
    await(guest.join({.url = room["url"], .userName = "guest", .userData = {{"tier", "gold"}}}));
    await(guest.sendAppMessage({{"hello", "bot"}}));
    ASSERT_TRUE(events.waitFor("app-message"));
    await(guest.setUserName("guest of honour"));
    ASSERT_TRUE(events.waitFor("participant-updated"));
    await(guest.leave());
    ASSERT_TRUE(seen.waitFor("left-meeting"));
    const auto all = seen.all();
    others.insert(others.end(), all.begin(), all.end());
  }
  ASSERT_TRUE(events.waitFor("participant-left"));

  // A caller dials in and presses three keys; the bot hangs it up (updateParticipant's eject: a BYE).
  auto keys = caller("caller_presses_keys.xml");
  auto connected = events.waitFor("dialin-connected");
  ASSERT_TRUE(connected) << log("caller_presses_keys.xml");
  const std::string keysId = connected->payload["sessionId"];
  ASSERT_TRUE(events.waitFor("dtmf-event", [](const Event& e) { return e.payload["tone"] == "#"; }))
      << log("caller_presses_keys.xml");
  EXPECT_EQ(declarations().check(bot.participants(), "DailyParticipantsObject"), std::vector<std::string>{});
  await(bot.updateParticipant(keysId, {{"eject", true}}));
  ASSERT_TRUE(events.waitFor("dialin-stopped", [&](const Event& e) { return e.payload["sessionId"] == keysId; }));
  EXPECT_EQ(keys->wait(15s), 0) << log("caller_presses_keys.xml");  // it had its BYE

  // A caller dials in and is referred away.
  auto referred = caller("caller_accepts_refer.xml");
  connected = events.waitFor("dialin-connected", [&](const Event& e) { return e.payload["sessionId"] != keysId; });
  ASSERT_TRUE(connected) << log("caller_accepts_refer.xml");
  const std::string referredId = connected->payload["sessionId"];
  await(bot.sipRefer({.sessionId = referredId, .toEndPoint = "sip:agent@127.0.0.1:5099"}));
  ASSERT_TRUE(events.waitFor("sip-refer-progress", [](const Event& e) { return e.payload["final"] == true; }));
  ASSERT_TRUE(events.waitFor("dialin-stopped", [&](const Event& e) { return e.payload["sessionId"] == referredId; }));
  EXPECT_EQ(referred->wait(15s), 0) << log("caller_accepts_refer.xml");

  // A dial-out is answered and stopped; another reaches a busy callee.
  const int answering = freeUdpPort();
  auto answers = callee("callee_answers.xml", answering);
  const DialOutSession out =
      await(bot.startDialOut({.sipUri = "sip:bob@127.0.0.1:" + std::to_string(answering), .userId = "bob-1"}));
  ASSERT_TRUE(events.waitFor("dialout-answered")) << log("callee_answers.xml");
  await(bot.stopDialOut({.sessionId = out.sessionId}));
  ASSERT_TRUE(events.waitFor("dialout-stopped"));
  EXPECT_EQ(answers->wait(10s), 0) << log("callee_answers.xml");
  const int busy = freeUdpPort();
  auto refuses = callee("callee_busy.xml", busy);
  await(bot.startDialOut({.sipUri = "sip:carol@127.0.0.1:" + std::to_string(busy)}));
  ASSERT_TRUE(events.waitFor("dialout-error")) << log("callee_busy.xml");
  EXPECT_EQ(refuses->wait(10s), 0) << log("callee_busy.xml");

  // A join that cannot connect is a fatal connection-error.
  {
    CallClient lost;
    EventRecorder seen(lost);
    EXPECT_THROW(await(lost.join({.url = "http://127.0.0.1:" + std::to_string(freeTcpPort()) + "/room"})), Error);
    ASSERT_TRUE(seen.waitFor("error"));
    const auto all = seen.all();
    others.insert(others.end(), all.begin(), all.end());
  }
  // The room is deleted under the bot: a fatal error, ejected.
  EXPECT_EQ(server.rest("DELETE", "/v1/rooms/contract").status, 200);
  ASSERT_TRUE(events.waitFor("error"));

  std::vector<Event> all = events.all();
  all.insert(all.end(), others.begin(), others.end());
  std::set<std::string> actions;
  for (const auto& e : all) actions.insert(e.action);
  // The session produced what it was written to produce, so the check below covers each of these.
  for (const char* expected :
       {"joined-meeting", "participant-joined", "participant-updated", "participant-left", "participant-counts-updated",
        "app-message", "left-meeting", "dialin-ready", "dialin-connected", "dialin-stopped", "dtmf-event",
        "dialout-connected", "dialout-answered", "dialout-stopped", "dialout-error", "error", "sip-refer-progress"})
    EXPECT_TRUE(actions.count(expected)) << expected << " was not seen";
  const auto problems = problemsOf(all);
  EXPECT_TRUE(problems.empty()) << problems.size() << " problems:\n" << [&] {
    std::string text;
    for (const auto& p : problems) text += p + "\n";
    return text;
  }();
}

}  // namespace
}  // namespace daily::test
