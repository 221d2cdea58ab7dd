// daily: Daily's REST API from the shell, against api.daily.co or a daily-devserver.
//
//   daily --api-url http://127.0.0.1:4000/v1 --api-key secret rooms create --name support --sip-dial-in
//   daily sip-refer --room support --session 6f0c... --to sip:agent@example.com
//
// Exit status: 0 done; 1 the API refused (the message says why); 2 bad usage; 3 the API could not be reached or
// did not answer in time.

#include <daily/daily.hpp>

#include <CLI/CLI.hpp>

#include <cstdlib>
#include <iostream>

namespace {

using nlohmann::json;

struct Globals {
  std::string apiUrl;
  std::string apiKey;
  bool json = false;
  bool insecure = false;
};

daily::RestClient client(const Globals& g) {
  daily::RestClientOptions o;
  o.baseUrl = g.apiUrl;
  o.apiKey = g.apiKey;
  o.verifyTls = !g.insecure;
  return daily::RestClient(o);
}

void printRoom(const Globals& g, const daily::Room& r) {
  if (g.json) {
    std::cout << r.raw.dump(2) << "\n";
    return;
  }
  std::cout << r.name << "  " << r.url << "  (" << r.privacy << ")";
  if (r.config.contains("sip_uri")) std::cout << "  sip: " << r.config["sip_uri"].value("endpoint", "");
  std::cout << "\n";
}

void printWebhook(const Globals& g, const daily::Webhook& w) {
  if (g.json) {
    std::cout << w.raw.dump(2) << "\n";
    return;
  }
  std::cout << w.uuid << "  " << w.state << "  " << w.url << "  hmac " << w.hmac << "\n";
}

void ok(const Globals& g, const std::string& what) {
  if (g.json) std::cout << json{{"ok", true}}.dump() << "\n";
  else std::cout << what << "\n";
}

json parseJsonOption(const std::string& text, const char* name) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw CLI::ValidationError(name, "must be a JSON object");
  return j;
}

}  // namespace

int main(int argc, char** argv) {
  Globals g;
  if (const char* url = std::getenv("DAILY_API_URL")) g.apiUrl = url;
  if (g.apiUrl.empty()) g.apiUrl = "https://api.daily.co/v1";

  CLI::App app{"daily: Daily's REST API from the shell (rooms, meeting tokens, transfers, dial-out, webhooks).\n"
               "Works against api.daily.co and against daily-devserver (--api-url http://127.0.0.1:PORT/v1)."};
  app.require_subcommand(1);
  app.add_option("--api-url", g.apiUrl, "API base URL (default: $DAILY_API_URL or https://api.daily.co/v1)");
  app.add_option("--api-key", g.apiKey, "API key (default: $DAILY_API_KEY)");
  app.add_flag("--json", g.json, "print the API's JSON answers");
  app.add_flag("--insecure", g.insecure, "do not verify TLS certificates (local testing only)");

  std::function<void()> action;

  // rooms
  auto* rooms = app.add_subcommand("rooms", "create, list, get and delete rooms");
  rooms->require_subcommand(1);
  std::string roomName, privacy, properties;
  bool dialIn = false;
  auto* roomsCreate = rooms->add_subcommand("create", "create a room");
  roomsCreate->add_option("--name", roomName, "the room's name (default: the server picks one)");
  roomsCreate->add_option("--privacy", privacy, "public or private")->check(CLI::IsMember({"public", "private"}));
  roomsCreate->add_option("--properties", properties, "room properties as a JSON object");
  roomsCreate->add_flag("--sip-dial-in", dialIn, "give the room a SIP dial-in URI (properties.sip)");
  roomsCreate->callback([&] {
    action = [&] {
      daily::CreateRoomOptions o;
      if (!roomName.empty()) o.name = roomName;
      if (!privacy.empty()) o.privacy = privacy;
      if (!properties.empty()) o.properties = parseJsonOption(properties, "--properties");
      if (dialIn) o.properties["sip"] = {{"sip_mode", "dial-in"}, {"display_name", roomName.empty() ? "caller" : roomName}};
      printRoom(g, client(g).createRoom(o));
    };
  });
  rooms->add_subcommand("list", "list rooms")->callback([&] {
    action = [&] {
      const auto list = client(g).listRooms();
      if (g.json) {
        json data = json::array();
        for (const auto& r : list.data) data.push_back(r.raw);
        std::cout << json{{"total_count", list.totalCount}, {"data", data}}.dump(2) << "\n";
      } else {
        for (const auto& r : list.data) printRoom(g, r);
      }
    };
  });
  auto* roomsGet = rooms->add_subcommand("get", "show a room");
  roomsGet->add_option("name", roomName, "the room's name")->required();
  roomsGet->callback([&] { action = [&] { printRoom(g, client(g).getRoom(roomName)); }; });
  auto* roomsDelete = rooms->add_subcommand("delete", "delete a room (its participants are ejected)");
  roomsDelete->add_option("name", roomName, "the room's name")->required();
  roomsDelete->callback([&] { action = [&] { client(g).deleteRoom(roomName); ok(g, "deleted " + roomName); }; });

  // tokens
  auto* tokens = app.add_subcommand("tokens", "create and validate meeting tokens");
  tokens->require_subcommand(1);
  std::string tokenRoom, userName, userId, token;
  bool owner = false, admin = false;
  long long expiresIn = 0;
  auto* tokensCreate = tokens->add_subcommand("create", "create a meeting token; prints it");
  tokensCreate->add_option("--room", tokenRoom, "the room it is valid for (default: every room)");
  tokensCreate->add_flag("--owner", owner, "a meeting owner token (needed for telephony)");
  tokensCreate->add_flag("--admin", admin, "permissions.canAdmin = true");
  tokensCreate->add_option("--user-name", userName, "the user name participants see");
  tokensCreate->add_option("--user-id", userId, "the user id (at most 36 characters)");
  tokensCreate->add_option("--expires-in", expiresIn, "seconds until it expires (default: never)");
  tokensCreate->callback([&] {
    action = [&] {
      daily::MeetingTokenProperties p;
      if (!tokenRoom.empty()) p.roomName = tokenRoom;
      if (owner) p.isOwner = true;
      if (admin) p.canAdmin = true;
      if (!userName.empty()) p.userName = userName;
      if (!userId.empty()) p.userId = userId;
      if (expiresIn > 0)
        p.exp = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
                    .count() + expiresIn;
      const std::string t = client(g).createMeetingToken(p);
      if (g.json) std::cout << json{{"token", t}}.dump() << "\n";
      else std::cout << t << "\n";
    };
  });
  auto* tokensValidate = tokens->add_subcommand("validate", "check a token and print its properties");
  tokensValidate->add_option("token", token, "the meeting token")->required();
  tokensValidate->callback([&] { action = [&] { std::cout << client(g).validateMeetingToken(token).dump(2) << "\n"; }; });

  // transfers
  std::string room, session, to;
  std::map<std::string, std::string> headers;
  auto* refer = app.add_subcommand("sip-refer", "hand a SIP participant off with a SIP REFER (the gateway leaves)");
  refer->add_option("--room", room, "the room")->required();
  refer->add_option("--session", session, "the SIP participant's session_id")->required();
  std::string replaces;
  auto* referTo = refer->add_option("--to", to, "where to send it: sip:, sips: or tel: URI");
  auto* referReplaces = refer->add_option(
      "--replaces", replaces, "attended transfer: the session_id of another SIP participant to hand it to");
  referTo->excludes(referReplaces);
  refer->add_option("--header", headers, "an extra SIP header for the REFER: NAME VALUE (repeatable)");
  refer->callback([&] {
    if (to.empty() && replaces.empty()) throw CLI::RequiredError("--to or --replaces");
    action = [&] {
      client(g).sipRefer(room, {.sessionId = session, .toEndPoint = to, .sipHeaders = headers, .replacesSessionId = replaces});
      ok(g, "REFER accepted: " + session + " -> " + (replaces.empty() ? to : "the party of " + replaces));
    };
  });
  auto* transfer = app.add_subcommand("sip-call-transfer", "transfer a SIP participant with the gateway staying in the call");
  transfer->add_option("--room", room, "the room")->required();
  transfer->add_option("--session", session, "the SIP participant's session_id")->required();
  transfer->add_option("--to", to, "the SIP URI to connect it to")->required();
  transfer->callback([&] {
    action = [&] {
      client(g).sipCallTransfer(room, {.sessionId = session, .toEndPoint = to});
      ok(g, "transferred: " + session + " -> " + to);
    };
  });

  // dial-out
  auto* dialout = app.add_subcommand("dialout", "start, stop and send DTMF on dial-out calls");
  dialout->require_subcommand(1);
  std::string sipUri, phone, displayName, tones;
  auto* dialStart = dialout->add_subcommand("start", "dial a SIP URI (or phone number) from a room; prints the session");
  dialStart->add_option("--room", room, "the room")->required();
  auto* uriOption = dialStart->add_option("--sip-uri", sipUri, "the SIP URI to call");
  dialStart->add_option("--phone", phone, "an E.164 number to call")->excludes(uriOption);
  dialStart->add_option("--display-name", displayName, "the name the room shows for the callee");
  dialStart->add_option("--user-id", userId, "the callee's user id");
  dialStart->callback([&] {
    action = [&] {
      const auto s = client(g).startDialOut(
          room, {.sipUri = sipUri, .phoneNumber = phone, .displayName = displayName, .userId = userId});
      if (g.json) std::cout << json{{"sessionId", s.sessionId}}.dump() << "\n";
      else std::cout << s.sessionId << "\n";
    };
  });
  auto* dialStop = dialout->add_subcommand("stop", "hang up a dial-out call");
  dialStop->add_option("--room", room, "the room")->required();
  dialStop->add_option("--session", session, "the dial-out session")->required();
  dialStop->callback([&] { action = [&] { client(g).stopDialOut(room, {.sessionId = session}); ok(g, "stopped " + session); }; });
  auto* dtmf = dialout->add_subcommand("dtmf", "send DTMF tones to a SIP participant");
  dtmf->add_option("--room", room, "the room")->required();
  dtmf->add_option("--session", session, "the SIP participant")->required();
  dtmf->add_option("--tones", tones, "0-9, *, #, A-D")->required();
  dtmf->callback([&] {
    action = [&] { client(g).sendDtmf(room, {.sessionId = session, .tones = tones}); ok(g, "sent " + tones); };
  });

  // webhooks
  auto* webhooks = app.add_subcommand("webhooks", "create, list, get, update and delete webhooks");
  webhooks->require_subcommand(1);
  std::string url, hmac, retryType, uuid;
  std::vector<std::string> eventTypes;
  auto addWebhookOptions = [&](CLI::App* cmd, bool urlRequired) {
    auto* u = cmd->add_option("--url", url, "where deliveries are POSTed");
    if (urlRequired) u->required();
    cmd->add_option("--event-type", eventTypes, "an event type to receive (repeatable; default: all)");
    cmd->add_option("--hmac", hmac, "the BASE-64 signing secret (default: the server picks one)");
    cmd->add_option("--retry-type", retryType, "circuit-breaker or exponential")
        ->check(CLI::IsMember({"circuit-breaker", "exponential"}));
  };
  auto webhookOptions = [&] {
    daily::WebhookOptions o{.url = url, .eventTypes = eventTypes, .hmac = hmac};
    if (!retryType.empty()) o.retryType = retryType;
    return o;
  };
  auto* whCreate = webhooks->add_subcommand("create", "create a webhook (the server first POSTs a test to --url)");
  addWebhookOptions(whCreate, true);
  whCreate->callback([&] { action = [&] { printWebhook(g, client(g).createWebhook(webhookOptions())); }; });
  webhooks->add_subcommand("list", "list webhooks")->callback([&] {
    action = [&] {
      for (const auto& w : client(g).listWebhooks()) printWebhook(g, w);
    };
  });
  auto* whGet = webhooks->add_subcommand("get", "show a webhook");
  whGet->add_option("uuid", uuid, "the webhook's uuid")->required();
  whGet->callback([&] { action = [&] { printWebhook(g, client(g).getWebhook(uuid)); }; });
  auto* whUpdate = webhooks->add_subcommand("update", "change a webhook (a FAILED one becomes ACTIVE again)");
  whUpdate->add_option("uuid", uuid, "the webhook's uuid")->required();
  addWebhookOptions(whUpdate, false);
  whUpdate->callback([&] { action = [&] { printWebhook(g, client(g).updateWebhook(uuid, webhookOptions())); }; });
  auto* whDelete = webhooks->add_subcommand("delete", "delete a webhook");
  whDelete->add_option("uuid", uuid, "the webhook's uuid")->required();
  whDelete->callback([&] { action = [&] { client(g).deleteWebhook(uuid); ok(g, "deleted " + uuid); }; });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;  // --help is not an error; every usage error is 2
  }
  try {
    action();
    return 0;
  } catch (const CLI::ValidationError& e) {
    std::cerr << "daily: " << e.what() << "\n";
    return 2;
  } catch (const daily::Error& e) {
    std::cerr << "daily: " << e.what() << "\n";
    const auto code = e.code();
    return code == daily::ErrorCode::ConnectionLost || code == daily::ErrorCode::Timeout ? 3 : 1;
  }
}
