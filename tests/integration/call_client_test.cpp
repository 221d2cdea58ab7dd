// CallClient against the real devserver over real sockets: rooms, tokens, participants, events, faults.

#include "devserver_fixture.hpp"
#include "events.hpp"

#include <daily/daily.hpp>

#include <gtest/gtest.h>

#include <asio.hpp>

#include <atomic>
#include <thread>

namespace daily::test {
namespace {

using nlohmann::json;

class CallClientTest : public ::testing::Test {
 protected:
  InProcessServer server;
};

TEST_F(CallClientTest, TwoClientsSeeEachOtherJoinAndLeaveWithDailyJsPayloads) {
  const json room = server.createRoom({{"name", "two-bots"}});
  CallClient a, b;
  EventRecorder ea(a), eb(b);
  const json pa = await(a.join({.url = room["url"], .token = server.token({{"room_name", "two-bots"}, {"is_owner", true}}),
                                .userName = "alpha"}));
  EXPECT_EQ(a.meetingState(), "joined-meeting");
  ASSERT_TRUE(pa.contains("local"));
  EXPECT_EQ(pa["local"]["user_name"], "alpha");
  EXPECT_EQ(pa["local"]["local"], true);
  EXPECT_EQ(pa["local"]["owner"], true);
  EXPECT_EQ(pa.size(), 1u);

  const json pb = await(b.join({.url = room["url"], .userName = "bravo"}));
  EXPECT_EQ(pb.size(), 2u);  // local + alpha
  EXPECT_EQ(pb["local"]["owner"], false);
  const std::string aId = pa["local"]["session_id"], bId = pb["local"]["session_id"];
  ASSERT_TRUE(pb.contains(aId));
  EXPECT_EQ(pb[aId]["user_name"], "alpha");
  EXPECT_EQ(pb[aId]["local"], false);

  auto joined = ea.waitFor("participant-joined");
  ASSERT_TRUE(joined);
  const json& p = joined->payload["participant"];
  EXPECT_EQ(joined->payload["action"], "participant-joined");
  EXPECT_EQ(joined->payload["callClientId"], a.callClientId());
  EXPECT_EQ(p["session_id"], bId);
  EXPECT_EQ(p["user_name"], "bravo");
  EXPECT_EQ(p["user_id"], bId);  // defaults to the session id, as daily-js
  EXPECT_EQ(p["owner"], false);
  EXPECT_EQ(p["local"], false);
  EXPECT_TRUE(p["joined_at"].is_string());
  EXPECT_TRUE(p["permissions"].is_object());
  EXPECT_TRUE(a.participants().contains(bId));
  EXPECT_TRUE(eb.waitFor("joined-meeting"));

  await(b.leave());
  EXPECT_EQ(b.meetingState(), "left-meeting");
  EXPECT_TRUE(eb.waitFor("left-meeting"));
  auto left = ea.waitFor("participant-left");
  ASSERT_TRUE(left);
  EXPECT_EQ(left->payload["participant"]["session_id"], bId);
  EXPECT_FALSE(left->payload.contains("reason"));  // daily-js: reason only for "hidden"
  EXPECT_FALSE(a.participants().contains(bId));

  // The order the joining client saw: joining-meeting before joined-meeting.
  const auto actions = eb.actions();
  ASSERT_GE(actions.size(), 2u);
  EXPECT_EQ(actions[0], "joining-meeting");
  EXPECT_EQ(actions[1], "joined-meeting");
}

TEST_F(CallClientTest, OwnerAndAdminComeOnlyFromTheToken) {
  const json room = server.createRoom({{"name", "perm"}});
  CallClient owner, admin, plain;
  auto po = await(owner.join({.url = room["url"], .token = server.token({{"is_owner", true}, {"user_name", "Owen"}}),
                              .userName = "ignored"}));
  EXPECT_EQ(po["local"]["owner"], true);
  EXPECT_EQ(po["local"]["user_name"], "Owen");  // the token's name wins
  auto pa = await(admin.join({.url = room["url"],
                              .token = server.token({{"permissions", {{"canAdmin", json::array({"participants"})}}}})}));
  EXPECT_EQ(pa["local"]["owner"], false);
  EXPECT_EQ(pa["local"]["permissions"]["canAdmin"], json::array({"participants"}));
  auto pp = await(plain.join({.url = room["url"], .userName = "plain"}));
  EXPECT_EQ(pp["local"]["owner"], false);
  EXPECT_EQ(pp["local"]["permissions"]["canAdmin"], false);
}

TEST_F(CallClientTest, PrivateRoomsRefuseMissingWrongExpiredAndForgedTokens) {
  const json room = server.createRoom({{"name", "secret"}, {"privacy", "private"}});
  server.createRoom({{"name", "elsewhere"}});
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch()).count();
  struct Case {
    std::string name;
    std::string token;
    std::string message;
    std::string type;  // daily-js's fatal error type, in the error event and the join's Error
  };
  std::string forged = server.token({{"room_name", "secret"}});
  char& c = forged[forged.size() - 10];  // inside the signature, a character that carries only data bits
  c = c == 'A' ? 'B' : 'A';
  const std::vector<Case> cases{
      {"missing", "", "private", "not-allowed"},
      {"foreign room", server.token({{"room_name", "elsewhere"}}), "another room", "not-allowed"},
      {"expired", server.token({{"room_name", "secret"}, {"exp", now - 60}}), "expired", "exp-token"},
      {"not yet valid", server.token({{"room_name", "secret"}, {"nbf", now + 3600}}), "not valid yet", "nbf-token"},
      {"forged", forged, "signature", "not-allowed"},
      {"garbage", "not-a-jwt", "not a JWT", "not-allowed"},
  };
  for (const auto& c : cases) {
    CallClient client;
    EventRecorder events(client);
    Error e = expectError([&] { await(client.join({.url = room["url"], .token = c.token})); });
    EXPECT_EQ(e.code(), ErrorCode::PermissionDenied) << c.name << ": " << e.what();
    EXPECT_NE(std::string(e.what()).find(c.message), std::string::npos) << c.name << ": " << e.what();
    EXPECT_EQ(client.meetingState(), "error") << c.name;
    auto err = events.waitFor("error");
    ASSERT_TRUE(err) << c.name;
    EXPECT_EQ(err->payload["errorMsg"], e.what());
    // An expired token says so (a bot renews it), in the event as in the Error.
    EXPECT_EQ(err->payload["error"]["type"], c.type) << c.name;
    EXPECT_EQ(e.errorType(), c.type) << c.name;
    EXPECT_FALSE(err->payload["error"].contains("details")) << c.name;  // only a connection-error has them
  }
  CallClient ok;
  EXPECT_NO_THROW(await(ok.join({.url = room["url"], .token = server.token({{"room_name", "secret"}})})));
}

TEST_F(CallClientTest, UnknownRoomIsNotFound) {
  CallClient client;
  Error e = expectError([&] { await(client.join({.url = server.httpUrl() + "/no-such-room"})); });
  EXPECT_EQ(e.code(), ErrorCode::NotFound);
  EXPECT_EQ(e.errorType(), "no-room");
  EXPECT_NE(std::string(e.what()).find("no-such-room"), std::string::npos);
}

TEST_F(CallClientTest, JoinTwiceLeaveTwiceAndCallsAfterLeave) {
  const json room = server.createRoom();
  CallClient client;
  EventRecorder events(client);
  auto first = client.join({.url = room["url"]});
  Error twice = expectError([&] { await(client.join({.url = room["url"]})); });
  EXPECT_EQ(twice.code(), ErrorCode::InvalidArgument);
  await(std::move(first));
  EXPECT_EQ(expectError([&] { await(client.join({.url = room["url"]})); }).code(), ErrorCode::InvalidArgument);
  // A second leave() while the first is under way resolves with it; one after it does nothing (daily-js's).
  auto leaving = client.leave();
  auto again = client.leave();
  EXPECT_NO_THROW(await(std::move(leaving)));
  EXPECT_NO_THROW(await(std::move(again)));
  EXPECT_NO_THROW(await(client.leave()));
  EXPECT_EQ(client.meetingState(), "left-meeting");
  EXPECT_EQ(expectError([&] { await(client.sipRefer({"x", "sip:a@127.0.0.1"})); }).code(), ErrorCode::NotJoined);
  EXPECT_TRUE(client.participants().contains("local"));
  // A left client may join again, as in daily-js.
  EXPECT_NO_THROW(await(client.join({.url = room["url"]})));
  // The dispatcher delivers in order: once the second joined-meeting is here, any left-meeting of the leaves
  // above has been delivered too, and there was exactly one.
  ASSERT_TRUE(eventually([&] { return events.count("joined-meeting") == 2; }));
  EXPECT_EQ(events.count("left-meeting"), 1u);
}

TEST_F(CallClientTest, LeaveWhileJoiningFailsTheJoinAndNothingHangs) {
  const json room = server.createRoom();
  CallClient client;
  auto joining = client.join({.url = room["url"]});
  auto leaving = client.leave();
  EXPECT_NO_THROW(await(std::move(leaving)));
  EXPECT_EQ(client.meetingState(), "left-meeting");
  try {
    await(std::move(joining));
    ADD_FAILURE() << "join resolved after leave()";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::ConnectionLost);
  }
}

TEST_F(CallClientTest, TelephonyNeedsOwnerOrAdminAndSendsNothingOtherwise) {
  const json room = server.createRoom();
  CallClient plain;
  await(plain.join({.url = room["url"]}));
  Error e = expectError([&] { await(plain.sipRefer({"some-session", "sip:support@127.0.0.1"})); });
  EXPECT_EQ(e.code(), ErrorCode::PermissionDenied);
  EXPECT_EQ(expectError([&] { await(plain.startDialOut({.sipUri = "sip:x@127.0.0.1"})); }).code(),
            ErrorCode::PermissionDenied);
  // Argument checks come before the permission check, and neither sends anything.
  EXPECT_EQ(expectError([&] { await(plain.sipRefer({"s", "sip:a@b\r\nX: y"})); }).code(), ErrorCode::InvalidArgument);
  EXPECT_EQ(expectError([&] { await(plain.sipRefer({"", "sip:a@b"})); }).code(), ErrorCode::InvalidArgument);
}

TEST_F(CallClientTest, HandlersMayCallLeaveAndTheClientItselfWithoutDeadlock) {
  const json room = server.createRoom();
  CallClient watcher, visitor;
  std::promise<void> leftFromHandler;
  watcher.once("participant-joined", [&](const Event&) {
    // Blocking on a future inside a handler is allowed: futures complete on the network thread.
    watcher.leave().get();
    EXPECT_EQ(watcher.meetingState(), "left-meeting");
    leftFromHandler.set_value();
  });
  await(watcher.join({.url = room["url"]}));
  await(visitor.join({.url = room["url"]}));
  EXPECT_EQ(leftFromHandler.get_future().wait_for(10s), std::future_status::ready);
}

TEST_F(CallClientTest, AClientDestroyedFromItsOwnHandler) {
  const json room = server.createRoom();
  auto doomed = std::make_unique<CallClient>();
  std::promise<void> destroyed;
  doomed->on("participant-joined", [&](const Event&) {
    doomed.reset();
    destroyed.set_value();
  });
  await(doomed->join({.url = room["url"]}));
  CallClient visitor;
  EventRecorder events(visitor);
  await(visitor.join({.url = room["url"]}));
  EXPECT_EQ(destroyed.get_future().wait_for(10s), std::future_status::ready);
  EXPECT_TRUE(events.waitFor("participant-left"));  // the destroyed client left the room
}

TEST_F(CallClientTest, OffMeansTheHandlerNeverRunsAgain) {
  const json room = server.createRoom();
  CallClient watcher;
  await(watcher.join({.url = room["url"]}));
  std::atomic<int> calls{0};
  std::atomic<bool> removed{false};
  std::atomic<bool> ranAfterOff{false};
  const ListenerId id = watcher.on("participant-joined", [&](const Event&) {
    if (removed) ranAfterOff = true;
    ++calls;
  });
  std::vector<std::unique_ptr<CallClient>> visitors;
  for (int i = 0; i < 5; ++i) {
    visitors.push_back(std::make_unique<CallClient>());
    auto f = visitors.back()->join({.url = room["url"]});
    if (i == 2) {
      watcher.off(id);
      removed = true;
    }
    await(std::move(f));
  }
  EventRecorder events(watcher);
  CallClient last;
  await(last.join({.url = room["url"]}));
  ASSERT_TRUE(events.waitFor("participant-joined"));
  EXPECT_FALSE(ranAfterOff);
  EXPECT_LE(calls.load(), 3);
}

TEST_F(CallClientTest, ListenersAddedAndRemovedWhileEventsStreamNeverRunAfterOff) {
  const json room = server.createRoom();
  CallClient watcher;
  await(watcher.join({.url = room["url"]}));
  std::atomic<int> violations{0}, calls{0};
  std::atomic<bool> done{false};
  std::thread churn([&] {
    while (!done) {
      auto alive = std::make_shared<std::atomic<bool>>(true);
      const ListenerId id = watcher.on("*", [alive, &violations, &calls](const Event&) {
        ++calls;
        if (!*alive) ++violations;  // ran after off() returned
      });
      // Long enough for an event to find it now and then on a loaded machine (a yield alone once saw none).
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      watcher.off(id);
      *alive = false;
    }
  });
  for (int i = 0; i < 30; ++i) {
    CallClient visitor;
    await(visitor.join({.url = room["url"]}));
    await(visitor.leave());
  }
  done = true;
  churn.join();
  EXPECT_EQ(violations.load(), 0);
  EXPECT_GT(calls.load(), 0);  // the churning listeners did see events
}

TEST_F(CallClientTest, DestroyingAJoinedClientIsPromptAndLeavesTheRoom) {
  const json room = server.createRoom();
  CallClient watcher;
  EventRecorder events(watcher);
  await(watcher.join({.url = room["url"]}));
  auto client = std::make_unique<CallClient>();
  await(client->join({.url = room["url"]}));
  const auto start = std::chrono::steady_clock::now();
  client.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_TRUE(events.waitFor("participant-left"));
}

// An ejected client knows it: before its handler runs, the meeting state is "error" and participants() is
// empty (as daily-js's runtime has it), nothing reconnects, and what it asks next is NotJoined.
TEST_F(CallClientTest, DeletingTheRoomEjectsItsClients) {
  const json room = server.createRoom({{"name", "short-lived"}});
  CallClient client;
  CallClient other;
  std::mutex mu;
  std::string stateInHandler;
  json participantsInHandler;
  client.on("error", [&](const Event&) {  // added before the recorder's: it has run when the recorder sees the event
    std::lock_guard<std::mutex> lock(mu);
    stateInHandler = client.meetingState();
    participantsInHandler = client.participants();
  });
  EventRecorder events(client);
  await(client.join({.url = room["url"]}));
  await(other.join({.url = room["url"]}));
  ASSERT_TRUE(events.waitFor("participant-joined"));
  EXPECT_EQ(server.rest("DELETE", "/v1/rooms/short-lived").status, 200);
  auto err = events.waitFor("error");
  ASSERT_TRUE(err);
  EXPECT_EQ(err->payload["error"]["type"], "ejected");
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(stateInHandler, "error");
    EXPECT_EQ(participantsInHandler, json::object());
  }
  EXPECT_EQ(client.meetingState(), "error");
  EXPECT_FALSE(events.waitFor("network-connection", {}, 1s)) << "an ejected client tried to reconnect";
  EXPECT_EQ(expectError([&] { await(client.sipRefer({"s", "sip:a@127.0.0.1"})); }).code(), ErrorCode::NotJoined);
  EXPECT_NO_THROW(await(client.leave()));
  EXPECT_FALSE(events.seen("left-meeting"));
}

// daily-js's sendAppMessage and app-message: to everyone else, to one session, to several; no permission needed;
// data over 4 KB refused before it is sent; a recipient who is not there is no error.
// daily-js's setUserName, setUserData and join's userData: the others see the change as participant-updated, and
// so does the client itself, for its local participant; participants() and a rejoin carry it; limits hold.
TEST_F(CallClientTest, SetUserNameAndUserDataReachTheOthersAndTheLocalParticipant) {
  const json room = server.createRoom();
  CallClient a, b;
  EXPECT_EQ(expectError([&] { await(a.setUserName("early")); }).code(), ErrorCode::NotJoined);
  EventRecorder inA(a), inB(b);
  const json pa = await(a.join({.url = room["url"], .userName = "alpha", .userData = {{"tier", "gold"}}}));
  EXPECT_EQ(pa["local"]["userData"], json({{"tier", "gold"}}));
  const json pb = await(b.join({.url = room["url"], .userName = "beta"}));
  const std::string aId = pa["local"]["session_id"];
  EXPECT_EQ(pb[aId]["userData"], json({{"tier", "gold"}}));  // carried to the others (join resolves with participants())
  EXPECT_FALSE(pb["local"].contains("userData"));

  EXPECT_NO_THROW(await(a.setUserName("alpha prime")));
  auto seen = inB.waitFor("participant-updated", [](const Event& e) { return e.payload["participant"]["user_name"] == "alpha prime"; });
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->payload["participant"]["session_id"], aId);
  EXPECT_EQ(seen->payload["participant"]["local"], false);
  auto own = inA.waitFor("participant-updated");
  ASSERT_TRUE(own);
  EXPECT_EQ(own->payload["participant"]["local"], true);
  EXPECT_EQ(own->payload["participant"]["user_name"], "alpha prime");
  EXPECT_EQ(a.participants()["local"]["user_name"], "alpha prime");
  EXPECT_EQ(a.participants().size(), 2u) << "the client took its own update for a remote participant";

  EXPECT_NO_THROW(await(a.setUserData(json::array({1, 2, 3}))));
  ASSERT_TRUE(inB.waitFor("participant-updated", [](const Event& e) { return e.payload["participant"]["userData"] == json::array({1, 2, 3}); }));
  EXPECT_EQ(b.participants()[aId]["userData"], json::array({1, 2, 3}));
  EXPECT_EQ(a.participants()["local"]["userData"], json::array({1, 2, 3}));

  // The limits, on the client and (for a client that skipped them) on the server.
  EXPECT_EQ(expectError([&] { await(a.setUserName(std::string(257, 'x'))); }).code(), ErrorCode::InvalidArgument);
  EXPECT_EQ(expectError([&] { await(a.setUserData(std::string(5000, 'x'))); }).code(), ErrorCode::InvalidArgument);
  CallClient c;
  EXPECT_EQ(expectError([&] { await(c.join({.url = room["url"], .userData = std::string(5000, 'x')})); }).code(),
            ErrorCode::InvalidArgument);
  EXPECT_EQ(inB.count("participant-updated"), 2u);  // one per change, none for refusals
}

// daily-js's updateParticipant: an owner ejects a client (it is out, with the fatal error "ejected", before its
// handler runs) and grants another the participants admin permission, which that one can then use; what daily-cpp
// does not support is refused by name, and the server checks the caller's rights itself.
TEST_F(CallClientTest, AnOwnerEjectsAParticipantAndMakesAnotherAnAdmin) {
  const json room = server.createRoom();
  CallClient owner, guest, helper;
  EventRecorder inOwner(owner), inGuest(guest), inHelper(helper);
  await(owner.join({.url = room["url"], .token = server.token({{"is_owner", true}}), .userName = "owner"}));
  const json g = await(guest.join({.url = room["url"], .userName = "guest"}));
  const json h = await(helper.join({.url = room["url"], .userName = "helper"}));
  const std::string guestId = g["local"]["session_id"], helperId = h["local"]["session_id"];

  // Refused before anything is sent, or by the server.
  const auto code = [](std::future<void> f) { return expectError([&] { await(std::move(f)); }).code(); };
  EXPECT_EQ(code(owner.updateParticipant(guestId, {{"setAudio", false}})), ErrorCode::InvalidArgument);
  EXPECT_EQ(code(owner.updateParticipant(guestId, {{"eject", false}})), ErrorCode::InvalidArgument);
  EXPECT_EQ(code(owner.updateParticipant(guestId, {{"updatePermissions", {{"canSend", false}}}})), ErrorCode::InvalidArgument);
  EXPECT_EQ(code(owner.updateParticipant("local", {{"eject", true}})), ErrorCode::InvalidArgument);
  EXPECT_EQ(code(owner.updateParticipant("no-such-session", {{"eject", true}})), ErrorCode::NotFound);
  EXPECT_EQ(code(helper.updateParticipant(guestId, {{"eject", true}})), ErrorCode::PermissionDenied);

  // The owner makes the helper a participants admin: the helper's own participant says so, and so do the others'.
  EXPECT_NO_THROW(await(owner.updateParticipant(helperId, {{"updatePermissions", {{"canAdmin", {"participants"}}}}})));
  const auto isAdmin = [](const Event& e) {
    return e.payload["participant"]["permissions"]["canAdmin"] == json::array({"participants"});
  };
  auto own = inHelper.waitFor("participant-updated", isAdmin);
  ASSERT_TRUE(own);
  EXPECT_EQ(own->payload["participant"]["local"], true);
  EXPECT_EQ(helper.participants()["local"]["permissions"]["canAdmin"], json::array({"participants"}));
  EXPECT_EQ(helper.participants().size(), 3u);
  ASSERT_TRUE(inGuest.waitFor("participant-updated", isAdmin));
  // Hidden, as far as the others count (and the helper itself does).
  EXPECT_NO_THROW(await(owner.updateParticipant(helperId, {{"updatePermissions", {{"hasPresence", false}}}})));
  EXPECT_TRUE(eventually([&] { return helper.participantCounts() == json({{"present", 2}, {"hidden", 1}}); }))
      << helper.participantCounts();
  EXPECT_TRUE(inHelper.waitFor("participant-counts-updated",
                               [](const Event& e) { return e.payload["participantCounts"]["hidden"] == 1; }));
  EXPECT_TRUE(eventually([&] { return owner.participantCounts() == json({{"present", 2}, {"hidden", 1}}); }))
      << owner.participantCounts();

  // The helper, now an admin, ejects the guest.
  std::mutex mu;
  std::string stateInHandler;
  guest.on("error", [&](const Event&) {
    std::lock_guard<std::mutex> lock(mu);
    stateInHandler = guest.meetingState();
  });
  EXPECT_NO_THROW(await(helper.updateParticipants({{guestId, {{"eject", true}}}})));
  auto ejected = inGuest.waitFor("error");
  ASSERT_TRUE(ejected);
  EXPECT_EQ(ejected->payload["error"]["type"], "ejected");
  EXPECT_TRUE(eventually([&] {
    std::lock_guard<std::mutex> lock(mu);
    return stateInHandler == "error";
  }));
  EXPECT_EQ(guest.meetingState(), "error");
  EXPECT_EQ(guest.participants(), json::object());
  auto left = inOwner.waitFor("participant-left", [&](const Event& e) { return e.payload["participant"]["session_id"] == guestId; });
  ASSERT_TRUE(left);
  EXPECT_FALSE(owner.participants().contains(guestId));
  EXPECT_FALSE(inGuest.waitFor("network-connection", {}, 500ms)) << "an ejected client tried to reconnect";
}

TEST_F(CallClientTest, AppMessagesReachEveryoneElseOrTheSessionsNamed) {
  const json room = server.createRoom();
  CallClient a, b, c;
  EXPECT_EQ(expectError([&] { await(a.sendAppMessage({{"early", true}})); }).code(), ErrorCode::NotJoined);
  EventRecorder inA(a), inB(b), inC(c);
  const json pa = await(a.join({.url = room["url"]}));  // no token: not an owner, and still allowed
  const json pb = await(b.join({.url = room["url"]}));
  const json pc = await(c.join({.url = room["url"]}));
  const std::string aId = pa["local"]["session_id"], bId = pb["local"]["session_id"], cId = pc["local"]["session_id"];
  auto messageFrom = [](EventRecorder& in, const json& data) {
    return in.waitFor("app-message", [&](const Event& e) { return e.payload["data"] == data; }, 5s);
  };
  EXPECT_NO_THROW(await(a.sendAppMessage({{"text", "hello"}})));
  for (EventRecorder* in : {&inB, &inC}) {
    auto got = messageFrom(*in, {{"text", "hello"}});
    ASSERT_TRUE(got);
    EXPECT_EQ(got->payload["fromId"], aId);  // DailyEventObjectAppMessage: {action, data, fromId}
    EXPECT_EQ(got->payload["action"], "app-message");
  }
  EXPECT_NO_THROW(await(a.sendAppMessage("to b only", bId)));
  EXPECT_NO_THROW(await(a.sendAppMessage(json::array({1, 2}), std::vector<std::string>{bId, cId})));
  EXPECT_NO_THROW(await(c.sendAppMessage("nobody", "no-such-session")));
  ASSERT_TRUE(messageFrom(inB, "to b only"));
  ASSERT_TRUE(messageFrom(inB, json::array({1, 2})));
  ASSERT_TRUE(messageFrom(inC, json::array({1, 2})));
  // Everything sent has arrived where it was going (messages from one sender keep their order): so by now
  // anything misdirected would have too.
  EXPECT_NO_THROW(await(a.sendAppMessage("last")));
  ASSERT_TRUE(messageFrom(inC, "last"));
  for (const auto& e : inC.all()) {
    EXPECT_FALSE(e.action == "app-message" && e.payload["data"] == "to b only") << "c got b's message";
  }
  EXPECT_FALSE(inA.seen("app-message")) << "a broadcast came back to its sender";
  EXPECT_EQ(expectError([&] { await(a.sendAppMessage(std::string(5000, 'x'))); }).code(), ErrorCode::InvalidArgument);
  EXPECT_EQ(expectError([&] { await(a.sendAppMessage(1, "")); }).code(), ErrorCode::InvalidArgument);
  EXPECT_EQ(expectError([&] { await(a.sendAppMessage("\xff", bId)); }).code(), ErrorCode::InvalidArgument);
}

// daily-js's participantCounts() and participant-counts-updated: the local participant counts, a change fires the
// event with the new counts, and leaving brings them to zero.
TEST_F(CallClientTest, ParticipantCountsFollowTheRoom) {
  const json room = server.createRoom();
  CallClient a;
  EXPECT_EQ(a.participantCounts(), json({{"present", 0}, {"hidden", 0}}));
  EventRecorder events(a);
  await(a.join({.url = room["url"]}));
  EXPECT_EQ(a.participantCounts(), json({{"present", 1}, {"hidden", 0}}));
  auto counted = [&](int present) {
    return events.waitFor("participant-counts-updated", [&](const Event& e) {
      return e.payload["participantCounts"] == json({{"present", present}, {"hidden", 0}});
    });
  };
  ASSERT_TRUE(counted(1));  // the join's own
  {
    CallClient b;
    await(b.join({.url = room["url"]}));
    ASSERT_TRUE(counted(2));
    EXPECT_EQ(a.participantCounts(), json({{"present", 2}, {"hidden", 0}}));
  }
  ASSERT_TRUE(events.waitFor("participant-left"));
  EXPECT_EQ(a.participantCounts(), json({{"present", 1}, {"hidden", 0}}));
  // The drop back to 1 is the third counts event, and nothing else was announced.
  ASSERT_TRUE(eventually([&] { return events.count("participant-counts-updated") >= 3; }));
  std::vector<json> announced;
  for (const auto& e : events.all())
    if (e.action == "participant-counts-updated") announced.push_back(e.payload["participantCounts"]["present"]);
  EXPECT_EQ(announced, (std::vector<json>{1, 2, 1}));
  await(a.leave());
  EXPECT_EQ(a.participantCounts(), json({{"present", 0}, {"hidden", 0}}));
}

TEST(CallClientFaults, NothingListeningIsConnectionLost) {
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  const int port = acceptor.local_endpoint().port();
  acceptor.close();  // the port is now free and (almost certainly) unused
  CallClient client;
  EventRecorder events(client);
  Error e = expectError([&] { await(client.join({.url = "http://127.0.0.1:" + std::to_string(port) + "/room"})); });
  EXPECT_EQ(e.code(), ErrorCode::ConnectionLost);
  EXPECT_EQ(e.errorType(), "connection-error");
  EXPECT_EQ(client.meetingState(), "error");
  auto error = events.waitFor("error");
  ASSERT_TRUE(error);
  EXPECT_EQ(error->payload["error"]["type"], "connection-error");
  EXPECT_EQ(error->payload["error"]["details"]["on"], "join");  // DailyFatalConnectionError's details
  EXPECT_TRUE(error->payload["error"]["details"]["sourceError"].is_object());
}

TEST(CallClientFaults, AServerThatAcceptsAndHangsUpMidJoinIsConnectionLost) {
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  const int port = acceptor.local_endpoint().port();
  std::thread peer([&] {
    asio::ip::tcp::socket s(io);
    acceptor.accept(s);
    char buf[512];
    asio::error_code ec;
    s.read_some(asio::buffer(buf), ec);  // the websocket handshake arrives; we hang up instead of answering
    s.close();
  });
  CallClient client;
  Error e = expectError([&] { await(client.join({.url = "http://127.0.0.1:" + std::to_string(port) + "/room"})); });
  peer.join();
  EXPECT_EQ(e.code(), ErrorCode::ConnectionLost);
}

TEST(CallClientFaults, DevserverKilledWhileJoinedWithReconnectOff) {
  ChildServer server;
  const json room = server.createRoom();
  CallClient client(CallClientOptions{.reconnect = false});
  EventRecorder events(client);
  await(client.join({.url = room["url"]}));
  server.kill();
  auto err = events.waitFor("error");
  ASSERT_TRUE(err);
  EXPECT_EQ(err->payload["error"]["type"], "connection-error");
  EXPECT_FALSE(events.seen("network-connection"));  // no reconnection was tried
  EXPECT_EQ(client.meetingState(), "error");
  EXPECT_NO_THROW(await(client.leave()));  // no meeting: daily-js's leave() does nothing, and so does ours
  EXPECT_EQ(client.meetingState(), "error");
  EXPECT_FALSE(events.seen("left-meeting"));
  EXPECT_EQ(expectError([&] { await(client.sipRefer({"s", "sip:a@127.0.0.1"})); }).code(), ErrorCode::NotJoined);
}

}  // namespace
}  // namespace daily::test
