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

TEST(CallClientLocal, LeaveAndTelephonyBeforeJoinAreNotJoined) {
  CallClient client;
  EXPECT_EQ(codeOf([&] { client.leave().get(); }), ErrorCode::NotJoined);
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

}  // namespace
}  // namespace daily
