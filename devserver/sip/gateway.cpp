#include "sip/gateway.hpp"

#include "common/ids.hpp"
#include "common/log.hpp"
#include "sip/message.hpp"

#include <asio/ip/udp.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <map>
#include <utility>

namespace daily::devserver {
namespace {

using nlohmann::json;
using protocol::WireError;
using Endpoint = asio::ip::udp::endpoint;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxDatagram = 65535;
constexpr const char* kAllow = "INVITE, ACK, BYE, CANCEL, OPTIONS, REFER, NOTIFY, INFO";
constexpr const char* kProvider = "daily";

WireError wireError(ErrorCode code, std::string message, int sipStatus = 0) {
  return WireError{code, std::move(message), sipStatus, {}};
}

// A client transaction (RFC 3261 §17.1) over UDP: retransmits with T1 doubling (capped at T2 for non-INVITE),
// stops retransmitting an INVITE at its first provisional, and gives up after the transaction timeout.
struct ClientTransaction {
  ClientTransaction(asio::io_context& io) : retransmit(io), timeout(io) {}
  std::string key;
  bool invite = false;
  std::string wire;
  Endpoint destination;
  std::chrono::milliseconds interval{};
  asio::steady_timer retransmit;
  asio::steady_timer timeout;
  bool completed = false;
  std::string ack;  // INVITE: the ACK sent for the final response, re-sent when the final response is repeated
  std::function<void(osip_message_t* response)> onResponse;  // every provisional and the first final response
  std::function<void()> onTimeout;
};

// What a server transaction answered, to repeat it when the request is retransmitted (§17.2).
struct ServerTransaction {
  explicit ServerTransaction(asio::io_context& io) : expiry(io) {}
  std::string lastResponse;
  Endpoint peer;
  asio::steady_timer expiry;
  bool finalSent = false;
  sip::MessagePtr request;  // INVITE only: kept to answer a CANCEL with 487
};

enum class LegState { Ringing, Calling, Confirmed, Ended };

// One SIP dialog of the gateway: a dial-in caller, a dial-out callee, or the far leg of a sipCallTransfer.
struct Leg {
  explicit Leg(asio::io_context& io) : timer(io) {}
  std::string sessionId;
  std::string room;      // empty for the far leg of a bridge
  bool dialIn = false;
  LegState state = LegState::Ringing;
  bool inRoom = false;   // its participant is in the room
  std::string callId;
  std::string localTag;
  std::string remoteTag;
  std::string localParty;   // our From in requests we send, without tag ("<sip:room@host:port>")
  std::string remoteParty;  // their address, without tag
  std::string remoteTarget; // their Contact URI
  std::vector<std::string> routeSet;
  std::uint32_t localCseq = 1;
  Endpoint peer;            // where in-dialog requests go
  asio::steady_timer timer; // dial-in: ringing delay, then 2xx retransmission
  std::chrono::milliseconds okInterval{};
  Clock::time_point okDeadline{};
  std::string okWire;       // dial-in: our 200 to the INVITE, until the ACK arrives
  std::string inviteServerKey;
  // Dial-out / bridge far leg: our INVITE.
  sip::MessagePtr invite;
  std::string inviteKey;
  bool connectedSent = false;
  bool cancelRequested = false;
  std::string ack;          // dial-out: ACK for the 2xx, re-sent when the 2xx is repeated
  // What the room was told about it.
  std::string sipFrom;
  std::string sipEndpoint;
  std::string destination;
  std::string userId;
  json sipHeaders = json::object();
  // Transfers.
  std::string referTo;      // a REFER is in progress toward this
  bool referAccepted = false;  // ... and the transferee accepted it: a refer subscription exists (RFC 3515)
  std::chrono::seconds subscriptionExpires{0};  // from the last NOTIFY's Subscription-State, 0 when not given
  // While our REFER has no final answer: the NOTIFY that implies its acceptance (RFC 3515 2.4.4: it may overtake a
  // lost or late 202) calls referImplied; the dialog ending first calls referAbandoned. Each finishes the REFER.
  std::function<void()> referImplied;
  std::function<void()> referAbandoned;
  std::function<void()> announceAccepted;  // the "accepted" event, until it has been broadcast
  std::string bridgedWith;  // sessionId of the other leg of a sipCallTransfer bridge
  std::string transferRoom; // the room a bridged caller left (for calltransfer.completed)
  std::string transferTo;
  std::function<void()> onEnded;  // stopDialOut waiting for the leg to end
  // Dial-in: requests of ours waiting for the ACK of our 2xx; called with true once it came, false if it never will.
  std::vector<std::function<void(bool acked)>> untilAck;
};

// The request or status line: one rung of the SIP ladder in the log.
std::string_view firstLine(std::string_view message) { return message.substr(0, message.find_first_of("\r\n")); }

std::string sdpBody(const std::string& host, std::uint16_t rtpPort, const std::string& offer) {
  // Answer PCMU when offered (or when there is no offer), otherwise the first payload type offered.
  std::string payload = "0";
  std::string rtpmap = "a=rtpmap:0 PCMU/8000\r\n";
  if (!offer.empty() && offer.find("m=audio") != std::string::npos) {
    const std::size_t m = offer.find("m=audio");
    const std::size_t end = offer.find_first_of("\r\n", m);
    const std::string line = offer.substr(m, end - m);
    std::vector<std::string> fields;
    std::size_t start = 0;
    while (start < line.size()) {
      std::size_t sp = line.find(' ', start);
      if (sp == std::string::npos) sp = line.size();
      fields.push_back(line.substr(start, sp - start));
      start = sp + 1;
    }
    bool hasPcmu = false;
    for (std::size_t i = 3; i < fields.size(); ++i) hasPcmu = hasPcmu || fields[i] == "0";
    if (!hasPcmu && fields.size() > 3 && fields[3].find_first_not_of("0123456789") == std::string::npos &&
        !fields[3].empty()) {
      payload = fields[3];
      const std::string key = "a=rtpmap:" + payload + " ";
      const std::size_t at = offer.find(key);
      rtpmap = at == std::string::npos ? "" : offer.substr(at, offer.find_first_of("\r\n", at) - at) + "\r\n";
    }
  }
  const std::string session = std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                                  std::chrono::system_clock::now().time_since_epoch())
                                                  .count());
  return "v=0\r\no=daily-devserver " + session + " " + session + " IN IP4 " + host +
         "\r\ns=daily-devserver\r\nc=IN IP4 " + host + "\r\nt=0 0\r\nm=audio " + std::to_string(rtpPort) +
         " RTP/AVP " + payload + "\r\n" + rtpmap + "a=sendrecv\r\n";
}

}  // namespace

struct Gateway::Impl {
  Impl(asio::io_context& io_, Hub& hub_, GatewayOptions options_)
      : io(io_), hub(hub_), options(std::move(options_)), socket(io_), media(io_) {}

  asio::io_context& io;
  Hub& hub;
  GatewayOptions options;
  asio::ip::udp::socket socket;
  asio::ip::udp::socket media;  // RTP sink: the SDP points here; packets are read and dropped
  std::uint16_t boundPort = 0;
  std::array<char, kMaxDatagram> buffer{};
  std::array<char, 2048> mediaBuffer{};
  Endpoint sender;
  Endpoint mediaSender;
  bool running = false;

  std::map<std::string, std::shared_ptr<ClientTransaction>> clients;  // branch|method
  std::map<std::string, std::shared_ptr<ServerTransaction>> servers;  // branch|method
  std::map<std::string, std::shared_ptr<Leg>> legs;                   // Call-ID
  std::map<std::string, std::string> sessions;                        // session_id -> Call-ID
  // Dialogs whose call has ended while their refer subscription lives on (RFC 5057 section 5.4: a BYE ends the
  // invite usage only): a transferee may send its final NOTIFY after its BYE, or retransmit it after a loss.
  std::map<std::string, std::shared_ptr<Leg>> subscriptions;          // Call-ID

  // ---- transport ----------------------------------------------------------------------------------------------

  void start() {
    const auto address = asio::ip::make_address(options.host);
    socket.open(address.is_v6() ? asio::ip::udp::v6() : asio::ip::udp::v4());
    socket.bind(Endpoint(address, options.port));
    boundPort = socket.local_endpoint().port();
    media.open(address.is_v6() ? asio::ip::udp::v6() : asio::ip::udp::v4());
    media.bind(Endpoint(address, 0));
    running = true;
    receive();
    drainMedia();
  }

  void stop() {
    running = false;
    asio::error_code ignored;
    socket.close(ignored);
    media.close(ignored);
    for (auto& [key, tx] : clients) {
      tx->retransmit.cancel();
      tx->timeout.cancel();
    }
    clients.clear();
    servers.clear();
    for (auto& [id, leg] : legs) leg->timer.cancel();
    legs.clear();
    for (auto& [id, leg] : subscriptions) leg->timer.cancel();
    subscriptions.clear();
    sessions.clear();
  }

  void receive() {
    socket.async_receive_from(asio::buffer(buffer), sender, [this](const asio::error_code& ec, std::size_t n) {
      if (!running) return;
      if (!ec) onDatagram(std::string_view(buffer.data(), n), sender);
      receive();
    });
  }

  void drainMedia() {
    media.async_receive_from(asio::buffer(mediaBuffer), mediaSender, [this](const asio::error_code&, std::size_t) {
      if (running) drainMedia();
    });
  }

  void sendTo(const std::string& wire, const Endpoint& to) {
    if (!running) return;
    asio::error_code ec;
    socket.send_to(asio::buffer(wire), to, 0, ec);
    if (ec) DAILY_LOG(Warn, "sip", "send to " << to << " failed: " << ec.message());
    DAILY_LOG(Info, "sip", "--> " << firstLine(wire) << "  (to " << to << ")");
    DAILY_LOG(Debug, "sip", "sent to " << to << ":\n" << wire);
  }

  std::string localHostPort() const {
    return (options.host.find(':') != std::string::npos ? "[" + options.host + "]" : options.host) + ":" +
           std::to_string(boundPort);
  }
  std::string contact() const { return "<sip:gateway@" + localHostPort() + ">"; }
  std::string newVia(std::string* branch) const {
    *branch = "z9hG4bK" + detail::randomHex(10);
    return "SIP/2.0/UDP " + localHostPort() + ";branch=" + *branch + ";rport";
  }

  Endpoint resolve(const std::string& host, std::uint16_t port, const Endpoint& fallback) const {
    std::string h = host;
    if (h.size() > 2 && h.front() == '[') h = h.substr(1, h.size() - 2);
    asio::error_code ec;
    const auto address = asio::ip::make_address(h, ec);
    if (ec) return fallback;  // the devserver does no DNS: a name falls back to where the message came from
    return Endpoint(address, port);
  }

  // ---- client transactions ------------------------------------------------------------------------------------

  std::shared_ptr<ClientTransaction> sendRequest(osip_message_t* request, const Endpoint& to,
                                                 std::function<void(osip_message_t*)> onResponse,
                                                 std::function<void()> onTimeout) {
    auto tx = std::make_shared<ClientTransaction>(io);
    tx->invite = sip::method(request) == "INVITE";
    tx->key = sip::topBranch(request) + "|" + sip::method(request);
    tx->wire = sip::serialize(request);
    tx->destination = to;
    tx->interval = options.t1;
    tx->onResponse = std::move(onResponse);
    tx->onTimeout = std::move(onTimeout);
    clients[tx->key] = tx;
    sendTo(tx->wire, to);
    scheduleRetransmit(tx);
    tx->timeout.expires_after(options.transactionTimeout);
    std::weak_ptr<ClientTransaction> weak = tx;
    tx->timeout.async_wait([this, weak](const asio::error_code& ec) {
      auto t = weak.lock();
      if (ec || !t || t->completed) return;
      t->completed = true;
      t->retransmit.cancel();
      clients.erase(t->key);
      DAILY_LOG(Info, "sip", "transaction " << t->key << " timed out");
      if (t->onTimeout) t->onTimeout();
    });
    return tx;
  }

  // Ends a client transaction without an answer, silently (a late response to it is then ignored).
  void abandonClient(ClientTransaction& tx) {
    if (tx.completed) return;
    tx.completed = true;
    tx.retransmit.cancel();
    tx.timeout.cancel();
    clients.erase(tx.key);
  }

  void scheduleRetransmit(const std::shared_ptr<ClientTransaction>& tx) {
    tx->retransmit.expires_after(tx->interval);
    std::weak_ptr<ClientTransaction> weak = tx;
    tx->retransmit.async_wait([this, weak](const asio::error_code& ec) {
      auto t = weak.lock();
      if (ec || !t || t->completed) return;
      sendTo(t->wire, t->destination);
      t->interval = t->invite ? t->interval * 2 : std::min(t->interval * 2, options.t2);
      scheduleRetransmit(t);
    });
  }

  void onResponse(sip::MessagePtr response) {
    const std::string key = sip::topBranch(response.get()) + "|" + sip::method(response.get());
    auto it = clients.find(key);
    if (it == clients.end()) {
      // A 2xx to an INVITE of ours repeated after its transaction ended: the dialog re-sends its ACK.
      if (sip::method(response.get()) == "INVITE" && sip::status(response.get()) >= 200) {
        auto leg = legs.find(sip::callId(response.get()));
        if (leg != legs.end() && !leg->second->ack.empty()) sendTo(leg->second->ack, leg->second->peer);
      }
      return;
    }
    auto tx = it->second;
    const int code = sip::status(response.get());
    if (tx->completed) {
      if (!tx->ack.empty() && code >= 200) sendTo(tx->ack, tx->destination);
      return;
    }
    if (code < 200) {
      if (tx->invite) tx->retransmit.cancel();  // Proceeding: an INVITE is no longer retransmitted
      else tx->interval = options.t2;
      if (tx->onResponse) tx->onResponse(response.get());
      return;
    }
    tx->completed = true;
    tx->retransmit.cancel();
    tx->timeout.cancel();
    if (tx->invite && code >= 300) {
      tx->ack = ackForFailure(response.get(), tx->wire);
      sendTo(tx->ack, tx->destination);
    }
    // Keep the finished transaction a while to absorb repeated final responses (Timers D/K).
    tx->timeout.expires_after(options.transactionTimeout);
    tx->timeout.async_wait([this, key = tx->key, weak = std::weak_ptr<ClientTransaction>(tx)](const asio::error_code& ec) {
      if (!ec && weak.lock()) clients.erase(key);
    });
    if (tx->onResponse) tx->onResponse(response.get());
  }

  // The ACK a client INVITE transaction sends for a non-2xx final response (§17.1.1.3): same branch, Request-URI,
  // From, Call-ID and CSeq number as the INVITE, To from the response.
  std::string ackForFailure(osip_message_t* response, const std::string& inviteWire) {
    std::string why;
    auto invite = sip::parse(inviteWire, &why);
    if (!invite) return {};
    auto* via = static_cast<osip_via_t*>(osip_list_get(&invite->vias, 0));
    char* viaText = nullptr;
    osip_via_to_str(via, &viaText);
    auto ack = sip::newRequest("ACK", sip::requestUri(invite.get()), viaText ? viaText : "",
                               sip::fromHeader(invite.get()), sip::toHeader(response), sip::callId(invite.get()),
                               sip::cseq(invite.get()));
    osip_free(viaText);
    for (int i = 0; ack && i < osip_list_size(&invite->routes); ++i) {
      osip_route_t* r = nullptr;
      osip_route_clone(static_cast<osip_route_t*>(osip_list_get(&invite->routes, i)), &r);
      osip_list_add(&ack->routes, r, -1);
    }
    return ack ? sip::serialize(ack.get()) : std::string();
  }

  // ---- server transactions ------------------------------------------------------------------------------------

  // Sends (and remembers) a response of the server transaction of request.
  void respond(osip_message_t* request, const Endpoint& peer, int code, const std::string& toTag,
               const std::function<void(osip_message_t*)>& decorate = {}) {
    auto response = sip::newResponse(request, code, toTag);
    if (decorate) decorate(response.get());
    const std::string wire = sip::serialize(response.get());
    const std::string key = sip::topBranch(request) + "|" + sip::method(request);
    auto& tx = servers[key];
    if (!tx) {
      tx = std::make_shared<ServerTransaction>(io);
      tx->peer = peer;
    }
    tx->lastResponse = wire;
    if (code >= 200 && !tx->finalSent) {
      tx->finalSent = true;
      tx->expiry.expires_after(options.transactionTimeout);
      tx->expiry.async_wait([this, key, weak = std::weak_ptr<ServerTransaction>(tx)](const asio::error_code& ec) {
        if (!ec && weak.lock()) servers.erase(key);
      });
    }
    sendTo(wire, peer);
  }

  // ---- incoming -----------------------------------------------------------------------------------------------

  void onDatagram(std::string_view datagram, const Endpoint& from) {
    if (datagram.find_first_not_of("\r\n") == std::string_view::npos) return;  // keepalive CRLFs
    std::string why;
    auto message = sip::parse(datagram, &why);
    if (!message) {
      DAILY_LOG(Warn, "sip", "dropped a malformed message from " << from << ": " << why);
      answerMalformed(datagram, from, why);
      return;
    }
    DAILY_LOG(Info, "sip", "<-- " << firstLine(datagram) << "  (from " << from << ")");
    DAILY_LOG(Debug, "sip", "received from " << from << ":\n" << datagram);
    if (!sip::isRequest(message.get())) return onResponse(std::move(message));
    const std::string method = sip::method(message.get());
    const std::string key = sip::topBranch(message.get()) + "|" + method;
    if (method != "ACK") {
      auto it = servers.find(key);
      if (it != servers.end()) {  // a retransmission: repeat what we answered, if anything
        if (!it->second->lastResponse.empty()) sendTo(it->second->lastResponse, it->second->peer);
        return;
      }
    }
    // A request we cannot serve whatever its method (RFC 3261 8.2.1 and 8.2.2.1; RFC 4475 badvers, unkscm).
    if (method != "ACK") {
      const osip_message_t* m = message.get();
      if (!m->sip_version || std::strcmp(m->sip_version, "SIP/2.0") != 0) return respond(message.get(), from, 505, {});
      const char* scheme = m->req_uri ? m->req_uri->scheme : nullptr;
      if (!scheme || (osip_strcasecmp(scheme, "sip") != 0 && osip_strcasecmp(scheme, "sips") != 0))
        return respond(message.get(), from, 416, {});
    }
    if (method == "INVITE") return onInvite(std::move(message), from);
    if (method == "ACK") return onAck(message.get());
    if (method == "CANCEL") return onCancel(message.get(), from);
    if (method == "BYE") return onBye(message.get(), from);
    if (method == "NOTIFY") return onNotify(message.get(), from);
    if (method == "OPTIONS") {
      return respond(message.get(), from, 200, detail::randomHex(6), [](osip_message_t* r) {
        sip::addHeader(r, "Allow", kAllow);
      });
    }
    if (method == "INFO" || method == "REFER" || method == "UPDATE" || method == "PRACK") {
      Leg* leg = dialogOf(message.get());
      if (!leg) return respond(message.get(), from, 481, {});
      return respond(message.get(), from, method == "INFO" ? 200 : 501, {});
    }
    respond(message.get(), from, 405, {}, [](osip_message_t* r) { sip::addHeader(r, "Allow", kAllow); });
  }

  // A request osip could read but that fails RFC 3261's checks gets a 400 when it has enough to address one.
  void answerMalformed(std::string_view datagram, const Endpoint& from, const std::string& why) {
    if (datagram.rfind("SIP/2.0", 0) == 0) return;  // never answer a response
    osip_message_t* raw = nullptr;
    osip_message_init(&raw);
    sip::MessagePtr m(raw);
    if (osip_message_parse(raw, datagram.data(), datagram.size()) != 0) return;
    if (!MSG_IS_REQUEST(raw) || !raw->sip_method || std::strcmp(raw->sip_method, "ACK") == 0) return;
    if (osip_list_size(&raw->vias) < 1 || !raw->from || !raw->to || !raw->call_id || !raw->cseq) return;
    auto response = sip::newResponse(raw, 400, {});
    osip_free(response->reason_phrase);  // osip_message_set_reason_phrase does not free the one it replaces
    osip_message_set_reason_phrase(response.get(), osip_strdup(("Bad Request (" + why + ")").c_str()));
    sendTo(sip::serialize(response.get()), from);
  }

  // The dialog an in-dialog request belongs to: same Call-ID, and our tag in To.
  Leg* dialogOf(osip_message_t* request) {
    auto it = legs.find(sip::callId(request));
    if (it == legs.end()) return nullptr;
    Leg& leg = *it->second;
    if (sip::toTag(request) != leg.localTag || sip::fromTag(request) != leg.remoteTag) return nullptr;
    return &leg;
  }

  void onInvite(sip::MessagePtr invite, const Endpoint& from) {
    osip_message_t* req = invite.get();
    if (!sip::toTag(req).empty()) {
      // A re-INVITE: accept it with the same media description.
      Leg* leg = dialogOf(req);
      if (!leg) return respond(req, from, 481, {});
      return respond(req, from, 200, {}, [&](osip_message_t* r) {
        osip_message_set_contact(r, contact().c_str());
        sip::setBody(r, "application/sdp", sdpBody(options.host, media.local_endpoint().port(), sip::body(req)));
      });
    }
    if (legs.count(sip::callId(req))) return respond(req, from, 482, {});  // a merged request (§8.2.2.2)
    const std::string roomName = sip::requestUser(req);
    Room* room = hub.findRoom(roomName);
    if (!room) return respond(req, from, 404, detail::randomHex(6));
    if (!room->dialInEnabled()) return respond(req, from, 403, detail::randomHex(6));

    auto leg = std::make_shared<Leg>(io);
    leg->sessionId = detail::newUuid();
    leg->room = roomName;
    leg->dialIn = true;
    leg->state = LegState::Ringing;
    leg->callId = sip::callId(req);
    leg->localTag = detail::randomHex(6);
    leg->remoteTag = sip::fromTag(req);
    leg->localParty = "<" + hub.sipEndpoint(*room) + ">";
    leg->remoteParty = sip::fromHeader(req);
    if (auto tag = leg->remoteParty.find(";tag="); tag != std::string::npos) leg->remoteParty.erase(tag);
    leg->remoteTarget = sip::contactUri(req);
    leg->routeSet = sip::recordRoutes(req);
    std::uint16_t port = 0;
    const std::string host = sip::contactHostPort(req, &port);
    leg->peer = host.empty() ? from : resolve(host, port, from);
    leg->sipFrom = sip::fromUri(req);
    leg->sipEndpoint = hub.sipEndpoint(*room);
    for (const auto& [name, value] : sip::extensionHeaders(req)) leg->sipHeaders[name] = value;
    leg->inviteServerKey = sip::topBranch(req) + "|INVITE";
    legs[leg->callId] = leg;
    sessions[leg->sessionId] = leg->callId;

    respond(req, from, 100, {});
    servers[leg->inviteServerKey]->request = std::move(invite);
    if (options.answerDelay.count() > 0) {
      respond(servers[leg->inviteServerKey]->request.get(), from, 180, leg->localTag);
      leg->timer.expires_after(options.answerDelay);
      leg->timer.async_wait([this, weak = std::weak_ptr<Leg>(leg), from](const asio::error_code& ec) {
        if (auto l = weak.lock(); !ec && l && l->state == LegState::Ringing) answer(*l, from);
      });
    } else {
      answer(*leg, from);
    }
  }

  void answer(Leg& leg, const Endpoint& from) {
    auto tx = servers.find(leg.inviteServerKey);
    if (tx == servers.end() || !tx->second->request) return;
    osip_message_t* req = tx->second->request.get();
    Room* room = hub.findRoom(leg.room);
    if (!room) {
      respond(req, from, 404, leg.localTag);
      return forgetLeg(leg);
    }
    respond(req, from, 200, leg.localTag, [&](osip_message_t* r) {
      osip_message_set_contact(r, contact().c_str());
      sip::addHeader(r, "Allow", kAllow);
      sip::setBody(r, "application/sdp", sdpBody(options.host, media.local_endpoint().port(), sip::body(req)));
    });
    leg.okWire = tx->second->lastResponse;
    leg.state = LegState::Confirmed;
    leg.okInterval = options.t1;
    leg.okDeadline = Clock::now() + options.transactionTimeout;
    retransmitOk(leg.sessionId);

    std::string name = room->properties["sip"].value("display_name", std::string());
    if (name.empty()) name = sip::fromDisplayName(req);
    if (name.empty()) name = leg.sipFrom;
    leg.userId = leg.sessionId;
    json connected{{"sessionId", leg.sessionId}, {"sipCallId", leg.callId}, {"provider", kProvider},
                   {"sipFrom", leg.sipFrom}, {"sipEndpoint", leg.sipEndpoint}, {"userId", leg.userId}};
    if (!leg.sipHeaders.empty()) connected["sipHeaders"] = leg.sipHeaders;
    hub.broadcast(*room, "dialin-connected", connected);
    hub.notify(*room, "dialin.connected", {{"session_id", leg.sessionId}, {"sip_from", leg.sipFrom},
                                           {"display_name", name}, {"sip_headers", leg.sipHeaders}});
    joinRoom(*room, leg, name);
  }

  void joinRoom(Room& room, Leg& leg, const std::string& name) {
    Member member;
    member.kind = leg.dialIn ? MemberKind::SipDialIn : MemberKind::SipDialOut;
    member.participant = Hub::newParticipant(leg.sessionId, name, leg.userId, false, false);
    member.participant["participantType"] = leg.dialIn ? "sip-dial-in" : "sip-dial-out";
    leg.inRoom = true;
    hub.addMember(room, leg.sessionId, std::move(member));
  }

  // 2xx retransmission until the ACK (§13.3.1.4); without an ACK in time the call is torn down with BYE.
  void retransmitOk(const std::string& sessionId) {
    Leg* leg = legOf(sessionId);
    if (!leg) return;
    leg->timer.expires_after(leg->okInterval);
    leg->timer.async_wait([this, sessionId](const asio::error_code& ec) {
      Leg* l = legOf(sessionId);
      if (ec || !l || l->okWire.empty()) return;
      if (Clock::now() >= l->okDeadline) {
        DAILY_LOG(Warn, "sip", "no ACK for call " << l->callId << "; hanging up");
        l->okWire.clear();
        releaseUntilAck(*l, false);
        return hangUp(*l, {});
      }
      sendTo(l->okWire, l->peer);
      l->okInterval = std::min(l->okInterval * 2, options.t2);
      retransmitOk(sessionId);
    });
  }

  void onAck(osip_message_t* ack) {
    auto it = legs.find(sip::callId(ack));
    if (it == legs.end()) return;
    Leg& leg = *it->second;
    if (!leg.okWire.empty() && sip::fromTag(ack) == leg.remoteTag) {
      leg.okWire.clear();
      leg.timer.cancel();
      releaseUntilAck(leg, true);
    }
  }

  // Our own requests in a dial-in dialog wait for the ACK of our 2xx: RFC 3261 section 15 requires it of a BYE,
  // and a REFER or INFO that overtakes the ACK (when our 2xx or the ACK was lost) makes callers abort the call.
  void whenAcked(Leg& leg, std::function<void(bool acked)> action) {
    if (leg.okWire.empty()) return action(true);
    leg.untilAck.push_back(std::move(action));
  }

  void releaseUntilAck(Leg& leg, bool acked) {
    auto waiting = std::move(leg.untilAck);
    leg.untilAck.clear();
    for (auto& action : waiting) action(acked);
  }

  void onCancel(osip_message_t* cancel, const Endpoint& from) {
    auto invite = servers.find(sip::topBranch(cancel) + "|INVITE");
    if (invite == servers.end()) return respond(cancel, from, 481, {});
    respond(cancel, from, 200, {});
    auto it = legs.find(sip::callId(cancel));
    if (it == legs.end() || it->second->state != LegState::Ringing) return;  // already answered: the BYE ends it
    Leg& leg = *it->second;
    leg.timer.cancel();
    respond(invite->second->request.get(), from, 487, leg.localTag);
    DAILY_LOG(Info, "sip", "call " << leg.callId << " cancelled before answer");
    forgetLeg(leg);
  }

  void onBye(osip_message_t* bye, const Endpoint& from) {
    Leg* leg = dialogOf(bye);
    if (!leg) return respond(bye, from, 481, {});
    respond(bye, from, 200, {});
    DAILY_LOG(Info, "sip", "call " << leg->callId << " hung up by the peer");
    endLeg(*leg);
  }

  void onNotify(osip_message_t* notify, const Endpoint& from) {
    Leg* leg = dialogOf(notify);
    std::shared_ptr<Leg> lingering;  // a subscription that outlived its call, kept alive until this returns
    if (!leg) {
      auto it = subscriptions.find(sip::callId(notify));
      if (it == subscriptions.end() || sip::toTag(notify) != it->second->localTag ||
          sip::fromTag(notify) != it->second->remoteTag)
        return respond(notify, from, 481, {});
      lingering = it->second;
      leg = lingering.get();
    }
    const std::string event = sip::header(notify, "event");
    if (event.rfind("refer", 0) != 0) return respond(notify, from, 489, {});
    respond(notify, from, 200, {});
    if (leg->referTo.empty()) return;
    const std::string state = sip::header(notify, "subscription-state");
    if (const auto at = state.find("expires="); at != std::string::npos)
      leg->subscriptionExpires = std::chrono::seconds(std::strtol(state.c_str() + at + 8, nullptr, 10));
    if (auto implied = std::move(leg->referImplied)) implied();
    announceAccepted(*leg);  // before any progress it reports
    const int code = sip::sipfragStatus(sip::body(notify));
    const bool terminated = state.rfind("terminated", 0) == 0;
    if (code == 0 && !terminated) return;
    const bool final = code >= 200 || terminated;
    const std::string status = code == 0 ? "unknown" : code < 200 ? "progress" : code < 300 ? "transferred" : "failed";
    referProgress(*leg, status, code, final, sip::body(notify));
    if (!final) return;
    const bool success = code >= 200 && code < 300;
    if (success) transferWebhook(leg->room, *leg, "calltransfer.answered", leg->referTo, true);
    leg->referTo.clear();
    if (lingering) return endSubscription(*leg);
    if (success) hangUp(*leg, {});  // RFC 5589: the transferor leaves once the transfer succeeded
  }

  // The call of a leg with an accepted REFER has ended: its subscription waits for the final NOTIFY until it
  // expires (as the last NOTIFY said; 64*T1 at least), then reports the transfer's outcome as unknown.
  void keepSubscription(std::shared_ptr<Leg> leg) {
    const auto lifetime = std::max<std::chrono::milliseconds>(
        options.transactionTimeout, std::min<std::chrono::seconds>(leg->subscriptionExpires, std::chrono::hours(1)));
    DAILY_LOG(Info, "sip", "call " << leg->callId << " ended; its refer subscription waits "
                                   << lifetime.count() << " ms for a final NOTIFY");
    const std::string callId = leg->callId;
    leg->timer.expires_after(lifetime);
    leg->timer.async_wait([this, callId](const asio::error_code& ec) {
      if (ec) return;
      auto it = subscriptions.find(callId);
      if (it == subscriptions.end()) return;
      auto expired = it->second;
      referProgress(*expired, "unknown", 0, true, {});
      expired->referTo.clear();
      endSubscription(*expired);
    });
    subscriptions[callId] = std::move(leg);
  }

  void endSubscription(Leg& leg) {
    leg.timer.cancel();
    subscriptions.erase(leg.callId);
  }

  // ---- legs ---------------------------------------------------------------------------------------------------

  Leg* legOf(const std::string& sessionId) {
    auto s = sessions.find(sessionId);
    if (s == sessions.end()) return nullptr;
    auto l = legs.find(s->second);
    return l == legs.end() ? nullptr : l->second.get();
  }

  // The SIP leg sessionId in room, or null.
  Leg* roomLeg(const std::string& room, const std::string& sessionId) {
    Leg* leg = legOf(sessionId);
    return leg && leg->room == room && leg->state != LegState::Ended ? leg : nullptr;
  }

  osip_message_t* finishInDialog(sip::MessagePtr& request, const Leg& leg) {
    if (!request) return nullptr;
    osip_message_set_contact(request.get(), contact().c_str());
    for (const auto& route : leg.routeSet) osip_message_set_route(request.get(), route.c_str());
    return request.get();
  }

  sip::MessagePtr inDialogRequest(Leg& leg, const std::string& method) {
    std::string branch;
    auto request = sip::newRequest(method, leg.remoteTarget.empty() ? leg.sipFrom : leg.remoteTarget,
                                   newVia(&branch), leg.localParty + ";tag=" + leg.localTag,
                                   leg.remoteParty + (leg.remoteTag.empty() ? "" : ";tag=" + leg.remoteTag),
                                   leg.callId, ++leg.localCseq);
    finishInDialog(request, leg);
    return request;
  }

  // Tells the room the leg is gone (participant-left, then dialin-stopped / dialout-stopped) and forgets it.
  void endLeg(Leg& leg) {
    if (leg.state == LegState::Ended) return;
    announceAccepted(leg);  // the room hears of an accepted REFER before it hears the call is gone
    leg.state = LegState::Ended;
    leg.timer.cancel();
    const std::string sessionId = leg.sessionId;
    if (Room* room = hub.findRoom(leg.room)) {
      if (leg.inRoom) hub.removeMember(*room, leg.sessionId);
      leg.inRoom = false;
      json stopped{{"sessionId", leg.sessionId}};
      if (leg.dialIn) {
        stopped.update({{"sipCallId", leg.callId}, {"provider", kProvider}, {"sipFrom", leg.sipFrom},
                        {"sipEndpoint", leg.sipEndpoint}, {"userId", leg.userId}});
        hub.broadcast(*room, "dialin-stopped", stopped);
        hub.notify(*room, "dialin.stopped", {{"session_id", leg.sessionId}, {"sip_from", leg.sipFrom}});
      } else if (leg.connectedSent) {
        if (!leg.userId.empty()) stopped["userId"] = leg.userId;
        hub.broadcast(*room, "dialout-stopped", stopped);
        hub.notify(*room, "dialout.stopped", {{"session_id", leg.sessionId}, {"user_id", leg.userId},
                                              {"destination", leg.destination}});
      }
    }
    if (!leg.transferRoom.empty()) transferWebhook(leg.transferRoom, leg, "calltransfer.completed", leg.transferTo, false);
    if (auto abandoned = std::move(leg.referAbandoned)) abandoned();
    releaseUntilAck(leg, false);
    auto onEnded = std::move(leg.onEnded);
    const std::string bridged = leg.bridgedWith;
    std::shared_ptr<Leg> subscribed;
    if (leg.referAccepted && !leg.referTo.empty()) subscribed = legs[leg.callId];
    forgetLeg(leg);
    if (subscribed) keepSubscription(std::move(subscribed));
    if (onEnded) onEnded();
    if (Leg* other = legOf(bridged)) hangUp(*other, {});  // one side of a bridge hung up: so does the other
  }

  void forgetLeg(Leg& leg) {
    leg.timer.cancel();
    sessions.erase(leg.sessionId);
    auto keep = legs[leg.callId];  // keep it alive until this returns
    legs.erase(leg.callId);
  }

  // Sends BYE and ends the leg when it is answered or times out.
  void hangUp(Leg& leg, std::function<void()> done) {
    if (leg.state != LegState::Confirmed) {
      if (done) done();
      return;
    }
    const std::string sessionId = leg.sessionId;
    whenAcked(leg, [this, sessionId, done](bool) {
      Leg* l = legOf(sessionId);
      if (!l || l->state != LegState::Confirmed) {
        if (done) done();
        return;
      }
      auto bye = inDialogRequest(*l, "BYE");
      auto finish = [this, sessionId, done] {
        if (Leg* ended = legOf(sessionId)) endLeg(*ended);
        if (done) done();
      };
      sendRequest(bye.get(), l->peer, [finish](osip_message_t* r) { if (sip::status(r) >= 200) finish(); }, finish);
    });
  }

  void announceAccepted(Leg& leg) {
    auto announce = std::move(leg.announceAccepted);
    leg.announceAccepted = nullptr;
    if (announce) announce();
  }

  void referProgress(const Leg& leg, const std::string& status, int code, bool final, const std::string& sipfrag) {
    Room* room = hub.findRoom(leg.room);
    if (!room) return;
    json payload{{"sessionId", leg.sessionId}, {"toEndPoint", leg.referTo}, {"status", status},
                 {"sipStatus", code},        {"final", final}};
    if (!sipfrag.empty()) {
      std::string line = sipfrag.substr(0, sipfrag.find_first_of("\r\n"));
      payload["sipfrag"] = line;
    }
    hub.broadcastToOwnersAndAdmins(*room, "sip-refer-progress", payload);
  }

  // A calltransfer.* webhook, Daily's payload; leg is the SIP participant being transferred.
  void transferWebhook(const std::string& roomName, const Leg& leg, const std::string& type, const std::string& to,
                       bool isRefer) {
    if (!hub.wantsWebhook(type)) return;
    Room* room = hub.findRoom(roomName);
    if (!room) return;
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch()).count();
    hub.notify(*room, type,
               {{"timestamp", std::to_string(now)}, {"session_id", leg.sessionId}, {"mtg_session_id", room->id},
                {"to_endpoint", to}, {"from_endpoint", leg.dialIn ? leg.sipFrom : leg.destination},
                {"is_sip_refer", isRefer}});
  }

  // ---- telephony requests -------------------------------------------------------------------------------------

  void sipRefer(const std::string& room, const std::string& sessionId, const std::string& toEndPoint,
                const json& headers, const std::string& referredBy, Reply reply) {
    Leg* leg = roomLeg(room, sessionId);
    if (!leg) return reply(wireError(ErrorCode::NotFound, "no SIP participant with session " + sessionId + " in this room"), {});
    if (leg->state != LegState::Confirmed || !leg->bridgedWith.empty())
      return reply(wireError(ErrorCode::InvalidArgument, "session " + sessionId + " is not an established SIP call"), {});
    if (!leg->referTo.empty())
      return reply(wireError(ErrorCode::InvalidArgument, "a transfer of session " + sessionId + " is already in progress"), {});
    leg->referTo = toEndPoint;
    leg->referAccepted = false;
    whenAcked(*leg, [this, sessionId, toEndPoint, headers, referredBy, reply](bool acked) {
      Leg* l = legOf(sessionId);
      if (acked && l) return sendRefer(*l, toEndPoint, headers, referredBy, reply);
      if (l) l->referTo.clear();
      reply(wireError(ErrorCode::ConnectionLost, "the call ended before the caller confirmed it (no ACK)"), {});
    });
  }

  void sendRefer(Leg& target, const std::string& toEndPoint, const json& headers, const std::string& referredBy,
                 const Reply& reply) {
    Leg* leg = &target;
    const std::string sessionId = leg->sessionId;
    const std::string room = leg->room;
    auto refer = inDialogRequest(*leg, "REFER");
    sip::addHeader(refer.get(), "Refer-To", "<" + toEndPoint + ">");
    sip::addHeader(refer.get(), "Referred-By", "<" + referredBy + ">");
    for (const auto& [name, value] : headers.items()) sip::addHeader(refer.get(), name, value.get<std::string>());
    DAILY_LOG(Info, "sip", "REFER " << leg->callId << " to " << toEndPoint);
    transferWebhook(room, *leg, "calltransfer.triggered", toEndPoint, true);
    // Exactly one of accepted / refused / timed out / abandoned answers the caller; `done` says it happened.
    auto done = std::make_shared<bool>(false);
    auto accepted = [this, sessionId, reply, done](int code) {
      if (std::exchange(*done, true)) return;
      reply(std::nullopt, json::object());
      Leg* l = legOf(sessionId);
      if (!l) return;
      l->referAccepted = true;
      l->referImplied = nullptr;
      l->referAbandoned = nullptr;
      // The room hears of it once the answer is on its way: websocketpp writes the answer from a handler it has
      // just queued, and this broadcast (a frame per participant) would otherwise run first, making sipRefer's
      // latency grow with the room. A NOTIFY or the call's end handled meanwhile announces it first.
      l->announceAccepted = [this, sessionId, code] {
        if (Leg* leg = legOf(sessionId)) {
          referProgress(*leg, "accepted", code, false, {});
          transferWebhook(leg->room, *leg, "calltransfer.initiated", leg->referTo, true);
        }
      };
      asio::post(io, [this, sessionId] {
        if (Leg* leg = legOf(sessionId)) announceAccepted(*leg);
      });
    };
    auto tx = sendRequest(
        refer.get(), leg->peer,
        [this, sessionId, reply, done, accepted](osip_message_t* response) {
          const int code = sip::status(response);
          if (code < 200) return;
          if (code < 300) return accepted(code);
          if (std::exchange(*done, true)) return;
          if (Leg* l = legOf(sessionId)) {
            referProgress(*l, "rejected", code, true, {});
            l->referTo.clear();
            l->referImplied = nullptr;
            l->referAbandoned = nullptr;
          }
          reply(wireError(ErrorCode::SipRejected,
                          "the SIP peer refused the REFER: " + std::to_string(code) + " " + sip::reason(response), code),
                {});
        },
        [this, sessionId, reply, done] {
          if (std::exchange(*done, true)) return;
          if (Leg* l = legOf(sessionId)) {
            referProgress(*l, "timeout", 0, true, {});
            l->referTo.clear();
            l->referImplied = nullptr;
            l->referAbandoned = nullptr;
          }
          reply(wireError(ErrorCode::Timeout, "the SIP peer did not answer the REFER"), {});
        });
    std::weak_ptr<ClientTransaction> weakTx = tx;
    leg->referImplied = [this, weakTx, accepted] {
      if (auto t = weakTx.lock()) abandonClient(*t);  // no more retransmissions: the peer has it
      accepted(0);  // 0: no SIP status was seen; the NOTIFY says the REFER was accepted
    };
    leg->referAbandoned = [this, weakTx, reply, done] {
      if (auto t = weakTx.lock()) abandonClient(*t);
      if (std::exchange(*done, true)) return;
      reply(wireError(ErrorCode::ConnectionLost, "the call ended before the SIP peer answered the REFER"), {});
    };
  }

  // Sends an INVITE for a new leg of ours (dial-out, or the far side of a bridge).
  std::shared_ptr<Leg> invite(const std::string& room, const std::string& target, const std::string& fromParty,
                              const std::string& displayName) {
    auto leg = std::make_shared<Leg>(io);
    leg->sessionId = detail::newUuid();
    leg->room = room;
    leg->dialIn = false;
    leg->state = LegState::Calling;
    leg->callId = detail::randomHex(12) + "@" + options.host;
    leg->localTag = detail::randomHex(6);
    leg->localParty = (displayName.empty() ? "" : "\"" + displayName + "\" ") + fromParty;
    leg->remoteParty = "<" + target + ">";
    leg->remoteTarget = target;
    leg->destination = target;
    std::string branch;
    auto request = sip::newRequest("INVITE", target, newVia(&branch), leg->localParty + ";tag=" + leg->localTag,
                                   leg->remoteParty, leg->callId, leg->localCseq);
    if (!request) return nullptr;
    osip_message_set_contact(request.get(), contact().c_str());
    sip::addHeader(request.get(), "Allow", kAllow);
    sip::setBody(request.get(), "application/sdp", sdpBody(options.host, media.local_endpoint().port(), {}));
    osip_uri_t* uri = request->req_uri;
    const std::uint16_t port = uri->port ? static_cast<std::uint16_t>(std::strtoul(uri->port, nullptr, 10)) : 5060;
    leg->peer = resolve(uri->host ? uri->host : "", port, Endpoint());
    if (leg->peer.port() == 0) return nullptr;
    leg->inviteKey = branch + "|INVITE";
    leg->invite = std::move(request);
    legs[leg->callId] = leg;
    sessions[leg->sessionId] = leg->callId;
    return leg;
  }

  // Drives an outgoing INVITE; onAnswered / onFailed(status, reason) / onProgress(status) report its outcome.
  void runInvite(const std::shared_ptr<Leg>& leg, std::function<void(int)> onProgress, std::function<void()> onAnswered,
                 std::function<void(int, const std::string&)> onFailed) {
    const std::string sessionId = leg->sessionId;
    sendRequest(
        leg->invite.get(), leg->peer,
        [this, sessionId, onProgress, onAnswered, onFailed](osip_message_t* response) {
          Leg* l = legOf(sessionId);
          if (!l) return;
          const int code = sip::status(response);
          if (code < 200) return onProgress(code);
          if (code >= 300) {
            forgetLeg(*l);
            return onFailed(code, sip::reason(response));
          }
          l->remoteTag = sip::toTag(response);
          l->remoteParty += "";
          if (!sip::contactUri(response).empty()) l->remoteTarget = sip::contactUri(response);
          std::uint16_t port = 0;
          const std::string host = sip::contactHostPort(response, &port);
          if (!host.empty()) l->peer = resolve(host, port, l->peer);
          auto routes = sip::recordRoutes(response);
          l->routeSet.assign(routes.rbegin(), routes.rend());
          l->state = LegState::Confirmed;
          std::string branch;
          auto ack = sip::newRequest("ACK", l->remoteTarget, newVia(&branch), l->localParty + ";tag=" + l->localTag,
                                     l->remoteParty + ";tag=" + l->remoteTag, l->callId, l->localCseq);
          finishInDialog(ack, *l);
          l->ack = sip::serialize(ack.get());
          sendTo(l->ack, l->peer);
          if (l->cancelRequested) return hangUp(*l, {});  // the 2xx crossed our CANCEL
          onAnswered();
        },
        [this, sessionId, onFailed] {
          if (Leg* l = legOf(sessionId)) {
            sendCancel(*l);
            forgetLeg(*l);
          }
          onFailed(0, "no answer");
        });
  }

  void sendCancel(Leg& leg) {
    if (!leg.invite) return;
    auto* via = static_cast<osip_via_t*>(osip_list_get(&leg.invite->vias, 0));
    char* viaText = nullptr;
    osip_via_to_str(via, &viaText);
    auto cancel = sip::newRequest("CANCEL", leg.destination, viaText ? viaText : "", leg.localParty + ";tag=" + leg.localTag,
                                  leg.remoteParty, leg.callId, leg.localCseq);
    osip_free(viaText);
    if (cancel) sendRequest(cancel.get(), leg.peer, {}, {});
  }

  void startDialOut(const std::string& room, const json& params, Reply reply) {
    Room* r = hub.findRoom(room);
    if (!r) return reply(wireError(ErrorCode::NotFound, "the room no longer exists"), {});
    const std::string displayName = params.value("displayName", std::string());
    auto leg = invite(room, params.value("sipUri", std::string()), "<" + hub.sipEndpoint(*r) + ">", displayName);
    if (!leg)
      return reply(wireError(ErrorCode::InvalidArgument, "startDialOut: sipUri must name an IP address host (the devserver does no DNS)"), {});
    leg->userId = params.value("userId", std::string());
    leg->sipFrom = hub.sipEndpoint(*r);
    const std::string sessionId = leg->sessionId;
    const std::string destination = leg->destination;
    auto connected = [this, sessionId] {
      Leg* l = legOf(sessionId);
      Room* rm = l ? hub.findRoom(l->room) : nullptr;
      if (!rm || l->connectedSent) return;
      l->connectedSent = true;
      json payload{{"sessionId", l->sessionId}, {"destination", l->destination}, {"sipCallId", l->callId},
                   {"provider", kProvider}};
      if (!l->userId.empty()) payload["userId"] = l->userId;
      hub.broadcast(*rm, "dialout-connected", payload);
      hub.notify(*rm, "dialout.connected", {{"session_id", l->sessionId}, {"user_id", l->userId},
                                            {"destination", l->destination}});
    };
    runInvite(
        leg, [connected](int code) { if (code > 100) connected(); },
        [this, sessionId, connected, displayName] {
          connected();
          Leg* l = legOf(sessionId);
          Room* rm = l ? hub.findRoom(l->room) : nullptr;
          if (!rm) return;
          hub.broadcast(*rm, "dialout-answered", {{"sessionId", l->sessionId}, {"destination", l->destination},
                                                  {"sipCallId", l->callId}, {"callerId", l->sipFrom}});
          hub.notify(*rm, "dialout.answered", {{"session_id", l->sessionId}, {"user_id", l->userId},
                                               {"destination", l->destination}});
          joinRoom(*rm, *l, displayName.empty() ? l->destination : displayName);
        },
        [this, room, sessionId, userId = leg->userId, destination](int code, const std::string& why) {
          Room* rm = hub.findRoom(room);
          if (!rm) return;
          const bool cancelled = code == 487;
          json payload{{"sessionId", sessionId}, {"destination", destination}};
          if (!userId.empty()) payload["userId"] = userId;
          const json webhook{{"session_id", sessionId}, {"user_id", userId}, {"destination", destination}};
          if (cancelled) {
            hub.notify(*rm, "dialout.stopped", webhook);
            return hub.broadcast(*rm, "dialout-stopped", payload);
          }
          payload["errorMsg"] = code ? "the callee answered " + std::to_string(code) + " " + why
                                     : "the callee did not answer in time";
          payload["sipStatus"] = code;
          hub.broadcast(*rm, "dialout-error", payload);
          json error = webhook;
          error["error_msg"] = payload["errorMsg"];
          error["sip_status"] = code;
          hub.notify(*rm, "dialout.error", error);
        });
    DAILY_LOG(Info, "sip", "dial-out " << sessionId << " to " << destination);
    reply(std::nullopt, {{"session", {{"sessionId", sessionId}}}});
  }

  void stopDialOut(const std::string& room, const std::string& sessionId, Reply reply) {
    Leg* leg = roomLeg(room, sessionId);
    if (!leg || leg->dialIn) return reply(wireError(ErrorCode::NotFound, "no dial-out session " + sessionId + " in this room"), {});
    if (leg->state == LegState::Calling) {
      leg->cancelRequested = true;
      sendCancel(*leg);
      return reply(std::nullopt, json::object());
    }
    hangUp(*leg, [reply] { reply(std::nullopt, json::object()); });
  }

  void sipCallTransfer(const std::string& room, const std::string& sessionId, const std::string& toEndPoint,
                       Reply reply) {
    Leg* caller = roomLeg(room, sessionId);
    if (!caller) return reply(wireError(ErrorCode::NotFound, "no SIP participant with session " + sessionId + " in this room"), {});
    if (caller->state != LegState::Confirmed || !caller->bridgedWith.empty() || !caller->referTo.empty())
      return reply(wireError(ErrorCode::InvalidArgument, "session " + sessionId + " is not an established SIP call"), {});
    if (toEndPoint.rfind("tel:", 0) == 0)
      return reply(wireError(ErrorCode::InvalidArgument, "the devserver transfers to SIP URIs only (no PSTN)"), {});
    auto far = invite({}, toEndPoint, caller->remoteParty, {});
    if (!far) return reply(wireError(ErrorCode::InvalidArgument, "toEndPoint must name an IP address host (the devserver does no DNS)"), {});
    caller->referTo = toEndPoint;
    transferWebhook(room, *caller, "calltransfer.triggered", toEndPoint, false);
    transferWebhook(room, *caller, "calltransfer.initiated", toEndPoint, false);
    const std::string farId = far->sessionId;
    auto progress = [this, sessionId, toEndPoint](const std::string& status, int code) {
      Leg* l = legOf(sessionId);
      Room* rm = l ? hub.findRoom(l->room) : nullptr;
      if (!rm) return;
      const json payload{{"sessionId", sessionId}, {"toEndPoint", toEndPoint}, {"status", status}, {"sipStatus", code}};
      hub.broadcastToOwnersAndAdmins(*rm, "sip-call-transfer-progress", payload);
    };
    runInvite(
        far, [progress](int code) { if (code > 100) progress("ringing", code); },
        [this, sessionId, farId, progress, reply] {
          Leg* c = legOf(sessionId);
          Leg* f = legOf(farId);
          if (!c || !f) {
            if (f) hangUp(*f, {});
            return reply(wireError(ErrorCode::NotFound, "the caller hung up during the transfer"), {});
          }
          progress("answered", 200);
          transferWebhook(c->room, *c, "calltransfer.answered", c->referTo, false);
          c->transferRoom = c->room;
          c->transferTo = c->referTo;
          c->referTo.clear();
          c->bridgedWith = farId;
          f->bridgedWith = sessionId;
          // The caller leaves the room; its leg stays up, bridged to the new one, until either side hangs up.
          if (Room* rm = hub.findRoom(c->room)) {
            hub.removeMember(*rm, sessionId);
            c->inRoom = false;
            json stopped{{"sessionId", sessionId}};
            if (c->dialIn) {
              stopped.update({{"sipCallId", c->callId}, {"provider", kProvider}, {"sipFrom", c->sipFrom},
                              {"sipEndpoint", c->sipEndpoint}});
            }
            hub.broadcast(*rm, c->dialIn ? "dialin-stopped" : "dialout-stopped", stopped);
          }
          c->room.clear();
          reply(std::nullopt, json::object());
        },
        [this, sessionId, progress, reply](int code, const std::string& why) {
          if (Leg* c = legOf(sessionId)) c->referTo.clear();
          progress("failed", code);
          if (code == 0) return reply(wireError(ErrorCode::Timeout, "the transfer target did not answer"), {});
          reply(wireError(ErrorCode::SipRejected, "the transfer target answered " + std::to_string(code) + " " + why, code), {});
        });
  }

  void sendDtmf(const std::string& room, const std::string& sessionId, const std::string& tones, int durationMs,
                Reply reply) {
    Leg* leg = roomLeg(room, sessionId);
    if (!leg) return reply(wireError(ErrorCode::NotFound, "no SIP participant with session " + sessionId + " in this room"), {});
    if (leg->state != LegState::Confirmed)
      return reply(wireError(ErrorCode::InvalidArgument, "session " + sessionId + " is not an established SIP call"), {});
    whenAcked(*leg, [this, sessionId, tones, durationMs, reply](bool acked) {
      if (acked) return sendDigit(sessionId, tones, 0, durationMs, reply);
      reply(wireError(ErrorCode::ConnectionLost, "the call ended before the caller confirmed it (no ACK)"), {});
    });
  }

  // One INFO per digit, each after the previous one was answered (RFC 6086 has no ordering across transactions).
  void sendDigit(const std::string& sessionId, const std::string& tones, std::size_t index, int durationMs, Reply reply) {
    if (index == tones.size()) return reply(std::nullopt, json::object());
    Leg* leg = legOf(sessionId);
    if (!leg || leg->state != LegState::Confirmed)
      return reply(wireError(ErrorCode::NotFound, "the SIP call ended before every tone was sent"), {});
    auto info = inDialogRequest(*leg, "INFO");
    const char digit = static_cast<char>(std::toupper(static_cast<unsigned char>(tones[index])));
    sip::setBody(info.get(), "application/dtmf-relay",
                 std::string("Signal=") + digit + "\r\nDuration=" + std::to_string(durationMs) + "\r\n");
    sendRequest(
        info.get(), leg->peer,
        [this, sessionId, tones, index, durationMs, reply](osip_message_t* response) {
          const int code = sip::status(response);
          if (code < 200) return;
          if (code >= 300)
            return reply(wireError(ErrorCode::SipRejected, "the SIP peer refused DTMF: " + std::to_string(code), code), {});
          sendDigit(sessionId, tones, index + 1, durationMs, reply);
        },
        [reply] { reply(wireError(ErrorCode::Timeout, "the SIP peer did not answer the DTMF INFO"), {}); });
  }

  void roomDeleted(const std::string& room) {
    std::vector<std::string> ids;
    for (const auto& [callId, leg] : legs)
      if (leg->room == room) ids.push_back(leg->sessionId);
    for (const auto& id : ids) {
      Leg* leg = legOf(id);
      if (!leg) continue;
      leg->room.clear();
      if (leg->state == LegState::Calling) {
        sendCancel(*leg);
        leg->cancelRequested = true;
      } else {
        hangUp(*leg, {});
      }
    }
  }
};

Gateway::Gateway(asio::io_context& io, Hub& hub, GatewayOptions options)
    : impl_(std::make_unique<Impl>(io, hub, std::move(options))) {}
Gateway::~Gateway() = default;
void Gateway::start() { impl_->start(); }
std::uint16_t Gateway::port() const { return impl_->boundPort; }
void Gateway::stop() { impl_->stop(); }

void Gateway::sipRefer(const std::string& room, const std::string& sessionId, const std::string& toEndPoint,
                       const json& headers, const std::string& referredBy, Reply reply) {
  impl_->sipRefer(room, sessionId, toEndPoint, headers, referredBy, std::move(reply));
}
void Gateway::sipCallTransfer(const std::string& room, const std::string& sessionId, const std::string& toEndPoint,
                              Reply reply) {
  impl_->sipCallTransfer(room, sessionId, toEndPoint, std::move(reply));
}
void Gateway::startDialOut(const std::string& room, const json& params, Reply reply) {
  impl_->startDialOut(room, params, std::move(reply));
}
void Gateway::stopDialOut(const std::string& room, const std::string& sessionId, Reply reply) {
  impl_->stopDialOut(room, sessionId, std::move(reply));
}
void Gateway::sendDtmf(const std::string& room, const std::string& sessionId, const std::string& tones, int durationMs,
                       Reply reply) {
  impl_->sendDtmf(room, sessionId, tones, durationMs, std::move(reply));
}
void Gateway::roomDeleted(const std::string& room) { impl_->roomDeleted(room); }

void Gateway::handleDatagram(std::string_view datagram) {
  if (datagram.size() > kMaxDatagram) return;  // the socket could not have delivered it
  impl_->onDatagram(datagram, Endpoint(asio::ip::make_address("127.0.0.1"), 9));
}

void Gateway::greet(const Room& room, const std::function<void(const std::string&, const json&)>& send) {
  if (room.dialInEnabled())
    send("dialin-ready", {{"sipEndpoint", impl_->hub.sipEndpoint(room)}, {"provider", kProvider}});
}

}  // namespace daily::devserver
