// CallClient behaviour that needs no server: argument checks, states and the listener registry.

#include <daily/daily.hpp>

#include <gtest/gtest.h>

#include <dirent.h>

#include <fstream>
#include <set>
#include <string>

namespace daily {
namespace {

template <class F>
ErrorCode codeOf(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.code();
  }
  ADD_FAILURE() << "no daily::Error thrown";
  return ErrorCode::ServerError;
}

TEST(CallClientLocal, StartsNewWithNoParticipants) {
  CallClient client;
  EXPECT_EQ(client.meetingState(), "new");
  EXPECT_TRUE(client.participants().empty());
  EXPECT_FALSE(client.callClientId().empty());
  CallClient other;
  EXPECT_NE(client.callClientId(), other.callClientId());
}

// The SDK's two threads carry names, as top -H, perf and gdb show them (README).
TEST(CallClientLocal, TheSdksThreadsAreNamed) {
  CallClient client;
  auto join = client.join(JoinOptions{"http://127.0.0.1:1/room", "", ""});  // nobody listens: fails, after starting
  EXPECT_THROW(join.get(), Error);
  std::set<std::string> names;
  if (DIR* d = opendir("/proc/self/task")) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      std::string name;
      std::getline(std::ifstream(std::string("/proc/self/task/") + e->d_name + "/comm"), name);
      names.insert(name);
    }
    closedir(d);
  }
  EXPECT_EQ(names.count("daily-network"), 1u);
  EXPECT_EQ(names.count("daily-events"), 1u);
}

TEST(CallClientLocal, UnknownEventNameThrowsAtOnce) {
  CallClient client;
  EXPECT_EQ(codeOf([&] { client.on("participant-joind", [](const Event&) {}); }), ErrorCode::InvalidArgument);
  EXPECT_EQ(codeOf([&] { client.once("", [](const Event&) {}); }), ErrorCode::InvalidArgument);
  EXPECT_EQ(codeOf([&] { client.on("participant-joined", nullptr); }), ErrorCode::InvalidArgument);
  const ListenerId a = client.on("participant-joined", [](const Event&) {});
  const ListenerId b = client.on("*", [](const Event&) {});
  EXPECT_NE(a, b);
  client.off(a);
  client.off(a);  // removing twice is harmless
  client.off(12345);
}

TEST(CallClientLocal, MalformedRoomUrlIsInvalidArgument) {
  CallClient client;
  for (const char* url : {"", "hello", "ftp://x/y", "http://host", "http://host/a/b", "http://host/room?x"}) {
    auto f = client.join({.url = url});
    EXPECT_EQ(codeOf([&] { f.get(); }), ErrorCode::InvalidArgument) << url;
  }
  EXPECT_EQ(client.meetingState(), "new");
}

TEST(CallClientLocal, LeaveBeforeJoinDoesNothingAndTelephonyIsNotJoined) {
  CallClient client;
  auto left = client.leave();  // daily-js: "If there is no meeting, this method does nothing."
  ASSERT_EQ(left.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  EXPECT_NO_THROW(left.get());
  EXPECT_EQ(client.meetingState(), "new");
  EXPECT_EQ(codeOf([&] { client.sipRefer({"s", "sip:a@b.c"}).get(); }), ErrorCode::NotJoined);
  EXPECT_EQ(codeOf([&] { client.sipCallTransfer({"s", "sip:a@b.c"}).get(); }), ErrorCode::NotJoined);
  EXPECT_EQ(codeOf([&] { client.startDialOut({.sipUri = "sip:a@b.c"}).get(); }), ErrorCode::NotJoined);
  EXPECT_EQ(codeOf([&] { client.stopDialOut({"s"}).get(); }), ErrorCode::NotJoined);
  EXPECT_EQ(codeOf([&] { client.sendDTMF({.sessionId = "s", .tones = "1"}).get(); }), ErrorCode::NotJoined);
}

TEST(CallClientLocal, ErrorCodeNames) {
  EXPECT_STREQ(toString(ErrorCode::SipRejected), "SipRejected");
  Error e(ErrorCode::SipRejected, "busy", 486);
  EXPECT_EQ(e.sipStatus(), 486);
  EXPECT_EQ(Error(ErrorCode::Timeout, "t").sipStatus(), 0);
}

TEST(CallClientLocal, AudioArgumentsAreCheckedAndAnUnattachedSourceSendsNothing) {
  EXPECT_THROW(CustomAudioSource(44100, 1), std::invalid_argument);
  EXPECT_THROW(CustomAudioSource(16000, 3), std::invalid_argument);
  auto source = std::make_shared<CustomAudioSource>(16000, 2);
  EXPECT_EQ(source->sampleRate(), 16000);
  EXPECT_EQ(source->channels(), 2);
  EXPECT_EQ(source->writeFrames(std::vector<std::int16_t>(640)).get(), 0u);  // attached to nothing
  EXPECT_EQ(codeOf([&] { source->writeFrames(std::vector<std::int16_t>(3)).get(); }), ErrorCode::InvalidArgument);
  EXPECT_THROW(CustomAudioTrack(nullptr), std::invalid_argument);
  CustomAudioTrack a(source), b(source);
  EXPECT_NE(a.id(), b.id());

  CallClient client;
  auto track = std::make_shared<CustomAudioTrack>(source);
  EXPECT_EQ(codeOf([&] { client.addCustomAudioTrack("voice", track).get(); }), ErrorCode::NotJoined);
  EXPECT_EQ(codeOf([&] { client.addCustomAudioTrack("bad name", track).get(); }), ErrorCode::InvalidArgument);
  EXPECT_EQ(codeOf([&] { client.addCustomAudioTrack("voice", nullptr).get(); }), ErrorCode::InvalidArgument);
  EXPECT_EQ(codeOf([&] { client.removeCustomAudioTrack("voice").get(); }), ErrorCode::NotJoined);
  auto render = [](const std::string&, const AudioData&, const std::string&) {};
  EXPECT_EQ(codeOf([&] { client.setAudioRenderer("", render); }), ErrorCode::InvalidArgument);
  EXPECT_EQ(codeOf([&] { client.setAudioRenderer("p", render, {.sampleRate = 44100}); }), ErrorCode::InvalidArgument);
  EXPECT_EQ(codeOf([&] { client.setAudioRenderer("p", render, {.callbackInterval = std::chrono::milliseconds(15)}); }),
            ErrorCode::InvalidArgument);
  EXPECT_EQ(codeOf([&] { client.setAudioRenderer("p", render, {.audioSource = ""}); }), ErrorCode::InvalidArgument);
  // Before join, a renderer is kept for the join; null removes it.
  EXPECT_NO_THROW(client.setAudioRenderer("p", render, {.sampleRate = 48000, .callbackInterval = std::chrono::milliseconds(10)}));
  EXPECT_NO_THROW(client.setAudioRenderer("p", nullptr));
}

}  // namespace
}  // namespace daily
