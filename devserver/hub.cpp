#include "hub.hpp"

#include "common/ids.hpp"
#include "common/log.hpp"
#include "common/protocol.hpp"
#include "common/room_url.hpp"

#include <ctime>

namespace daily::devserver {

using nlohmann::json;

std::string isoTimestamp(std::chrono::system_clock::time_point t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return buf;
}

bool Room::dialInEnabled() const {
  auto sip = properties.find("sip");
  return sip != properties.end() && sip->is_object() && sip->value("sip_mode", std::string()) == "dial-in";
}

bool Room::acceptsInboundRefer() const {
  auto sip = properties.find("sip");
  return !(sip != properties.end() && sip->is_object() && sip->value("accept_refer", true) == false);
}

Hub::Hub(HubConfig config) : config_(std::move(config)), tokens_(config_.apiKey, config_.domainId) {}

Room* Hub::findRoom(const std::string& name) {
  auto it = rooms_.find(name);
  return it == rooms_.end() ? nullptr : &it->second;
}

Room* Hub::findRoomBySipId(const std::string& sipId) {
  auto it = sipIds_.find(sipId);
  return it == sipIds_.end() ? nullptr : findRoom(it->second);
}

namespace {

// Checks the room properties the devserver acts on; others are kept as given.
bool checkProperties(const json& properties, std::string* why) {
  if (!properties.is_object()) return *why = "properties must be an object", false;
  auto sip = properties.find("sip");
  if (sip == properties.end()) return true;
  if (!sip->is_object()) return *why = "properties.sip must be an object", false;
  if (auto mode = sip->find("sip_mode"); mode != sip->end() && *mode != "dial-in")
    return *why = "properties.sip.sip_mode must be \"dial-in\"", false;
  if (auto name = sip->find("display_name"); name != sip->end()) {
    if (!name->is_string() || name->get_ref<const std::string&>().size() > 128)
      return *why = "properties.sip.display_name must be a string of at most 128 bytes", false;
  }
  if (auto video = sip->find("video"); video != sip->end() && !video->is_boolean())
    return *why = "properties.sip.video must be a boolean", false;
  if (auto accept = sip->find("accept_refer"); accept != sip->end() && !accept->is_boolean())
    return *why = "properties.sip.accept_refer must be a boolean", false;
  if (auto n = sip->find("num_endpoints"); n != sip->end() && (!n->is_number_integer() || *n < 1 || *n > 5))
    return *why = "properties.sip.num_endpoints must be 1 to 5", false;
  return true;
}

}  // namespace

Room* Hub::createRoom(const json& body, std::string* why) {
  if (!body.is_object()) return *why = "body must be a JSON object", nullptr;
  Room room;
  room.name = body.value("name", json()).is_string() ? body["name"].get<std::string>() : detail::randomHex(8);
  if (body.contains("name") && !body["name"].is_string()) return *why = "name must be a string", nullptr;
  if (!detail::isValidRoomName(room.name))
    return *why = "name must be 1-128 characters of A-Z, a-z, 0-9, '-' and '_'", nullptr;
  if (rooms_.count(room.name)) return *why = "a room named " + room.name + " already exists", nullptr;
  if (!updateRoom(room, body, why)) return nullptr;
  room.id = detail::newUuid();
  room.createdAt = unixNow();
  room.sipId = detail::randomHex(16);
  sipIds_[room.sipId] = room.name;
  auto [it, inserted] = rooms_.emplace(room.name, std::move(room));
  return &it->second;
}

bool Hub::updateRoom(Room& room, const json& body, std::string* why) {
  if (!body.is_object()) return *why = "body must be a JSON object", false;
  if (auto privacy = body.find("privacy"); privacy != body.end()) {
    if (*privacy != "public" && *privacy != "private")
      return *why = "privacy must be \"public\" or \"private\"", false;
    room.privacy = privacy->get<std::string>();
  }
  if (auto properties = body.find("properties"); properties != body.end()) {
    if (!checkProperties(*properties, why)) return false;
    json merged = room.properties;
    merged.merge_patch(*properties);
    room.properties = std::move(merged);
  }
  return true;
}

bool Hub::deleteRoom(const std::string& name) {
  auto it = rooms_.find(name);
  if (it == rooms_.end()) return false;
  Room room = std::move(it->second);
  rooms_.erase(it);
  sipIds_.erase(room.sipId);
  for (const auto& [id, m] : room.members) {
    sessionRooms_.erase(id);
    if (m.kind == MemberKind::Client && m.send)
      m.send(protocol::encodeEvent("error", {{"errorMsg", "the room was deleted"},
                                             {"error", {{"type", "ejected"}, {"msg", "the room was deleted"}}}}));
  }
  return true;
}

std::string Hub::sipEndpoint(const Room& room) const {
  return "sip:" + room.sipId + "@" + config_.sipHost + ":" + std::to_string(config_.sipPort);
}

std::string Hub::sipAddress(const Room& room) const {
  return "sip:" + room.name + "@" + config_.sipHost + ":" + std::to_string(config_.sipPort);
}

json Hub::roomObject(const Room& room) const {
  json config = room.properties;
  if (room.dialInEnabled()) config["sip_uri"] = {{"endpoint", sipEndpoint(room)}};
  return {{"id", room.id},
          {"name", room.name},
          {"api_created", true},
          {"privacy", room.privacy},
          {"url", config_.httpUrl + "/" + room.name},
          {"created_at", isoTimestamp(std::chrono::system_clock::time_point(std::chrono::seconds(room.createdAt)))},
          {"config", std::move(config)}};
}

json Hub::newParticipant(const std::string& sessionId, const std::string& userName, const std::string& userId,
                         bool owner, const json& canAdmin) {
  const json off{{"subscribed", false}, {"state", "off"}};
  return {{"session_id", sessionId},
          {"user_id", userId.empty() ? sessionId : userId},
          {"user_name", userName},
          {"local", false},
          {"owner", owner},
          {"record", false},
          {"joined_at", isoTimestamp()},
          {"will_eject_at", isoTimestamp(std::chrono::system_clock::time_point())},
          {"permissions",
           {{"hasPresence", true}, {"canSend", true}, {"canReceive", {{"base", true}}}, {"canAdmin", canAdmin}}},
          {"tracks", {{"audio", off}, {"video", off}, {"screenAudio", off}, {"screenVideo", off}}},
          // daily-js's deprecated fields, still required by its DailyParticipant (kept by withDeprecatedFields).
          {"audio", false},
          {"video", false},
          {"screen", false},
          {"cam_info", json::object()},
          {"screen_info", json::object()}};
}

void Hub::notify(const Room& room, const std::string& type, json payload) const {
  if (!wantsWebhook(type)) return;
  payload["room"] = room.name;
  if (!payload.contains("timestamp")) payload["timestamp"] = unixNow();
  webhookSink(type, std::move(payload));
}

namespace {

// daily-js's deprecated audio/video/screen booleans say what tracks.audio/video/screenVideo say: sending.
void withDeprecatedFields(json& participant) {
  const auto tracks = participant.find("tracks");
  const auto on = [&](const char* track) {
    if (tracks == participant.end() || !tracks->is_object()) return false;
    const auto t = tracks->find(track);
    if (t == tracks->end() || !t->is_object()) return false;
    const std::string state = t->value("state", "off");
    return state != "off" && state != "blocked";
  };
  participant["audio"] = on("audio");
  participant["video"] = on("video");
  participant["screen"] = on("screenVideo");
}

json participantWebhook(const json& p) {
  return {{"session_id", p.value("session_id", "")}, {"user_id", p.value("user_id", "")},
          {"user_name", p.value("user_name", "")},   {"owner", p.value("owner", false)},
          {"joined_at", p.value("joined_at", "")},   {"permissions", p.value("permissions", json::object())}};
}

template <class Wanted>
void sendToClients(const Room& room, const std::string& action, const json& payload, Wanted wanted) {
  std::string frame;  // encoded once, only if somebody receives it
  for (const auto& [id, m] : room.members) {
    if (m.kind != MemberKind::Client || !m.send || !wanted(id, m)) continue;
    if (frame.empty()) frame = protocol::encodeEvent(action, payload);
    m.send(frame);
  }
}

}  // namespace

void Hub::addMember(Room& room, const std::string& sessionId, Member member) {
  withDeprecatedFields(member.participant);
  const json participant = member.participant;
  if (wantsWebhook("participant.joined")) notify(room, "participant.joined", participantWebhook(participant));
  room.members[sessionId] = std::move(member);
  sessionRooms_[sessionId] = room.name;
  broadcast(room, "participant-joined", {{"participant", participant}}, sessionId);
  DAILY_LOG(Info, "hub", "room " << room.name << ": " << sessionId << " joined (" << room.members.size() << " present)");
}

void Hub::updateMember(Room& room, const std::string& sessionId, json participant) {
  auto it = room.members.find(sessionId);
  if (it == room.members.end()) return;
  withDeprecatedFields(participant);
  it->second.participant = std::move(participant);
  // (not to the participant itself: its client keeps its local participant, and would take this for a remote)
  broadcast(room, "participant-updated", {{"participant", it->second.participant}}, sessionId);
}

void Hub::setTrack(Room& room, const std::string& sessionId, const std::string& track, json state) {
  auto it = room.members.find(sessionId);
  if (it == room.members.end()) return;
  json& tracks = it->second.participant["tracks"];
  const auto old = tracks.find(track);
  if (state.is_null() ? old == tracks.end() : old != tracks.end() && *old == state) return;
  json updated = it->second.participant;
  if (state.is_null()) updated["tracks"].erase(track);
  else updated["tracks"][track] = std::move(state);
  updateMember(room, sessionId, std::move(updated));
}

json Hub::trackState(bool playable) {
  // What a daily-js receiver subscribed to everything (its default) sees of a remote track.
  if (playable) return {{"subscribed", true}, {"state", "playable"}};
  return {{"subscribed", true}, {"state", "off"}, {"off", {{"byUser", true}}}};
}

void Hub::removeMember(Room& room, const std::string& sessionId) {
  auto it = room.members.find(sessionId);
  if (it == room.members.end()) return;
  const json participant = it->second.participant;
  room.members.erase(it);
  sessionRooms_.erase(sessionId);
  broadcast(room, "participant-left", {{"participant", participant}});
  if (wantsWebhook("participant.left")) notify(room, "participant.left", participantWebhook(participant));
  DAILY_LOG(Info, "hub", "room " << room.name << ": " << sessionId << " left (" << room.members.size() << " present)");
}

void Hub::broadcast(const Room& room, const std::string& action, const json& payload, const std::string& except) const {
  sendToClients(room, action, payload, [&](const std::string& id, const Member&) { return id != except; });
}

void Hub::sendTo(const Room& room, const std::set<std::string>& sessionIds, const std::string& action,
                 const json& payload) const {
  sendToClients(room, action, payload, [&](const std::string& id, const Member&) { return sessionIds.count(id) != 0; });
}

void Hub::broadcastToOwnersAndAdmins(const Room& room, const std::string& action, const json& payload) const {
  sendToClients(room, action, payload, [](const std::string&, const Member& m) { return m.ownerOrAdmin; });
}

Room* Hub::roomOfSession(const std::string& sessionId) {
  auto it = sessionRooms_.find(sessionId);
  return it == sessionRooms_.end() ? nullptr : findRoom(it->second);
}

}  // namespace daily::devserver
