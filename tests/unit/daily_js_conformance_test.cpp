// daily-js 0.92.2's type declarations as the contract (issue 15): read from the vendored d.ts itself
// (tests/reference/, BSD-2-Clause, as the shared reference has it), so that a name a later daily-js adds fails
// here rather than in a ported bot.

#include "dts.hpp"

#include <daily/daily.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace daily {
namespace {

const test::dts::Declarations& declarations() {
  static const test::dts::Declarations d = test::dts::Declarations::fromFile(DAILY_JS_DTS);
  return d;
}

TEST(DailyJsConformance, OnAndOnceTakeEveryNameOfTheDailyEventUnion) {
  const auto names = declarations().literalsOf("DailyEvent");
  ASSERT_GE(names.size(), 80u) << "the d.ts was not read (" << DAILY_JS_DTS << ")";
  CallClient client;
  for (const auto& name : names) {
    EXPECT_NO_THROW(client.off(client.on(name, [](const Event&) {}))) << name;
    EXPECT_NO_THROW(client.off(client.once(name, [](const Event&) {}))) << name;
  }
}

TEST(DailyJsConformance, DtmfEventAndOurOwnNamesAreTakenAndNothingElse) {
  CallClient client;
  // 0.92.2 emits dtmf-event but its union forgot it; the rest are daily-cpp's.
  for (const char* name : {"dtmf-event", "*", "sip-refer-progress", "sip-call-transfer-progress",
                           "sip-inbound-refer-progress"}) {
    EXPECT_NO_THROW(client.on(name, [](const Event&) {})) << name;
  }
  for (const char* name : {"", "joined", "Joined-Meeting", "participant-joined ", "dtmf", "sip-refer"}) {
    try {
      client.on(name, [](const Event&) {});
      ADD_FAILURE() << "'" << name << "' was taken";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::InvalidArgument) << name;
    }
  }
}

// The meeting states meetingState() can report are daily-js's own.
TEST(DailyJsConformance, MeetingStatesAreDailyJsOnes) {
  const auto states = declarations().literalsOf("DailyMeetingState");
  ASSERT_EQ(states, (std::vector<std::string>{"new", "loading", "loaded", "joining-meeting", "joined-meeting",
                                              "left-meeting", "error"}));
  CallClient client;
  EXPECT_NE(std::find(states.begin(), states.end(), client.meetingState()), states.end());
}

// The reader of the d.ts that the payload conformance test (tests/sip/conformance_test.cpp) relies on: it maps
// events to daily-js's interfaces and finds what a payload lacks, so that test can fail.
TEST(DailyJsConformance, EventsMapToTheInterfacesDailyJsGivesThem) {
  const auto& d = declarations();
  EXPECT_EQ(d.eventType("participant-joined"), "DailyEventObjectParticipant");
  EXPECT_EQ(d.eventType("participant-updated"), "DailyEventObjectParticipant");
  EXPECT_EQ(d.eventType("participant-left"), "DailyEventObjectParticipantLeft");
  EXPECT_EQ(d.eventType("joined-meeting"), "DailyEventObjectParticipants");
  EXPECT_EQ(d.eventType("left-meeting"), "DailyEventObjectNoPayload");
  EXPECT_EQ(d.eventType("error"), "DailyEventObjectFatalError");
  EXPECT_EQ(d.eventType("dialout-answered"), "DailyEventObjectDialOutAnswered");
  EXPECT_EQ(d.eventType("dtmf-event"), "DailyEventObjectDtmfEvent");
  EXPECT_EQ(d.eventType("app-message"), "DailyEventObjectAppMessage");
  EXPECT_EQ(d.eventType("sip-refer-progress"), "DailyEventObjectBase");  // (ours: not in the d.ts)
}

TEST(DailyJsConformance, TheCheckerFindsMissingFieldsAndWrongTypes) {
  const auto& d = declarations();
  using nlohmann::json;
  const json answered = {{"action", "dialout-answered"}, {"callClientId", "c1"}, {"sessionId", "s1"},
                         {"provider", "daily"},          {"sipCallId", "abc"}};
  EXPECT_EQ(d.check(answered, "DailyEventObjectDialOutAnswered"), std::vector<std::string>{});
  json lacking = answered;
  lacking.erase("sipCallId");
  lacking["userId"] = 7;
  lacking["action"] = "dialout-stopped";
  const auto problems = d.check(lacking, "DailyEventObjectDialOutAnswered");
  ASSERT_EQ(problems.size(), 3u) << testing::PrintToString(problems);
  EXPECT_EQ(problems[0].rfind("$.action:", 0), 0u) << problems[0];
  EXPECT_EQ(problems[1], "$.userId: 7 is not a string");
  EXPECT_EQ(problems[2], "$.sipCallId: missing");
  // A fatal connection error is checked as DailyFatalConnectionError (a conditional type, discriminated by type).
  json fatal = {{"action", "error"}, {"callClientId", "c1"}, {"errorMsg", "lost"},
                {"error", {{"type", "connection-error"}, {"msg", "lost"}, {"details", {{"on", "join"}}}}}};
  EXPECT_EQ(d.check(fatal, "DailyEventObjectFatalError"), std::vector<std::string>{"$.error.details.sourceError: missing"});
  fatal["error"]["details"]["sourceError"] = json::object();
  fatal["error"]["details"]["on"] = "lunch";
  EXPECT_EQ(d.check(fatal, "DailyEventObjectFatalError").size(), 1u);
  // Dates are ISO 8601 strings, Sets arrays; nested interfaces and index signatures are followed.
  EXPECT_EQ(d.check("2026-12-03T10:00:00.000Z", "Date"), std::vector<std::string>{});
  EXPECT_EQ(d.check(1764756000, "Date").size(), 1u);
  EXPECT_EQ(d.check(json::array({"audio"}), "Set<DailyParticipantPermissionsCanSendValues>"), std::vector<std::string>{});
  EXPECT_EQ(d.check(json::array({"smell"}), "Set<DailyParticipantPermissionsCanSendValues>").size(), 1u);
  EXPECT_EQ(d.check({{"local", {{"session_id", "x"}}}}, "DailyParticipantsObject").empty(), false);
  EXPECT_EQ(d.check(json::object(), "NoSuchType"), std::vector<std::string>{"$: the d.ts declares no type NoSuchType"});
}

}  // namespace
}  // namespace daily
