#include "rest.hpp"

#include "common/log.hpp"
#include "telephony.hpp"

#include <openssl/crypto.h>

#include <map>
#include <vector>

namespace daily::devserver {
namespace {

using nlohmann::json;

HttpResponse error(int status, const char* kind, const std::string& info) {
  return {status, {{"error", kind}, {"info", info}}};
}

std::vector<std::string> splitPath(const std::string& path) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start < path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    if (end > start) parts.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

bool authorized(const Hub& hub, const std::string& header) {
  const std::string expected = "Bearer " + hub.config().apiKey;
  return header.size() == expected.size() && CRYPTO_memcmp(header.data(), expected.data(), expected.size()) == 0;
}

bool queryFlag(const std::string& query, const std::string& name) {
  return ("&" + query + "&").find("&" + name + "=true&") != std::string::npos;
}

// Parses a JSON body; an empty body is {}.
bool parseBody(const std::string& body, json& out) {
  if (body.empty()) {
    out = json::object();
    return true;
  }
  out = json::parse(body, nullptr, false);
  return !out.is_discarded() && out.is_object();
}

// A gateway answer as Daily's REST API gives one.
HttpResponse fromWire(const std::optional<protocol::WireError>& e, const json& result) {
  if (!e) return {200, result.empty() ? json{{"ok", true}} : result};
  switch (e->code) {
    case ErrorCode::InvalidArgument: return error(400, "invalid-request-error", e->message);
    case ErrorCode::NotFound: return error(404, "not-found", e->message);
    case ErrorCode::PermissionDenied: return error(403, "authorization-error", e->message);
    case ErrorCode::Timeout: return error(504, "timeout", e->message);
    case ErrorCode::SipRejected: {
      HttpResponse r = error(400, "sip-error", e->message);
      r.body["sipStatus"] = e->sipStatus;
      return r;
    }
    default: return error(500, "server-error", e->message);
  }
}

HttpResponse handleSync(RestContext& ctx, const HttpRequest& req, const json& body, bool* handled);

}  // namespace

void handleRest(RestContext& ctx, const HttpRequest& req, std::function<void(HttpResponse)> respond) {
  const auto parts = splitPath(req.path);
  if (parts.empty() || parts[0] != "v1") return respond(error(404, "not-found", "no such endpoint: " + req.path));
  if (!authorized(ctx.hub, req.authorization))
    return respond(error(401, "authentication-error", "missing or invalid API key (Authorization: Bearer <key>)"));
  json body;
  if (!parseBody(req.body, body)) return respond(error(400, "invalid-request-error", "the body must be a JSON object"));
  const std::size_t n = parts.size();
  const std::string& m = req.method;

  // Telephony on a room: answered when the gateway has its answer.
  if (n >= 4 && parts[1] == "rooms" && m == "POST") {
    static const std::map<std::string, std::string> kMethods{{"sipRefer", "sipRefer"},
                                                             {"sipCallTransfer", "sipCallTransfer"},
                                                             {"dialOut/start", "startDialOut"},
                                                             {"dialOut/stop", "stopDialOut"},
                                                             {"dialOut/sendDTMF", "sendDTMF"}};
    const std::string action = n == 4 ? parts[3] : (n == 5 ? parts[3] + "/" + parts[4] : "");
    if (auto method = kMethods.find(action); method != kMethods.end()) {
      if (!ctx.hub.findRoom(parts[2])) return respond(error(404, "not-found", "room " + parts[2] + " not found"));
      const bool dialOut = method->second == "startDialOut";
      auto reply = [respond, dialOut](const std::optional<protocol::WireError>& e, const json& result) {
        if (!e && dialOut) return respond({200, {{"ok", true}, {"sessionId", result["session"]["sessionId"]}}});
        respond(fromWire(e, result));
      };
      dispatchTelephony(ctx.gateway, parts[2], method->second, body, "sip:rest-api@" + ctx.hub.config().sipHost, reply);
      return;
    }
  }
  // Webhooks: creating one waits for the verification POST.
  if (n >= 2 && parts[1] == "webhooks") {
    auto done = [respond](int status, json answer) { respond({status, std::move(answer)}); };
    if (n == 2 && m == "POST") return ctx.webhooks.create(body, done);
    if (n == 2 && m == "GET") return respond({200, ctx.webhooks.list()});
    if (n == 3 && m == "POST") return ctx.webhooks.update(parts[2], body, done);
    if (n == 3 && m == "GET") {
      auto hook = ctx.webhooks.get(parts[2]);
      return respond(hook ? HttpResponse{200, *hook} : error(404, "not-found", "webhook " + parts[2] + " not found"));
    }
    if (n == 3 && m == "DELETE") {
      if (!ctx.webhooks.remove(parts[2])) return respond(error(404, "not-found", "webhook " + parts[2] + " not found"));
      return respond({200, {{"deleted", true}, {"uuid", parts[2]}}});
    }
  }
  bool handled = false;
  HttpResponse r = handleSync(ctx, req, body, &handled);
  if (!handled) r = error(404, "not-found", "no such endpoint: " + m + " " + req.path);
  respond(std::move(r));
}

namespace {

HttpResponse handleSync(RestContext& ctx, const HttpRequest& req, const json& body, bool* handled) {
  Hub& hub = ctx.hub;
  const auto parts = splitPath(req.path);
  *handled = true;
  const std::size_t n = parts.size();
  const std::string& m = req.method;

  if (n >= 2 && parts[1] == "rooms") {
    if (n == 2 && m == "POST") {
      std::string why;
      Room* room = hub.createRoom(body, &why);
      if (!room) return error(400, "invalid-request-error", why);
      return {200, hub.roomObject(*room)};
    }
    if (n == 2 && m == "GET") {
      json data = json::array();
      for (const auto& [name, room] : hub.rooms()) data.push_back(hub.roomObject(room));
      return {200, {{"total_count", data.size()}, {"data", std::move(data)}}};
    }
    if (n == 3) {
      Room* room = hub.findRoom(parts[2]);
      if (!room) return error(404, "not-found", "room " + parts[2] + " not found");
      if (m == "GET") return {200, hub.roomObject(*room)};
      if (m == "POST") {
        std::string why;
        if (!hub.updateRoom(*room, body, &why)) return error(400, "invalid-request-error", why);
        return {200, hub.roomObject(*room)};
      }
      if (m == "DELETE") {
        const std::string name = room->name;
        hub.deleteRoom(name);
        ctx.gateway.roomDeleted(name);  // and hang up its SIP legs
        return {200, {{"deleted", true}, {"name", name}}};
      }
    }
    if (n == 4 && parts[3] == "presence" && m == "GET") {
      Room* room = hub.findRoom(parts[2]);
      if (!room) return error(404, "not-found", "room " + parts[2] + " not found");
      json data = json::array();
      for (const auto& [id, member] : room->members)
        data.push_back({{"id", id}, {"userName", member.participant.value("user_name", "")},
                        {"userId", member.participant.value("user_id", "")},
                        {"joinTime", member.participant.value("joined_at", "")}});
      return {200, {{"total_count", data.size()}, {"data", std::move(data)}}};
    }
  }

  if (n >= 2 && parts[1] == "meeting-tokens") {
    if (n == 2 && m == "POST") {
      auto properties = body.find("properties");
      if (properties == body.end() || !properties->is_object())
        return error(400, "invalid-request-error", "body must be {\"properties\": {...}}");
      std::string why;
      auto token = hub.tokens().create(*properties, &why);
      if (!token) return error(400, "invalid-request-error", why);
      return {200, {{"token", *token}}};
    }
    if (n == 3 && m == "GET") {
      TokenError why;
      auto claims = hub.tokens().verify(parts[2], {}, queryFlag(req.query, "ignoreNbf"), &why);
      if (!claims) return error(400, "invalid-request-error", why.message);
      return {200, claims->toProperties()};
    }
  }
  *handled = false;
  return {};
}

}  // namespace
}  // namespace daily::devserver
