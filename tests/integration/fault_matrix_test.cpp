// The fault matrix: the devserver killed (and restarted on the same port) mid-join, mid-sipRefer and
// mid-dial-out; the signaling connection lost while joined, with reconnection and without; clients churning.
// Each case checks that every pending future completed with the right ErrorCode, that no thread or socket of
// the process leaked, and that the server serves a new client afterwards.

#include "devserver_fixture.hpp"
#include "events.hpp"
#include "process.hpp"

#include <daily/daily.hpp>

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <optional>
#include <thread>

namespace daily::test {
namespace {

using nlohmann::json;

// The process's threads and sockets, from /proc/self.
struct Resources {
  int threads = 0;
  int sockets = 0;

  static Resources now() {
    Resources r;
    for (const auto& e : std::filesystem::directory_iterator("/proc/self/task")) (void)e, ++r.threads;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
      const auto target = std::filesystem::read_symlink(e.path(), ec);
      if (!ec && target.string().rfind("socket:", 0) == 0) ++r.sockets;
    }
    return r;
  }
};

// Waits (with a deadline) until the process is back to the baseline: sockets close asynchronously on the
// network thread, so the count may lag the destruction of a client by a moment.
::testing::AssertionResult backTo(const Resources& baseline, std::chrono::milliseconds timeout = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  Resources r;
  do {
    r = Resources::now();
    if (r.threads <= baseline.threads && r.sockets <= baseline.sockets) return ::testing::AssertionSuccess();
    std::this_thread::sleep_for(20ms);
  } while (std::chrono::steady_clock::now() < deadline);
  return ::testing::AssertionFailure() << "threads " << r.threads << " (baseline " << baseline.threads << "), sockets "
                                       << r.sockets << " (baseline " << baseline.sockets << ")";
}

// The baseline: the SDK's process-wide threads are started by the first client, so one client joins and leaves first.
// Its sockets are those from before the warm-up client: once that client's socket has closed, none is the SDK's.
Resources warmBaseline(ServerHandle& server) {
  const json room = server.createRoom();
  const int socketsBefore = Resources::now().sockets;
  {
    CallClient warm;
    await(warm.join({.url = room["url"]}));
    await(warm.leave());
  }
  const Resources baseline{Resources::now().threads, socketsBefore};
  if (!backTo(baseline)) throw std::runtime_error("the warm-up client's socket did not close");
  return baseline;
}

// A daily-devserver child that can be killed and started again on the same ports.
class RestartableServer {
 public:
  RestartableServer()
      // Both ports outside the ephemeral range, the SIP one free for UDP and TCP alike (the gateway listens on both):
      // the restart must get them again, and an ephemeral port may meanwhile be another test's TCP client socket.
      : args_{"--port", std::to_string(freeTcpPort()), "--sip-port", std::to_string(freeSipPort())} {
    start();
  }
  ChildServer& operator*() { return *server_; }
  ChildServer* operator->() { return server_.get(); }
  void kill() { server_->kill(); }
  void start() {
    server_.reset();
    server_ = std::make_unique<ChildServer>(args_);
  }

 private:
  std::vector<std::string> args_;
  std::unique_ptr<ChildServer> server_;
};

CallClientOptions fastReconnect(std::chrono::milliseconds window = 10s) {
  CallClientOptions o;
  o.reconnectWindow = window;
  o.reconnectDelay = 50ms;
  o.reconnectMaxDelay = 400ms;
  o.connectTimeout = 2s;
  return o;
}

const json kRoom{{"name", "ops"}, {"properties", {{"sip", {{"sip_mode", "dial-in"}}}}}};

// After a restart the server has forgotten its rooms; the test makes it again, as a deployment's setup would.
void recreateRoom(ServerHandle& server) { server.createRoom(kRoom); }

bool isSignaling(const Event& e, const std::string& what) {
  return e.payload.value("type", "") == "signaling" && e.payload.value("event", "") == what;
}

// A daily-devserver child that can be killed and restarted, the process's threads and sockets before the case,
// the room "ops" and an owner token for it.
class Restartable {
 protected:
  RestartableServer server;
  const Resources baseline = warmBaseline(*server);
  const json room = server->createRoom(kRoom);
  const std::string token = server->token({{"room_name", "ops"}, {"is_owner", true}});
};

class Reconnect : public Restartable, public ::testing::Test {};

TEST_F(Reconnect, RejoinsAfterTheDevserverRestartsAndReportsItAsDailyJsDoes) {
  {
    CallClient bot(fastReconnect());
    CallClient other(fastReconnect());
    EventRecorder events(bot);
    const json before = await(bot.join({.url = room["url"], .token = token, .userName = "bot"}));
    await(other.join({.url = room["url"], .userName = "other"}));
    ASSERT_TRUE(events.waitFor("participant-joined"));

    server.kill();
    ASSERT_TRUE(events.waitFor("network-connection", [](const Event& e) { return isSignaling(e, "interrupted"); }));
    EXPECT_EQ(bot.meetingState(), "joined-meeting");  // as daily-js: still joined while it reconnects
    Error down = expectError([&] { await(bot.sipRefer({.sessionId = "x", .toEndPoint = "sip:a@127.0.0.1"})); });
    EXPECT_EQ(down.code(), ErrorCode::ConnectionLost);

    server.start();
    recreateRoom(*server);
    auto connected =
        events.waitFor("network-connection", [](const Event& e) { return isSignaling(e, "connected"); }, 15s);
    ASSERT_TRUE(connected);
    EXPECT_EQ(bot.meetingState(), "joined-meeting");
    const json now = bot.participants();
    EXPECT_NE(now["local"]["session_id"], before["local"]["session_id"]);  // every join is a new session
    EXPECT_EQ(now["local"]["user_name"], "bot");
    EXPECT_EQ(now["local"]["owner"], true);  // the token was presented again
    // The server answers again: an unknown session is NotFound, not ConnectionLost.
    Error answered = expectError([&] { await(bot.sipRefer({.sessionId = "nobody", .toEndPoint = "sip:a@127.0.0.1"})); });
    EXPECT_EQ(answered.code(), ErrorCode::NotFound);
    await(bot.leave());
  }
  EXPECT_TRUE(backTo(baseline));
}

TEST_F(Reconnect, GivesUpWithAnErrorWhenTheServerDoesNotComeBack) {
  CallClient bot(fastReconnect(1500ms));
  EventRecorder events(bot);
  await(bot.join({.url = room["url"]}));
  server.kill();
  ASSERT_TRUE(events.waitFor("network-connection", [](const Event& e) { return isSignaling(e, "interrupted"); }));
  auto error = events.waitFor("error", {}, 10s);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->payload["error"]["type"], "connection-error");
  EXPECT_EQ(error->payload["error"]["details"]["on"], "reconnect");
  EXPECT_EQ(bot.meetingState(), "error");
  EXPECT_EQ(bot.participants(), json::object());
  EXPECT_FALSE(events.seen("left-meeting"));
  EXPECT_NO_THROW(await(bot.leave()));  // no meeting: nothing to do, no event, the state stays
  EXPECT_EQ(bot.meetingState(), "error");
  EXPECT_FALSE(events.seen("left-meeting"));
}

TEST_F(Reconnect, GivesUpWhenTheRestartedServerRefusesTheRejoin) {
  CallClient bot(fastReconnect());
  EventRecorder events(bot);
  await(bot.join({.url = room["url"]}));
  server.kill();
  server.start();  // ... without the room: the rejoin is refused, and retrying would not help
  auto error = events.waitFor("error", {}, 10s);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->payload["error"]["type"], "no-room");
  EXPECT_EQ(bot.meetingState(), "error");
  EXPECT_FALSE(events.waitFor("network-connection", [](const Event& e) { return isSignaling(e, "connected"); }, 0ms));
}

TEST_F(Reconnect, LeaveWhileReconnectingEndsAtOnce) {
  CallClient bot(fastReconnect());
  EventRecorder events(bot);
  await(bot.join({.url = room["url"]}));
  server.kill();
  ASSERT_TRUE(events.waitFor("network-connection", [](const Event& e) { return isSignaling(e, "interrupted"); }));
  await(bot.leave(), 2s);
  EXPECT_EQ(bot.meetingState(), "left-meeting");
  EXPECT_TRUE(events.waitFor("left-meeting"));
  server.start();
  recreateRoom(*server);
  // No late attempt rejoins: nothing connects for longer than the largest backoff (400 ms).
  EXPECT_FALSE(events.waitFor("network-connection", [](const Event& e) { return isSignaling(e, "connected"); }, 600ms));
  EXPECT_EQ(bot.meetingState(), "left-meeting");
}

// The devserver freezes (SIGSTOP: the kernel still accepts connections and data, nothing answers) with one
// request in flight, then dies and comes back on the same ports.
enum class Op { Join, SipRefer, StartDialOut };

class KilledMidRequest : public Restartable, public ::testing::TestWithParam<Op> {};

TEST_P(KilledMidRequest, ThePendingFutureFailsWithConnectionLostAndTheServerServesAfterwards) {
  {
    CallClient bot(fastReconnect());
    EventRecorder events(bot);
    // The one request left pending, whatever its kind.
    std::future<json> join;
    std::future<void> refer;
    std::future<DialOutSession> dial;
    if (GetParam() == Op::Join) {
      server->freeze();
      join = bot.join({.url = room["url"], .token = token});
      ASSERT_EQ(bot.meetingState(), "joining-meeting");
    } else {
      await(bot.join({.url = room["url"], .token = token}));
      server->freeze();
      if (GetParam() == Op::SipRefer) refer = bot.sipRefer({.sessionId = "caller", .toEndPoint = "sip:agent@127.0.0.1:5099"});
      else dial = bot.startDialOut({.sipUri = "sip:callee@127.0.0.1:5099"});
      // The request was written from this thread before the call returned; the frozen server cannot answer it.
      ASSERT_EQ(refer.valid() ? refer.wait_for(0s) : dial.wait_for(0s), std::future_status::timeout);
    }
    auto awaitPending = [&] {
      if (join.valid()) await(std::move(join), 5s);
      if (refer.valid()) await(std::move(refer), 5s);
      if (dial.valid()) await(std::move(dial), 5s);
    };
    server.kill();
    Error e = expectError(awaitPending);
    EXPECT_EQ(e.code(), ErrorCode::ConnectionLost) << e.what();

    server.start();
    recreateRoom(*server);
    if (GetParam() == Op::Join) {
      // A join that never completed is not retried: the user's join() failed and said so.
      EXPECT_EQ(bot.meetingState(), "error");
      await(bot.join({.url = room["url"], .token = token}));  // and may simply be called again
    } else {
      ASSERT_TRUE(
          events.waitFor("network-connection", [](const Event& ev) { return isSignaling(ev, "connected"); }, 15s));
    }
    CallClient fresh;
    const json joined = await(fresh.join({.url = room["url"]}));
    EXPECT_EQ(joined.size(), 2u);  // fresh and the bot
    await(fresh.leave());
    await(bot.leave());
  }
  EXPECT_TRUE(backTo(baseline));
}

INSTANTIATE_TEST_SUITE_P(Ops, KilledMidRequest, ::testing::Values(Op::Join, Op::SipRefer, Op::StartDialOut),
                         [](const auto& info) {
                           switch (info.param) {
                             case Op::Join: return "join";
                             case Op::SipRefer: return "sipRefer";
                             case Op::StartDialOut: return "startDialOut";
                           }
                           return "op";
                         });

TEST(Churn, HundredClientsJoinAndLeaveInALoopWithoutLeakingThreadsOrSockets) {
  InProcessServer server;
  const Resources baseline = warmBaseline(server);
  const json room = server.createRoom();
  for (int round = 0; round < 3; ++round) {
    std::vector<std::unique_ptr<CallClient>> clients;
    std::vector<std::future<json>> joins;
    std::optional<EventRecorder> lastOnesEvents;
    for (int i = 0; i < 100; ++i) {
      clients.push_back(std::make_unique<CallClient>());
      if (i == 99) lastOnesEvents.emplace(*clients.back());
      joins.push_back(clients.back()->join({.url = room["url"], .userName = "bot" + std::to_string(i)}));
    }
    for (auto& j : joins) await(std::move(j), 30s);
    // Joins were concurrent: the last to join learns of the others from its join answer or from their
    // participant-joined events, which may still be on their way when its own join completes. participants()
    // has changed by the time each of those events is delivered, so the one that completes the list is recorded.
    CallClient& lastJoiner = *clients.back();
    if (lastJoiner.participants().size() < 100u)
      lastOnesEvents->waitFor("participant-joined", [&](const Event&) { return lastJoiner.participants().size() >= 100u; });
    EXPECT_EQ(lastJoiner.participants().size(), 100u);
    lastOnesEvents.reset();
    std::vector<std::future<void>> leaves;
    for (std::size_t i = 0; i < clients.size(); i += 2) leaves.push_back(clients[i]->leave());  // half leave...
    for (auto& l : leaves) await(std::move(l), 30s);
    clients.clear();  // ... half are destroyed while joined
  }
  EXPECT_TRUE(backTo(baseline, 10s));
  // The server is still right: a new client finds the room empty.
  CallClient last;
  EXPECT_EQ(await(last.join({.url = room["url"]})).size(), 1u);
}

}  // namespace
}  // namespace daily::test
