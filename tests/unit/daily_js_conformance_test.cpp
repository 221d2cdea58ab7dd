// daily-js 0.92.2's type declarations as the contract (issue 15): read from the vendored d.ts itself
// (tests/reference/, BSD-2-Clause, as the shared reference has it), so that a name a later daily-js adds fails
// here rather than in a ported bot.

#include <daily/daily.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace daily {
namespace {

std::string readDts() {
  std::ifstream in(DAILY_JS_DTS);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The string literals of one `export type NAME = 'a' | 'b' ...;` union of the d.ts.
std::vector<std::string> unionOf(const std::string& dts, const std::string& name) {
  const std::regex declaration("export type " + name + " =([^;]*);");
  std::smatch found;
  if (!std::regex_search(dts, found, declaration)) return {};
  const std::string body = found[1].str();
  std::vector<std::string> names;
  const std::regex literal("'([^']+)'");
  for (auto it = std::sregex_iterator(body.begin(), body.end(), literal); it != std::sregex_iterator(); ++it)
    names.push_back((*it)[1].str());
  return names;
}

TEST(DailyJsConformance, OnAndOnceTakeEveryNameOfTheDailyEventUnion) {
  const auto names = unionOf(readDts(), "DailyEvent");
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
  const auto states = unionOf(readDts(), "DailyMeetingState");
  ASSERT_EQ(states, (std::vector<std::string>{"new", "loading", "loaded", "joining-meeting", "joined-meeting",
                                              "left-meeting", "error"}));
  CallClient client;
  EXPECT_NE(std::find(states.begin(), states.end(), client.meetingState()), states.end());
}

}  // namespace
}  // namespace daily
