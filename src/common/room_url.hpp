#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace daily::detail {

/// A room URL as the REST API returns it ("http(s)://host[:port]/room-name"), and the signaling websocket
/// endpoint derived from it ("ws(s)://host[:port]/ws").
struct RoomUrl {
  bool secure = false;
  std::string host;
  std::string port;  // empty = the scheme's default
  std::string roomName;
  std::string signalingUrl;
};

/// Parses a room URL; nullopt (with *why) for anything that is not one.
std::optional<RoomUrl> parseRoomUrl(std::string_view url, std::string* why);

/// Whether name is a valid room name: 1-128 of [A-Za-z0-9_-], as Daily's.
bool isValidRoomName(std::string_view name);

}  // namespace daily::detail
