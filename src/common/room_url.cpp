#include "common/room_url.hpp"

#include "common/protocol.hpp"

#include <algorithm>
#include <cctype>

namespace daily::detail {

bool isValidRoomName(std::string_view name) {
  return !name.empty() && name.size() <= 128 && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
}

std::optional<RoomUrl> parseRoomUrl(std::string_view url, std::string* why) {
  auto fail = [&](const char* message) -> std::optional<RoomUrl> {
    if (why) *why = message;
    return std::nullopt;
  };
  RoomUrl r;
  std::string_view rest;
  if (url.rfind("https://", 0) == 0) {
    r.secure = true;
    rest = url.substr(8);
  } else if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else {
    return fail("room URL must start with http:// or https://");
  }
  const std::size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return fail("room URL has no room name (expected http(s)://host/room)");
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = rest.substr(slash + 1);
  if (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (authority.empty()) return fail("room URL has no host");
  if (authority.find('@') != std::string_view::npos) return fail("room URL must not carry credentials");
  std::string_view host = authority;
  if (authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return fail("room URL has a malformed IPv6 host");
    host = authority.substr(0, close + 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return fail("room URL has a malformed host");
      r.port = std::string(authority.substr(close + 2));
    }
  } else if (const std::size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    r.port = std::string(authority.substr(colon + 1));
  }
  if (host.empty()) return fail("room URL has no host");
  for (char c : host)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.' && c != '[' && c != ']' && c != ':')
      return fail("room URL host has an invalid character");
  if (!r.port.empty()) {
    if (r.port.size() > 5 || !std::all_of(r.port.begin(), r.port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        std::stoi(r.port) == 0 || std::stoi(r.port) > 65535)
      return fail("room URL has an invalid port");
  }
  if (!isValidRoomName(path)) return fail("room URL's path must be a room name (letters, digits, '-', '_')");
  r.host = std::string(host);
  r.roomName = std::string(path);
  r.signalingUrl = std::string(r.secure ? "wss://" : "ws://") + std::string(authority) +
                   std::string(protocol::kSignalingPath);
  return r;
}

}  // namespace daily::detail
