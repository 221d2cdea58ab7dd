// RestClient against the devserver for every endpoint, and against a scripted HTTP responder for retries.

#include "devserver_fixture.hpp"
#include "events.hpp"
#include "http_responder.hpp"

#include <daily/daily.hpp>

#include <gtest/gtest.h>

#include <cstdlib>

namespace daily::test {
namespace {

using nlohmann::json;

RestClientOptions against(const std::string& httpUrl, const std::string& key = kApiKey) {
  RestClientOptions o;
  o.baseUrl = httpUrl + "/v1";
  o.apiKey = key;
  o.initialBackoff = std::chrono::milliseconds(10);
  return o;
}

class RestClientTest : public ::testing::Test {
 protected:
  InProcessServer server;
  RestClient rest{against(server.httpUrl())};
};

TEST_F(RestClientTest, RoomsCreateGetListUpdateDelete) {
  const Room created = rest.createRoom({.name = "front-desk", .privacy = "private",
                                        .properties = {{"sip", {{"sip_mode", "dial-in"}, {"display_name", "Desk"}}}}});
  EXPECT_EQ(created.name, "front-desk");
  EXPECT_EQ(created.privacy, "private");
  EXPECT_EQ(created.url, server.httpUrl() + "/front-desk");
  EXPECT_FALSE(created.id.empty());
  // The dial-in URI names an unguessable identifier (128 random bits), not the room.
  const std::string user = dialInUser(created.raw);
  EXPECT_EQ(user.size(), 32u);
  EXPECT_EQ(user.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(created.config["sip_uri"]["endpoint"],
            "sip:" + user + "@" + server.sipHost() + ":" + std::to_string(server.sipPort()));
  EXPECT_EQ(rest.getRoom("front-desk").id, created.id);
  const Room unnamed = rest.createRoom({.properties = {{"sip", {{"sip_mode", "dial-in"}}}}});
  EXPECT_FALSE(unnamed.name.empty());
  EXPECT_NE(dialInUser(unnamed.raw), user);  // each room its own
  const RoomList all = rest.listRooms();
  EXPECT_EQ(all.totalCount, 2u);
  EXPECT_EQ(all.data.size(), 2u);
  EXPECT_EQ(rest.updateRoom("front-desk", {.privacy = "public"}).privacy, "public");
  rest.deleteRoom("front-desk");
  Error gone = expectError([&] { rest.getRoom("front-desk"); });
  EXPECT_EQ(gone.code(), ErrorCode::NotFound);
  EXPECT_EQ(gone.httpStatus(), 404);
  EXPECT_EQ(gone.errorType(), "not-found");
}

TEST_F(RestClientTest, MeetingTokensCreateAndValidate) {
  const std::string token = rest.createMeetingToken(
      {.roomName = "r1", .isOwner = true, .userName = "Bot", .canAdmin = json::array({"participants"})});
  const json props = rest.validateMeetingToken(token);
  EXPECT_EQ(props["room_name"], "r1");
  EXPECT_EQ(props["is_owner"], true);
  EXPECT_EQ(props["user_name"], "Bot");
  EXPECT_EQ(props["permissions"]["canAdmin"], json::array({"participants"}));
  const auto later = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch()).count() + 3600;
  const std::string early = rest.createMeetingToken({.nbf = later});
  EXPECT_EQ(expectError([&] { rest.validateMeetingToken(early); }).code(), ErrorCode::InvalidArgument);
  EXPECT_NO_THROW(rest.validateMeetingToken(early, /*ignoreNbf=*/true));
  Error bad = expectError([&] { rest.validateMeetingToken("not.a.token"); });
  EXPECT_EQ(bad.httpStatus(), 400);
  EXPECT_EQ(expectError([&] { rest.createMeetingToken({.extra = {{"is_owner", "yes"}}}); }).code(), ErrorCode::InvalidArgument);
}

TEST_F(RestClientTest, AuthFailuresNotFoundAndMalformedBodies) {
  RestClient wrongKey(against(server.httpUrl(), "not-the-key"));
  Error denied = expectError([&] { wrongKey.listRooms(); });
  EXPECT_EQ(denied.code(), ErrorCode::PermissionDenied);
  EXPECT_EQ(denied.httpStatus(), 401);
  EXPECT_EQ(denied.errorType(), "authentication-error");
  EXPECT_EQ(std::string(denied.what()).find("not-the-key"), std::string::npos);  // never echo the key
  EXPECT_EQ(expectError([&] { rest.request("GET", "/no/such/endpoint"); }).code(), ErrorCode::NotFound);
  EXPECT_EQ(expectError([&] { rest.request("POST", "/rooms", "a string, not an object"); }).code(),
            ErrorCode::InvalidArgument);
  EXPECT_EQ(expectError([&] { rest.createRoom({.name = "bad name!"}); }).code(), ErrorCode::InvalidArgument);
  EXPECT_EQ(expectError([&] { rest.createRoom({.privacy = "secret"}); }).code(), ErrorCode::InvalidArgument);
  rest.createRoom({.name = "twice"});
  EXPECT_EQ(expectError([&] { rest.createRoom({.name = "twice"}); }).code(), ErrorCode::InvalidArgument);
  // Telephony through REST is checked like the call object's.
  EXPECT_EQ(expectError([&] { rest.sipRefer("twice", {.sessionId = "nobody", .toEndPoint = "sip:a@127.0.0.1"}); }).code(),
            ErrorCode::NotFound);
  EXPECT_EQ(expectError([&] { rest.sipRefer("twice", {.sessionId = "x", .toEndPoint = "sip:a@b\r\nVia: evil"}); }).code(),
            ErrorCode::InvalidArgument);
  EXPECT_EQ(expectError([&] { rest.sipRefer("no-room", {.sessionId = "x", .toEndPoint = "sip:a@127.0.0.1"}); }).code(),
            ErrorCode::NotFound);
}

TEST_F(RestClientTest, AsyncVariantsCompleteOnTheirOwn) {
  auto created = rest.createRoomAsync({.name = "async-room"});
  auto token = rest.createMeetingTokenAsync({.roomName = "async-room"});
  EXPECT_EQ(await(std::move(created)).name, "async-room");
  EXPECT_FALSE(await(std::move(token)).empty());
  EXPECT_EQ(await(rest.listRoomsAsync()).totalCount, 1u);
  EXPECT_EQ(expectError([&] { await(rest.getRoomAsync("missing")); }).code(), ErrorCode::NotFound);
  EXPECT_NO_THROW(await(rest.deleteRoomAsync("async-room")));
}

TEST(RestClientOptionsTest, TheApiKeyComesFromOptionsOrTheEnvironment) {
  InProcessServer server;
  ::unsetenv("DAILY_API_KEY");
  RestClientOptions none;
  none.baseUrl = server.httpUrl() + "/v1";
  EXPECT_EQ(expectError([&] { RestClient client(none); }).code(), ErrorCode::InvalidArgument);
  ::setenv("DAILY_API_KEY", kApiKey, 1);
  RestClient fromEnv(none);
  EXPECT_NO_THROW(fromEnv.listRooms());
  ::unsetenv("DAILY_API_KEY");
  RestClientOptions badUrl = against(server.httpUrl());
  badUrl.baseUrl = "ftp://example.com";
  EXPECT_EQ(expectError([&] { RestClient client(badUrl); }).code(), ErrorCode::InvalidArgument);
}

TEST(RestClientRetries, RetriesA429AndA503ThenSucceedsHonouringRetryAfter) {
  HttpResponder api;
  api.script({{429, R"({"error":"rate-limit-error","info":"slow down"})", {{"Retry-After", "1"}}},
              {503, R"({"error":"server-error"})"},
              {200, R"({"id":"1","name":"r","url":"http://x/r","privacy":"public"})"}});
  RestClient rest(against(api.url()));  // its own backoff starts at 10 ms
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(rest.createRoom({.name = "r"}).name, "r");
  EXPECT_GE(std::chrono::steady_clock::now() - start, 900ms);  // it waited the second Retry-After asked for
  const auto requests = api.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].headers.at("authorization"), std::string("Bearer ") + kApiKey);
  EXPECT_EQ(requests[2].target, "/v1/rooms");
  EXPECT_EQ(json::parse(requests[2].body)["name"], "r");
}

TEST(RestClientRetries, GivesUpAfterMaxRetriesWithTheLastStatus) {
  HttpResponder api;
  api.setDefault({503, R"({"error":"server-error","info":"down for maintenance"})"});
  RestClientOptions o = against(api.url());
  o.maxRetries = 2;
  RestClient rest(o);
  Error e = expectError([&] { rest.listRooms(); });
  EXPECT_EQ(e.code(), ErrorCode::ServerError);
  EXPECT_EQ(e.httpStatus(), 503);
  EXPECT_NE(std::string(e.what()).find("down for maintenance"), std::string::npos);
  EXPECT_EQ(api.requests().size(), 3u);  // the first try and two retries
}

TEST(RestClientRetries, APostIsNotRetriedAfterA500ThatMayHaveBeenProcessed) {
  HttpResponder api;
  api.setDefault({500, R"({"error":"server-error"})"});
  RestClient rest(against(api.url()));
  EXPECT_EQ(expectError([&] { rest.createRoom(); }).code(), ErrorCode::ServerError);
  EXPECT_EQ(api.requests().size(), 1u);
  EXPECT_EQ(expectError([&] { rest.listRooms(); }).code(), ErrorCode::ServerError);  // a GET is retried
  EXPECT_EQ(api.requests().size(), 5u);
}

TEST(RestClientRetries, ASilentServerTimesOut) {
  HttpResponder api;
  api.setDefault({.hang = true});
  RestClientOptions o = against(api.url());
  o.timeout = std::chrono::milliseconds(300);
  RestClient rest(o);
  EXPECT_EQ(expectError([&] { rest.listRooms(); }).code(), ErrorCode::Timeout);
  EXPECT_EQ(api.requests().size(), 1u);  // timeouts are not retried: the request may have been processed
}

TEST(RestClientRetries, NobodyListeningIsConnectionLost) {
  std::string url;
  {
    HttpResponder gone;
    url = gone.url();
  }
  RestClient rest(against(url));
  EXPECT_EQ(expectError([&] { rest.listRooms(); }).code(), ErrorCode::ConnectionLost);
}

}  // namespace
}  // namespace daily::test
