#pragma once

// The devserver's state: rooms, their members (websocket clients and SIP legs) and how events reach them.
// Everything here runs on the devserver's one io thread; nothing is locked.

#include "tokens.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>

namespace daily::devserver {

enum class MemberKind { Client, SipDialIn, SipDialOut };

struct Member {
  MemberKind kind = MemberKind::Client;
  nlohmann::json participant;                       // daily-js participant object (local: false)
  std::function<void(const std::string&)> send;     // Client: writes one frame to its websocket
  bool ownerOrAdmin = false;                        // Client: its token makes it an owner or admin
};

struct Room {
  std::string id;
  std::string name;
  std::string privacy = "public";
  nlohmann::json properties = nlohmann::json::object();  // Daily's "config"
  std::int64_t createdAt = 0;
  /// The user part of its dial-in URI: 32 random hex digits, not its name, so that a SIP probe cannot learn which
  /// rooms exist (Daily's dial-in URIs work this way too).
  std::string sipId;
  std::map<std::string, Member> members;                  // session_id -> member

  bool dialInEnabled() const;
  /// Whether a SIP peer of the room may transfer its call to the gateway (inbound REFER): properties.sip.accept_refer,
  /// true unless set false.
  bool acceptsInboundRefer() const;
};

struct HubConfig {
  std::string apiKey;
  std::string httpUrl;   // e.g. http://127.0.0.1:4000
  std::string sipHost;
  std::uint16_t sipPort = 0;
  std::string domainId;
};

class Hub {
 public:
  explicit Hub(HubConfig config);

  const HubConfig& config() const { return config_; }
  HubConfig& config() { return config_; }
  const TokenSigner& tokens() const { return tokens_; }

  Room* findRoom(const std::string& name);
  /// The room whose dial-in URI has this user part (Room::sipId); null when none has.
  Room* findRoomBySipId(const std::string& sipId);
  /// Creates a room from a REST body; nullopt with *why (400) or *conflict (a room of that name exists).
  Room* createRoom(const nlohmann::json& body, std::string* why);
  /// Updates privacy/properties of a room (POST /rooms/:name); false with *why for a bad body.
  bool updateRoom(Room& room, const nlohmann::json& body, std::string* why);
  /// Deletes a room: every client member gets an "error" event (ejected) and is removed.
  bool deleteRoom(const std::string& name);
  const std::map<std::string, Room>& rooms() const { return rooms_; }

  /// Daily's room object: {id, name, api_created, privacy, url, created_at, config}.
  nlohmann::json roomObject(const Room& room) const;
  /// The dial-in SIP URI of a room ("sip:<sipId>@<sip_host>:<sip_port>"), its config.sip_uri.endpoint.
  std::string sipEndpoint(const Room& room) const;
  /// The room's address as the caller of the calls it makes (dial-outs, inbound REFERs' targets):
  /// "sip:<room name>@<sip_host>:<sip_port>". It cannot be dialed: it does not carry the dial-in identifier.
  std::string sipAddress(const Room& room) const;

  /// Adds a member; every other client of the room receives participant-joined.
  void addMember(Room& room, const std::string& sessionId, Member member);
  /// Replaces a member's participant object; every other client of the room receives participant-updated. No-op for an
  /// unknown session.
  void updateMember(Room& room, const std::string& sessionId, nlohmann::json participant);
  /// Sets one entry of a member's participant `tracks` (daily-js's DailyTrackState; a null state removes a custom
  /// track's entry); participant-updated goes out only when that changes anything.
  void setTrack(Room& room, const std::string& sessionId, const std::string& track, nlohmann::json state);
  /// DailyTrackState for a track that is, or is not, carrying media to the room.
  static nlohmann::json trackState(bool playable);
  /// Removes a member; every remaining client receives participant-left. No-op for an unknown session.
  void removeMember(Room& room, const std::string& sessionId);
  /// Sends an event to every client member of the room except `except`.
  void broadcast(const Room& room, const std::string& action, const nlohmann::json& payload,
                 const std::string& except = {}) const;
  /// Sends an event to the client members of the room named in sessionIds (others, and SIP members, get nothing).
  void sendTo(const Room& room, const std::set<std::string>& sessionIds, const std::string& action,
              const nlohmann::json& payload) const;
  /// Sends an event to the room's owner and admin clients only: the outcome of a telephony operation, which only
  /// they may start, and whose target (a phone number, a SIP address) is not every guest's business.
  void broadcastToOwnersAndAdmins(const Room& room, const std::string& action, const nlohmann::json& payload) const;
  /// Finds the room a session is in.
  Room* roomOfSession(const std::string& sessionId);

  /// Where webhook events go (type, payload); set by the server. notify() adds room and timestamp.
  std::function<void(const std::string& type, nlohmann::json payload)> webhookSink;
  /// Whether any webhook wants events of this type (so callers can skip building payloads nobody receives).
  std::function<bool(const std::string& type)> webhookWanted;
  bool wantsWebhook(const std::string& type) const { return webhookSink && (!webhookWanted || webhookWanted(type)); }
  void notify(const Room& room, const std::string& type, nlohmann::json payload) const;

  /// A fresh participant object for this server's clock.
  static nlohmann::json newParticipant(const std::string& sessionId, const std::string& userName,
                                       const std::string& userId, bool owner, const nlohmann::json& canAdmin);

 private:
  HubConfig config_;
  TokenSigner tokens_;
  std::map<std::string, Room> rooms_;
  std::map<std::string, std::string> sessionRooms_;  // session_id -> room name
  std::map<std::string, std::string> sipIds_;        // Room::sipId -> room name
};

/// "2026-11-25T15:41:58.123Z"
std::string isoTimestamp(std::chrono::system_clock::time_point t = std::chrono::system_clock::now());

}  // namespace daily::devserver
