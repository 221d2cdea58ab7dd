// The daily command-line tool, run as a user runs it, against the devserver.

#include "devserver_fixture.hpp"
#include "events.hpp"
#include "process.hpp"

#include <gtest/gtest.h>

namespace daily::test {
namespace {

using nlohmann::json;

class CliTest : public ::testing::Test {
 protected:
  struct Run {
    int status;
    std::string output;
  };
  Run daily(std::vector<std::string> args, const std::string& key = kApiKey) {
    args.insert(args.begin(), {DAILY_CLI_PATH, "--api-url", server.httpUrl() + "/v1", "--api-key", key});
    const std::string log = dir + "/out-" + std::to_string(++runs);
    Process p(args, dir, log);
    const int status = p.wait(30s);
    return {status, readFile(log)};
  }

  InProcessServer server;
  std::string dir = tempDir("daily-cli");
  int runs = 0;
};

TEST_F(CliTest, RoomsCreateListGetDelete) {
  auto created = daily({"--json", "rooms", "create", "--name", "cli-room", "--sip-dial-in"});
  ASSERT_EQ(created.status, 0) << created.output;
  const json room = json::parse(created.output);
  EXPECT_EQ(room["name"], "cli-room");
  // The dial-in URI names an unguessable identifier, not the room.
  EXPECT_EQ(room["config"]["sip_uri"]["endpoint"],
            "sip:" + dialInUser(room) + "@" + server.sipHost() + ":" + std::to_string(server.sipPort()));
  EXPECT_EQ(dialInUser(room).find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(dialInUser(room).size(), 32u);
  auto listed = daily({"rooms", "list"});
  EXPECT_EQ(listed.status, 0);
  EXPECT_NE(listed.output.find("cli-room  " + server.httpUrl() + "/cli-room"), std::string::npos) << listed.output;
  EXPECT_EQ(daily({"rooms", "get", "cli-room"}).status, 0);
  EXPECT_EQ(daily({"rooms", "delete", "cli-room"}).status, 0);
  auto missing = daily({"rooms", "get", "cli-room"});
  EXPECT_EQ(missing.status, 1);
  EXPECT_NE(missing.output.find("not-found"), std::string::npos) << missing.output;
}

TEST_F(CliTest, TokensCreateAndValidate) {
  auto created = daily({"tokens", "create", "--room", "r", "--owner", "--user-name", "Bot", "--expires-in", "600"});
  ASSERT_EQ(created.status, 0) << created.output;
  const std::string token = created.output.substr(0, created.output.find('\n'));
  auto validated = daily({"tokens", "validate", token});
  ASSERT_EQ(validated.status, 0) << validated.output;
  const json props = json::parse(validated.output);
  EXPECT_EQ(props["room_name"], "r");
  EXPECT_EQ(props["is_owner"], true);
  EXPECT_EQ(daily({"tokens", "validate", "forged.token.here"}).status, 1);
}

TEST_F(CliTest, ErrorsHaveTheirOwnExitStatus) {
  auto denied = daily({"rooms", "list"}, "wrong-key");
  EXPECT_EQ(denied.status, 1);
  EXPECT_NE(denied.output.find("authentication-error"), std::string::npos) << denied.output;
  EXPECT_EQ(denied.output.find("wrong-key"), std::string::npos);  // the key is never printed
  EXPECT_EQ(daily({"rooms", "create", "--privacy", "secret"}).status, 2);            // usage
  EXPECT_EQ(daily({"sip-refer", "--room", "r", "--session", "s"}).status, 2);          // --to missing
  EXPECT_EQ(daily({"sip-refer", "--room", "nope", "--session", "s", "--to", "sip:a@127.0.0.1"}).status, 1);
  Process unreachable({DAILY_CLI_PATH, "--api-url", "http://127.0.0.1:9/v1", "--api-key", "k", "rooms", "list"}, dir,
                      dir + "/unreachable");
  EXPECT_EQ(unreachable.wait(30s), 3);
  Process help({DAILY_CLI_PATH, "--help"}, dir, dir + "/help");
  EXPECT_EQ(help.wait(10s), 0);
  for (const char* command : {"rooms", "tokens", "sip-refer", "sip-call-transfer", "dialout", "webhooks"})
    EXPECT_NE(readFile(dir + "/help").find(command), std::string::npos) << command;
}

TEST_F(CliTest, WebhooksAndDialOutErrors) {
  EXPECT_EQ(daily({"webhooks", "list"}).status, 0);
  EXPECT_EQ(daily({"webhooks", "create", "--url", "http://127.0.0.1:9/nobody"}).status, 1);  // verification fails
  server.createRoom({{"name", "d"}});
  auto phone = daily({"dialout", "start", "--room", "d", "--phone", "+14155550100"});
  EXPECT_EQ(phone.status, 1);
  EXPECT_NE(phone.output.find("PSTN"), std::string::npos) << phone.output;
  EXPECT_EQ(daily({"dialout", "stop", "--room", "d", "--session", "none"}).status, 1);
}

}  // namespace
}  // namespace daily::test
