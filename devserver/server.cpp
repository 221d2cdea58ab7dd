// daily-devserver's network side: one io thread serving HTTP (REST) and the signaling websocket on one port,
// and the SIP gateway on UDP.

#include "devserver.hpp"

#include "common/ids.hpp"
#include "common/log.hpp"
#include "common/protocol.hpp"
#include "hub.hpp"
#include "rest.hpp"
#include "sip/gateway.hpp"
#include "telephony.hpp"
#include "webhooks.hpp"

#include <asio/post.hpp>
#include <asio/ssl/context.hpp>
#include <websocketpp/config/asio.hpp>
#include <websocketpp/config/asio_no_tls.hpp>
#include <websocketpp/server.hpp>

#include <atomic>
#include <map>
#include <set>
#include <thread>

namespace daily::devserver {
namespace {

using nlohmann::json;
using protocol::WireError;

constexpr int kMaxBadFrames = 10;
constexpr std::size_t kMaxHttpBody = 1024 * 1024;

// One websocket connection and, once joined, its participant.
struct ClientSession {
  std::string room;
  std::string sessionId;  // empty until joined
  bool ownerOrAdmin = false;
  int badFrames = 0;
  // Audio (docs/protocol.md, "Audio"): its custom tracks in the media engine, by track name, and its renderers'
  // subscriptions, by "<participant>|<audio source>".
  struct Track {
    media::Engine::SessionId id = 0;
    int sampleRate = 0;
    int channels = 0;
  };
  std::map<std::string, Track> tracks;
  std::map<std::string, std::uint64_t> renderers;
  std::set<std::string> removedTracks;  // frames still in flight for these are dropped quietly
};

// A client that does not read its audio is sent no more of it past this much unsent data (the frames are
// dropped, not queued: late audio is worthless).
constexpr std::size_t kMaxAudioBacklog = 256 * 1024;

WireError wireError(ErrorCode code, std::string message, std::string type = {}) {
  return WireError{code, std::move(message), 0, std::move(type)};
}

}  // namespace

// What Devserver needs of its server, whichever transport (plain or TLS) it was made with.
struct Devserver::Impl {
  virtual ~Impl() = default;
  virtual void bind() = 0;
  virtual void runLoop() = 0;
  virtual void shutdown() = 0;
  virtual std::string httpUrl() const = 0;
  virtual std::uint16_t port() const = 0;
  virtual std::uint16_t sipPort() const = 0;
  virtual std::uint16_t sipTcpPort() const = 0;
  virtual std::uint16_t sipTlsPort() const = 0;
  virtual std::optional<media::MediaCounters> mediaCounters(const std::string& sessionId) const = 0;
  virtual media::MediaCounters mediaTotals(std::size_t* open) = 0;
  virtual const std::string& host() const = 0;
  std::thread thread;
};

namespace {

// Serves ws:// and http:// (websocketpp::config::asio) or wss:// and https:// (asio_tls) on one port.
template <class Config>
struct Server final : Devserver::Impl {
  using WsServer = websocketpp::server<Config>;
  static constexpr bool kTls = !std::is_same_v<Config, websocketpp::config::asio>;

  explicit Server(Options o)
      : options(std::move(o)),
        hub(HubConfig{options.apiKey, "", options.host, 0, detail::newUuid()}),
        gateway(io, hub,
                GatewayOptions{options.host, options.sipPort, options.sipT1, std::chrono::milliseconds(4000),
                               options.sipTransactionTimeout, options.sipAnswerDelay, options.sipTcpPort,
                               options.sipTcpMessageTimeout, options.sipTcpIdleTimeout,
                               credentialsOf(options.sipCredentials), options.sipOutboundProxy,
                               options.sipTlsPort, options.sipTlsCertFile, options.sipTlsKeyFile,
                               options.sipTlsCaFile, options.sipTlsVerifyPeers, options.sipDnsServers,
                               credentialsOf(options.sipDialInCredentials), options.sipDialInSha256,
                               options.rtpFirstPort, options.rtpLastPort, options.rtpTimeout, options.sipSrtp}) {}

  static std::vector<sip::Credentials> credentialsOf(const std::vector<std::string>& texts) {
    std::vector<sip::Credentials> out;
    for (const auto& text : texts) {
      std::string why;
      auto c = sip::parseCredentials(text, &why);
      if (!c) throw std::invalid_argument("SIP credentials: " + why);  // never the text itself: it has a password
      out.push_back(std::move(*c));
    }
    return out;
  }

  Options options;
  asio::io_context io{1};
  Hub hub;
  Gateway gateway;
  Webhooks webhooks{hub.config().domainId,
                    WebhookSettings{options.webhookTimeout, options.webhookRetryBase, 3, 5},
                    [this](std::function<void()> f) { asio::post(io, std::move(f)); }};
  RestContext rest{hub, gateway, webhooks};
  WsServer ws;
  std::uint16_t boundPort = 0;
  std::map<websocketpp::connection_hdl, ClientSession, std::owner_less<websocketpp::connection_hdl>> sessions;
  std::atomic<bool> stopped{false};
  std::shared_ptr<asio::ssl::context> tls;  // loaded once, before listening: a bad cert or key stops the start

  std::string httpUrl() const override { return hub.config().httpUrl; }
  std::uint16_t port() const override { return boundPort; }
  std::uint16_t sipPort() const override { return gateway.port(); }
  std::uint16_t sipTcpPort() const override { return gateway.tcpPort(); }
  std::uint16_t sipTlsPort() const override { return gateway.tlsPort(); }
  std::optional<media::MediaCounters> mediaCounters(const std::string& sessionId) const override {
    return gateway.mediaCounters(sessionId);
  }
  media::MediaCounters mediaTotals(std::size_t* open) override { return gateway.media().totals(open); }
  const std::string& host() const override { return options.host; }

  void loadTls() {
    tls = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
    tls->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                     asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1 |
                     asio::ssl::context::single_dh_use);
    asio::error_code ec;
    tls->use_certificate_chain_file(options.tlsCertFile, ec);
    if (ec) throw std::system_error(ec, "cannot load --tls-cert " + options.tlsCertFile);
    tls->use_private_key_file(options.tlsKeyFile, asio::ssl::context::pem, ec);
    if (ec) throw std::system_error(ec, "cannot load --tls-key " + options.tlsKeyFile);
    if (SSL_CTX_check_private_key(tls->native_handle()) != 1)
      throw std::runtime_error("--tls-key does not match --tls-cert");
  }

  void bind() override {
    if constexpr (kTls) {
      loadTls();
      ws.set_tls_init_handler([this](websocketpp::connection_hdl) { return tls; });
    }
    ws.clear_access_channels(websocketpp::log::alevel::all);
    ws.clear_error_channels(websocketpp::log::elevel::all);
    ws.init_asio(&io);
    // Small frames go out at once (no Nagle): an answer and the event after it must not wait for a delayed ACK.
    ws.set_tcp_pre_init_handler([this](websocketpp::connection_hdl hdl) {
      asio::error_code ec;
      if (auto con = ws.get_con_from_hdl(hdl, ec)) con->get_raw_socket().set_option(asio::ip::tcp::no_delay(true), ec);
    });
    ws.set_reuse_addr(true);
    ws.set_max_message_size(protocol::kMaxFrameBytes);
    ws.set_max_http_body_size(kMaxHttpBody);
    ws.set_listen_backlog(1024);
    ws.set_http_handler([this](websocketpp::connection_hdl h) { onHttp(h); });
    ws.set_validate_handler([this](websocketpp::connection_hdl h) {
      return ws.get_con_from_hdl(h)->get_resource() == protocol::kSignalingPath;
    });
    ws.set_open_handler([this](websocketpp::connection_hdl h) { sessions.emplace(h, ClientSession{}); });
    ws.set_close_handler([this](websocketpp::connection_hdl h) { onGone(h); });
    ws.set_fail_handler([this](websocketpp::connection_hdl h) { onGone(h); });
    ws.set_message_handler([this](websocketpp::connection_hdl h, typename WsServer::message_ptr m) { onFrame(h, m); });

    asio::error_code ec;
    const auto address = asio::ip::make_address(options.host, ec);
    if (ec) throw std::system_error(ec, "invalid --host " + options.host);
    ws.listen(asio::ip::tcp::endpoint(address, options.port));
    ws.start_accept();
    boundPort = ws.get_local_endpoint(ec).port();
    if (ec) throw std::system_error(ec, "cannot read the bound port");

    gateway.start();
    hub.webhookSink = [this](const std::string& type, json payload) { webhooks.emit(type, std::move(payload)); };
    hub.webhookWanted = [this](const std::string& type) { return webhooks.wants(type); };
    hub.config().httpUrl = (kTls ? "https://" : "http://") + hostForUrl() + ":" + std::to_string(boundPort);
    hub.config().sipPort = gateway.port();
    DAILY_LOG(Info, "devserver", "serving " << hub.config().httpUrl << " and SIP on udp " << options.host << ":"
                                            << gateway.port());
  }

  std::string hostForUrl() const {
    return options.host.find(':') != std::string::npos ? "[" + options.host + "]" : options.host;
  }

  void runLoop() override {
    for (;;) {
      try {
        io.run();
        return;
      } catch (const std::exception& e) {
        DAILY_LOG(Error, "devserver", "io loop caught: " << e.what());
      }
    }
  }

  void shutdown() override {
    if (stopped.exchange(true)) return;
    asio::post(io, [this] {
      websocketpp::lib::error_code ec;
      ws.stop_listening(ec);
      for (auto& [h, s] : sessions) ws.close(h, websocketpp::close::status::going_away, "server shutting down", ec);
      gateway.stop();
      io.stop();
    });
  }

  // ---- HTTP ---------------------------------------------------------------------------------------------------

  void onHttp(websocketpp::connection_hdl h) {
    auto con = ws.get_con_from_hdl(h);
    HttpRequest req;
    req.method = con->get_request().get_method();
    const std::string resource = con->get_resource();
    const std::size_t q = resource.find('?');
    req.path = resource.substr(0, q);
    if (q != std::string::npos) req.query = resource.substr(q + 1);
    req.authorization = con->get_request_header("Authorization");
    req.body = con->get_request_body();
    // Answered now or later (telephony waits for the SIP peer, webhook creation for its verification POST).
    con->defer_http_response();
    handleRest(rest, req, [con, method = req.method, path = req.path](HttpResponse res) {
      DAILY_LOG(Info, "rest", method << " " << path << " -> " << res.status);
      con->set_status(static_cast<websocketpp::http::status_code::value>(res.status));
      con->append_header("Content-Type", "application/json");
      con->set_body(res.body.dump());
      con->send_http_response();
    });
  }

  // ---- websocket ----------------------------------------------------------------------------------------------

  void send(websocketpp::connection_hdl h, const std::string& frame) {
    websocketpp::lib::error_code ec;
    ws.send(h, frame, websocketpp::frame::opcode::text, ec);
  }

  void onGone(websocketpp::connection_hdl h) {
    auto it = sessions.find(h);
    if (it == sessions.end()) return;
    leaveRoom(it->second);
    sessions.erase(it);
  }

  void leaveRoom(ClientSession& s) {
    if (s.sessionId.empty()) return;
    for (const auto& [name, track] : s.tracks) gateway.media().close(track.id);
    for (const auto& [key, subscription] : s.renderers) gateway.media().unsubscribe(subscription);
    s.tracks.clear();
    s.renderers.clear();
    if (Room* room = hub.findRoom(s.room)) hub.removeMember(*room, s.sessionId);
    s.sessionId.clear();
    s.room.clear();
  }

  void onFrame(websocketpp::connection_hdl h, typename WsServer::message_ptr message) {
    auto it = sessions.find(h);
    if (it == sessions.end()) return;
    ClientSession& s = it->second;
    std::string why;
    if (message->get_opcode() == websocketpp::frame::opcode::binary) return onAudio(h, s, message->get_payload());
    auto frame = protocol::decodeFrame(message->get_payload(), &why);
    if (!frame || frame->type != protocol::FrameType::Request) {
      if (frame) why = "clients may send only requests";
      return badFrame(h, s, why);
    }
    const std::uint64_t id = frame->id;
    auto reply = [this, h, id](const std::optional<WireError>& error, const json& result) {
      if (sessions.find(h) == sessions.end()) return;  // the client has gone meanwhile
      send(h, error ? protocol::encodeError(id, *error) : protocol::encodeResult(id, result));
    };
    handleRequest(h, s, frame->method, frame->params, reply);
  }

  // A rejected frame: an error event, and the connection closed after too many.
  void badFrame(websocketpp::connection_hdl h, ClientSession& s, const std::string& why) {
    DAILY_LOG(Warn, "signaling", "rejected a frame: " << why);
    send(h, protocol::encodeEvent("nonfatal-error", {{"type", "protocol-error"}, {"errorMsg", why}}));
    if (++s.badFrames >= kMaxBadFrames) {
      websocketpp::lib::error_code ec;
      ws.close(h, websocketpp::close::status::policy_violation, "too many malformed frames", ec);
    }
  }

  // ---- audio ----------------------------------------------------------------------------------------------------

  // A binary frame: 20 ms of one of the client's custom tracks.
  void onAudio(websocketpp::connection_hdl h, ClientSession& s, const std::string& bytes) {
    std::string why;
    auto frame = protocol::decodeAudioFrame(bytes, &why);
    if (frame && frame->direction != protocol::AudioDirection::ToServer) why = "clients send audio toward the server only";
    if (!frame || !why.empty()) return badFrame(h, s, "audio: " + why);
    auto track = s.tracks.find(frame->name);
    // Frames still in flight when their track is removed are dropped quietly; a track never added is an error.
    if (track == s.tracks.end()) {
      if (s.removedTracks.count(frame->name)) return;
      return badFrame(h, s, "audio for a track that was never added: " + frame->name);
    }
    if (frame->sampleRate != track->second.sampleRate || frame->channels != track->second.channels)
      return badFrame(h, s, "audio for track " + frame->name + " at another rate or channel count than it was added with");
    gateway.media().pushAudio(track->second.id, std::move(frame->samples));
  }

  void sendBinary(websocketpp::connection_hdl h, const std::string& frame) {
    websocketpp::lib::error_code ec;
    auto con = ws.get_con_from_hdl(h, ec);
    if (ec || !con || con->get_buffered_amount() > kMaxAudioBacklog) return;
    con->send(frame, websocketpp::frame::opcode::binary);
  }

  // addCustomAudioTrack / removeCustomAudioTrack / setAudioRenderer / removeAudioRenderer.
  void audioRequest(websocketpp::connection_hdl h, ClientSession& s, const std::string& method, const json& params,
                    const Gateway::Reply& reply) {
    auto str = [&](const char* key) {
      auto it = params.find(key);
      return it != params.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    auto integer = [&](const char* key, int fallback) {
      auto it = params.find(key);
      return it != params.end() && it->is_number_integer() ? it->get<int>() : it == params.end() ? fallback : -1;
    };
    auto invalid = [&](const std::string& why) { reply(wireError(ErrorCode::InvalidArgument, method + ": " + why), {}); };
    if (s.sessionId.empty() || !hub.findRoom(s.room)) return reply(wireError(ErrorCode::NotJoined, method + " needs a joined meeting"), {});
    if (method == "addCustomAudioTrack" || method == "removeCustomAudioTrack") {
      const std::string name = str("trackName");
      if (!protocol::validTrackName(name)) return invalid(std::string("trackName must be ") + protocol::kTrackNameRule);
      auto existing = s.tracks.find(name);
      if (method == "removeCustomAudioTrack") {
        if (existing == s.tracks.end()) return reply(wireError(ErrorCode::NotFound, method + ": no track " + name), {});
        gateway.media().close(existing->second.id);
        s.tracks.erase(existing);
        if (Room* room = hub.findRoom(s.room)) hub.setTrack(*room, s.sessionId, name, nullptr);
        if (s.removedTracks.size() >= 64) s.removedTracks.clear();
        s.removedTracks.insert(name);
        return reply(std::nullopt, json::object());
      }
      if (existing != s.tracks.end()) return invalid("there is a track " + name + " already");
      const int rate = integer("sampleRate", 16000), channels = integer("channels", 1);
      if (!protocol::supportedAudioRate(rate)) return invalid("sampleRate must be 8000, 16000, 24000 or 48000");
      if (channels != 1 && channels != 2) return invalid("channels must be 1 or 2");
      auto id = gateway.media().openTrack(s.sessionId + "/" + name, rate, channels);
      if (!id) return reply(wireError(ErrorCode::ServerError, method + ": the media engine is stopped"), {});
      gateway.media().join(*id, media::roomGroup(s.room));
      s.tracks[name] = {*id, rate, channels};
      s.removedTracks.erase(name);
      // The others see it in the bot's participant, as daily-js shows a custom track: tracks.<name>.
      if (Room* room = hub.findRoom(s.room)) hub.setTrack(*room, s.sessionId, name, Hub::trackState(true));
      return reply(std::nullopt, json::object());
    }
    const std::string participant = str("participantId");
    const std::string source = params.contains("audioSource") ? str("audioSource") : "microphone";
    if (participant.empty() || participant.size() > 64) return invalid("participantId must be a session id");
    if (source != "microphone" && !protocol::validTrackName(source)) return invalid("audioSource must be \"microphone\" or a track name");
    const std::string key = participant + "|" + source;
    if (auto old = s.renderers.find(key); old != s.renderers.end()) {
      gateway.media().unsubscribe(old->second);
      s.renderers.erase(old);
    }
    if (method == "removeAudioRenderer") return reply(std::nullopt, json::object());
    const int rate = integer("sampleRate", 16000);
    if (!protocol::supportedAudioRate(rate)) return invalid("sampleRate must be 8000, 16000, 24000 or 48000");
    // A SIP caller's audio is its "microphone"; a bot's are its tracks, by name.
    const std::string label = source == "microphone" ? participant : participant + "/" + source;
    const std::string name = source == "microphone" ? participant : label;
    auto sequence = std::make_shared<std::uint32_t>(0);
    s.renderers[key] = gateway.media().subscribe(
        label, rate, [this, h, name, rate, sequence](const std::int16_t* samples, std::size_t count) {
          // On the media thread: encoded here, sent from the io thread.
          protocol::AudioFrame frame;
          frame.direction = protocol::AudioDirection::ToClient;
          frame.sequence = (*sequence)++;
          frame.sampleRate = rate;
          frame.name = name;
          frame.samples.assign(samples, samples + count);
          asio::post(io, [this, h, bytes = protocol::encodeAudioFrame(frame)] {
            if (sessions.find(h) != sessions.end()) sendBinary(h, bytes);
          });
        });
    reply(std::nullopt, json::object());
  }

  void handleRequest(websocketpp::connection_hdl h, ClientSession& s, const std::string& method, const json& params,
                     const Gateway::Reply& reply) {
    if (method == "ping") return reply(std::nullopt, json::object());
    static const std::set<std::string> kAudio{"addCustomAudioTrack", "removeCustomAudioTrack", "setAudioRenderer",
                                              "removeAudioRenderer"};
    if (kAudio.count(method)) return audioRequest(h, s, method, params, reply);
    if (method == "join") return join(h, s, params, reply);
    if (method == "leave") {
      if (s.sessionId.empty()) return reply(wireError(ErrorCode::NotJoined, "not joined"), {});
      leaveRoom(s);
      return reply(std::nullopt, json::object());
    }
    if (method == "sendAppMessage") return sendAppMessage(s, params, reply);
    if (method == "setUserName" || method == "setUserData") return updateLocal(s, method, params, reply);
    if (method == "updateParticipants") return updateParticipants(s, params, reply);
    // Telephony: the same checks as the client's, made again here: the server never trusts the client.
    static const std::set<std::string> kTelephony{"sipRefer", "sipCallTransfer", "startDialOut", "stopDialOut",
                                                  "sendDTMF"};
    if (!kTelephony.count(method))
      return reply(wireError(ErrorCode::InvalidArgument, "unknown method '" + method + "'"), {});
    if (s.sessionId.empty() || !hub.findRoom(s.room))
      return reply(wireError(ErrorCode::NotJoined, method + " needs a joined meeting"), {});
    if (!s.ownerOrAdmin)
      return reply(wireError(ErrorCode::PermissionDenied, method + " requires a meeting owner or admin token"), {});
    dispatchTelephony(gateway, s.room, method, params, "sip:" + s.sessionId + "@" + hub.config().sipHost, reply);
  }

  // daily-js's setUserName / setUserData: the client's own participant changes; the others hear
  // participant-updated, and the answer is the participant as the room now has it.
  void updateLocal(ClientSession& s, const std::string& method, const json& params, const Gateway::Reply& reply) {
    Room* room = s.sessionId.empty() ? nullptr : hub.findRoom(s.room);
    const Member* member = nullptr;
    if (room)
      if (auto it = room->members.find(s.sessionId); it != room->members.end()) member = &it->second;
    if (!member) return reply(wireError(ErrorCode::NotJoined, method + " needs a joined meeting"), {});
    json updated = member->participant;
    if (method == "setUserName") {
      const json name = params.value("userName", json());
      if (!validUserName(name))
        return reply(wireError(ErrorCode::InvalidArgument, "setUserName: userName must be a string of at most 256 bytes"), {});
      updated["user_name"] = name;
    } else {
      const auto data = params.find("userData");
      if (data == params.end() || !validUserData(*data))
        return reply(wireError(ErrorCode::InvalidArgument, "setUserData: userData must be JSON of at most 4 KB"), {});
      if (data->is_null()) updated.erase("userData");
      else updated["userData"] = *data;
    }
    if (updated != member->participant) hub.updateMember(*room, s.sessionId, updated);
    updated["local"] = true;
    reply(std::nullopt, {{"participant", std::move(updated)}});
  }
  // daily-js's updateParticipants: an owner or participants admin ejects others (a client gets the fatal error
  // "ejected" and is out; a SIP participant's call is hung up) and changes their hasPresence and canAdmin. All
  // of it is checked before anything changes; the answer comes once every ejected call has ended.
  void updateParticipants(ClientSession& s, const json& params, const Gateway::Reply& reply) {
    Room* room = s.sessionId.empty() ? nullptr : hub.findRoom(s.room);
    const auto self = room ? room->members.find(s.sessionId) : std::map<std::string, Member>::iterator();
    if (!room || self == room->members.end())
      return reply(wireError(ErrorCode::NotJoined, "updateParticipants needs a joined meeting"), {});
    if (!protocol::administersParticipants(self->second.participant))
      return reply(wireError(ErrorCode::PermissionDenied,
                             "updateParticipants requires a meeting owner or a participants admin token"), {});
    const json updates = params.value("updates", json());
    if (const std::string why = protocol::participantUpdatesProblem(updates); !why.empty())
      return reply(wireError(ErrorCode::InvalidArgument, "updateParticipants: " + why), {});
    for (const auto& [id, update] : updates.items()) {
      const auto target = room->members.find(id);
      if (target == room->members.end())
        return reply(wireError(ErrorCode::NotFound, "updateParticipants: no participant " + id + " in this room"), {});
      if (id == s.sessionId)
        return reply(wireError(ErrorCode::InvalidArgument, "updateParticipants: not the caller itself (leave() to go)"), {});
      if (target->second.kind != MemberKind::Client && update.contains("updatePermissions") &&
          update["updatePermissions"].contains("canAdmin"))
        return reply(wireError(ErrorCode::InvalidArgument, "updateParticipants: a SIP participant administers nothing"), {});
    }
    const std::string roomName = s.room;
    auto outstanding = std::make_shared<int>(1);
    auto oneDone = [outstanding, reply] {
      if (--*outstanding == 0) reply(std::nullopt, json::object());
    };
    for (const auto& [id, update] : updates.items()) {
      Room* r = hub.findRoom(roomName);
      const auto target = r ? r->members.find(id) : std::map<std::string, Member>::iterator();
      if (!r || target == r->members.end()) continue;
      if (const auto permissions = update.find("updatePermissions"); permissions != update.end()) {
        json participant = target->second.participant;
        for (const auto& [name, value] : permissions->items()) participant["permissions"][name] = value;
        if (participant != target->second.participant) {
          const json& canAdmin = participant["permissions"].value("canAdmin", json(false));
          const bool ownerOrAdmin =
              participant.value("owner", false) || canAdmin == true || (canAdmin.is_array() && !canAdmin.empty());
          target->second.ownerOrAdmin = ownerOrAdmin;
          if (ClientSession* session = sessionOf(id)) session->ownerOrAdmin = ownerOrAdmin;
          hub.updateMember(*r, id, participant);
          // Its own client hears it too: its permissions are part of its local participant.
          hub.sendTo(*r, {id}, "participant-updated", {{"participant", r->members.at(id).participant}});
        }
      }
      if (update.contains("eject")) {
        if (target->second.kind == MemberKind::Client) {
          target->second.send(protocol::encodeEvent(
              "error", {{"errorMsg", "Ejected from the meeting"},
                        {"error", {{"type", "ejected"}, {"msg", "an owner or admin ejected this participant"}}}}));
          if (ClientSession* session = sessionOf(id)) leaveRoom(*session);
          else hub.removeMember(*r, id);
        } else {
          ++*outstanding;
          gateway.hangUpParticipant(roomName, id,
                                    [oneDone, id = id](const std::optional<protocol::WireError>& error, const json&) {
                                      if (error) DAILY_LOG(Warn, "signaling", "ejecting " << id << ": " << error->message);
                                      oneDone();
                                    });
        }
      }
    }
    oneDone();
  }
  ClientSession* sessionOf(const std::string& sessionId) {
    for (auto& [h, session] : sessions)
      if (session.sessionId == sessionId) return &session;
    return nullptr;
  }

  static bool validUserName(const json& name) {
    return name.is_string() && name.get_ref<const std::string&>().size() <= protocol::kMaxUserNameBytes;
  }
  static bool validUserData(const json& data) { return data.dump().size() <= protocol::kMaxUserDataBytes; }

  // daily-js's sendAppMessage(data, recipient): data (any JSON, at most kMaxAppMessageBytes serialised) to every
  // other client of the room ("*"), or to the session ids named (one, or an array); as app-message {data, fromId}.
  // A recipient not in the room gets nothing, and that is no error (Daily's messages are not stored). Checked
  // here as well as in the SDK: the server never trusts the client.
  void sendAppMessage(ClientSession& s, const json& params, const Gateway::Reply& reply) {
    Room* room = s.sessionId.empty() ? nullptr : hub.findRoom(s.room);
    if (!room) return reply(wireError(ErrorCode::NotJoined, "sendAppMessage needs a joined meeting"), {});
    auto data = params.find("data");
    if (data == params.end()) return reply(wireError(ErrorCode::InvalidArgument, "sendAppMessage: data is missing"), {});
    if (data->dump().size() > protocol::kMaxAppMessageBytes)
      return reply(wireError(ErrorCode::InvalidArgument, "sendAppMessage: data is over the 4 KB limit"), {});
    const json to = params.value("to", json("*"));
    const json message{{"data", *data}, {"fromId", s.sessionId}};
    if (to == "*") {
      hub.broadcast(*room, "app-message", message, s.sessionId);
      return reply(std::nullopt, json::object());
    }
    std::set<std::string> ids;
    for (const auto& id : to.is_array() ? to : json::array({to})) {
      if (!id.is_string() || id.get_ref<const std::string&>().empty())
        return reply(wireError(ErrorCode::InvalidArgument, "sendAppMessage: the recipient must be \"*\" or session ids"), {});
      ids.insert(id.get<std::string>());
    }
    hub.sendTo(*room, ids, "app-message", message);
    reply(std::nullopt, json::object());
  }

  void join(websocketpp::connection_hdl h, ClientSession& s, const json& params, const Gateway::Reply& reply) {
    if (!s.sessionId.empty()) return reply(wireError(ErrorCode::InvalidArgument, "this connection already joined"), {});
    const json roomParam = params.value("room", json());
    if (!roomParam.is_string()) return reply(wireError(ErrorCode::InvalidArgument, "join: room must be a string"), {});
    const std::string roomName = roomParam.get<std::string>();
    Room* room = hub.findRoom(roomName);
    if (!room) return reply(wireError(ErrorCode::NotFound, "room '" + roomName + "' does not exist", "no-room"), {});
    const json tokenParam = params.value("token", json());
    const json nameParam = params.value("userName", json());
    if (!tokenParam.is_null() && !tokenParam.is_string())
      return reply(wireError(ErrorCode::InvalidArgument, "join: token must be a string"), {});
    if (!nameParam.is_null() && !validUserName(nameParam))
      return reply(wireError(ErrorCode::InvalidArgument, "join: userName must be a string of at most 256 bytes"), {});
    const auto userData = params.find("userData");
    if (userData != params.end() && !validUserData(*userData))
      return reply(wireError(ErrorCode::InvalidArgument, "join: userData must be JSON of at most 4 KB"), {});

    TokenClaims claims;
    if (tokenParam.is_string()) {
      TokenError why;
      auto verified = hub.tokens().verify(tokenParam.get<std::string>(), roomName, false, &why);
      if (!verified) return reply(wireError(ErrorCode::PermissionDenied, why.message, why.type), {});
      claims = *verified;
    } else if (room->privacy == "private") {
      return reply(wireError(ErrorCode::PermissionDenied,
                             "room '" + roomName + "' is private: join with a meeting token", "not-allowed"),
                   {});
    }
    const std::string sessionId = detail::newUuid();
    const std::string userName =
        !claims.userName.empty() ? claims.userName : (nameParam.is_string() ? nameParam.get<std::string>() : "");
    Member member;
    member.kind = MemberKind::Client;
    member.participant = Hub::newParticipant(sessionId, userName, claims.userId, claims.isOwner, claims.canAdmin);
    if (userData != params.end() && !userData->is_null()) member.participant["userData"] = *userData;
    member.send = [this, h](const std::string& frame) { send(h, frame); };
    member.ownerOrAdmin = claims.isOwner || claims.isAdmin();

    json others = json::array();
    for (const auto& [id, m] : room->members) others.push_back(m.participant);
    json local = member.participant;
    local["local"] = true;
    s.room = roomName;
    s.sessionId = sessionId;
    s.ownerOrAdmin = claims.isOwner || claims.isAdmin();
    hub.addMember(*room, sessionId, std::move(member));
    reply(std::nullopt, {{"local", local}, {"participants", others}, {"room", {{"name", roomName}, {"id", room->id}}}});
    gateway.greet(*room, [this, h](const std::string& action, const json& payload) {
      send(h, protocol::encodeEvent(action, payload));
    });
  }
};

std::unique_ptr<Devserver::Impl> makeServer(Options options) {
  const bool tls = !options.tlsCertFile.empty() || !options.tlsKeyFile.empty();
  if (tls && (options.tlsCertFile.empty() || options.tlsKeyFile.empty()))
    throw std::invalid_argument("TLS needs both a certificate and a key");
  if (tls) return std::make_unique<Server<websocketpp::config::asio_tls>>(std::move(options));
  return std::make_unique<Server<websocketpp::config::asio>>(std::move(options));
}

}  // namespace

Devserver::Devserver(Options options) : impl_(makeServer(std::move(options))) {}

Devserver::~Devserver() {
  stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

void Devserver::start() {
  impl_->bind();
  impl_->thread = std::thread([this] { impl_->runLoop(); });
}

void Devserver::run() {
  impl_->bind();
  impl_->runLoop();
}

void Devserver::stop() { impl_->shutdown(); }

std::string Devserver::httpUrl() const { return impl_->httpUrl(); }
std::uint16_t Devserver::port() const { return impl_->port(); }
std::string Devserver::sipHost() const { return impl_->host(); }
std::uint16_t Devserver::sipPort() const { return impl_->sipPort(); }
std::uint16_t Devserver::sipTcpPort() const { return impl_->sipTcpPort(); }
std::uint16_t Devserver::sipTlsPort() const { return impl_->sipTlsPort(); }

std::optional<media::MediaCounters> Devserver::mediaCounters(const std::string& sessionId) const {
  return impl_->mediaCounters(sessionId);
}

media::MediaCounters Devserver::mediaTotals(std::size_t* open) const { return impl_->mediaTotals(open); }

std::string Devserver::readyLine() const {
  json line{{"ready", true}, {"http_url", httpUrl()}, {"sip_host", sipHost()}, {"sip_port", sipPort()},
            {"sip_tcp_port", sipTcpPort()}};
  if (sipTlsPort() != 0) line["sip_tls_port"] = sipTlsPort();
  return line.dump();
}

}  // namespace daily::devserver
