#include "rest.hpp"

#include "common/log.hpp"

#include <openssl/crypto.h>

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

}  // namespace

HttpResponse handleRest(Hub& hub, const HttpRequest& req) {
  const auto parts = splitPath(req.path);
  if (parts.empty() || parts[0] != "v1") return error(404, "not-found", "no such endpoint: " + req.path);
  if (!authorized(hub, req.authorization))
    return error(401, "authentication-error", "missing or invalid API key (Authorization: Bearer <key>)");
  json body;
  if (!parseBody(req.body, body)) return error(400, "invalid-request-error", "the body must be a JSON object");
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
  return error(404, "not-found", "no such endpoint: " + m + " " + req.path);
}

}  // namespace daily::devserver
