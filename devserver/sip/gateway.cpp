#include "sip/gateway.hpp"

// The application layer of the gateway: legs (a dial-in caller, a dial-out callee, the far leg of a bridge), the
// rooms they are in, transfers and DTMF, and the events and webhooks that report them. It drives the SIP layers
// below it (sip/transport, sip/transaction, sip/dialog) by calls, and they report up through callbacks, all on
// the devserver's io thread. This is the only SIP file that knows rooms (hub.hpp) or media.

#include "common/ids.hpp"
#include "common/log.hpp"
#include "media/engine.hpp"
#include "media/sdp.hpp"
#include "sip/auth.hpp"
#include "sip/dialog.hpp"
#include "sip/invite.hpp"
#include "sip/message.hpp"
#include "sip/refer.hpp"
#include "sip/resolver.hpp"
#include "sip/tcp.hpp"
#include "sip/timers.hpp"
#include "sip/transaction.hpp"
#include "sip/transport.hpp"

#include <daily/sip_uri.hpp>

#include <asio/ip/udp.hpp>
#include <asio/post.hpp>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <utility>

namespace daily::devserver {
namespace {

using nlohmann::json;
using protocol::WireError;
using sip::Flow;

constexpr const char* kAllow = "INVITE, ACK, BYE, CANCEL, OPTIONS, REFER, NOTIFY, INFO";
// Methods the gateway knows of, whether or not it serves them: others get 501, these 405 when not in kAllow.
constexpr std::array<const char*, 14> kKnownMethods{"INVITE", "ACK",     "BYE",     "CANCEL", "OPTIONS",
                                                    "REGISTER", "PRACK", "SUBSCRIBE", "NOTIFY", "PUBLISH",
                                                    "INFO",     "REFER", "MESSAGE", "UPDATE"};
// The body types the gateway reads, per method: anything else is answered 415 (RFC 3261 8.2.3).
constexpr const char* kSdp = "application/sdp";

constexpr const char* kNeedsSipUri = "must be a sip: or sips: URI";

// The protocol a URI asks for by itself (RFC 3263 4.1): TLS for sips: or transport=tls, TCP or UDP by its transport
// parameter; nullopt when it names none, or one the gateway does not speak (then *known is false).
std::optional<sip::Protocol> namedProtocol(const sip::UriTarget& uri, bool* known) {
  *known = true;
  if (uri.secure || uri.transport == "tls") return sip::Protocol::Tls;
  if (uri.transport == "tcp") return sip::Protocol::Tcp;
  if (uri.transport == "udp") return sip::Protocol::Udp;
  *known = uri.transport.empty();
  return std::nullopt;
}

// The outbound proxy as a route: checked, with ";lr" (an outbound proxy is a loose router, §8.1.2).
std::string outboundRoute(const GatewayOptions& o) {
  const std::string& proxy = o.outboundProxy;
  if (proxy.empty()) return {};
  auto target = sip::uriTarget(proxy);
  bool known = false;
  const auto protocol = target ? namedProtocol(*target, &known) : std::nullopt;
  if (!target || !known)
    throw std::invalid_argument("the SIP outbound proxy must be a sip: or sips: URI over UDP, TCP or TLS, as "
                                "sip:proxy.example.com;transport=tcp or sip:192.0.2.1:5060: " + proxy);
  if (protocol == sip::Protocol::Tls && o.tlsCertFile.empty())
    throw std::invalid_argument("the SIP outbound proxy is reached over TLS, and no SIP TLS certificate is given: " + proxy);
  return target->looseRouter ? proxy : proxy + ";lr";
}

// The TLS context of SIP over TLS, from the certificate, key and CA files; null without a certificate.
std::unique_ptr<asio::ssl::context> tlsContext(const GatewayOptions& o) {
  if (o.tlsCertFile.empty() && o.tlsKeyFile.empty()) return nullptr;
  if (o.tlsCertFile.empty() || o.tlsKeyFile.empty())
    throw std::invalid_argument("SIP over TLS needs both a certificate and its key");
  auto context = std::make_unique<asio::ssl::context>(asio::ssl::context::tls);
  context->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                       asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
  auto load = [](const std::string& what, const std::string& file, auto&& f) {
    asio::error_code ec;
    f(ec);
    if (ec) throw std::invalid_argument("SIP over TLS: cannot use " + what + " " + file + ": " + ec.message());
  };
  load("the certificate chain", o.tlsCertFile, [&](asio::error_code& ec) { context->use_certificate_chain_file(o.tlsCertFile, ec); });
  load("the private key", o.tlsKeyFile, [&](asio::error_code& ec) { context->use_private_key_file(o.tlsKeyFile, asio::ssl::context::pem, ec); });
  if (!o.tlsCaFile.empty()) load("the CA file", o.tlsCaFile, [&](asio::error_code& ec) { context->load_verify_file(o.tlsCaFile, ec); });
  else load("the system's CAs", "", [&](asio::error_code& ec) { context->set_default_verify_paths(ec); });
  return context;
}

bool knownMethod(const std::string& method) {
  return std::any_of(kKnownMethods.begin(), kKnownMethods.end(), [&](const char* m) { return method == m; });
}
constexpr const char* kProvider = "daily";

WireError wireError(ErrorCode code, std::string message, int sipStatus = 0) {
  return WireError{code, std::move(message), sipStatus, {}};
}

enum class LegState { Ringing, Calling, Confirmed, Ended };

// One SIP dialog of the gateway and what the room knows of it: a dial-in caller, a dial-out callee, or the far
// leg of a sipCallTransfer. The usages of its dialog are the INVITE session's (sip::AnsweredInvite: our 2xx until
// its ACK; sip::CallingInvite: our INVITE, its targets, its ACK) and sip::ReferSubscription (our REFER's
// subscription); the inbound REFER's bookkeeping lives here.
struct Leg {
  Leg(sip::Transport& transport, sip::Timers& timers) : timer(timers), answered(transport, timers) {}
  std::string sessionId;
  std::string room;      // empty for the far leg of a bridge
  bool dialIn = false;
  LegState state = LegState::Ringing;
  bool inRoom = false;   // its participant is in the room
  sip::Dialog dialog;
  sip::Timer timer;      // dial-in: ringing delay; after the call: the subscription's life
  sip::AnsweredInvite answered;  // dial-in: our 200 to the INVITE, until the ACK arrives, and what waits for it
  // Dial-in: while DNS looks up the dialog's next hop (a host name), the requests of ours that wait for it.
  bool lookingUpHop = false;
  std::vector<std::function<void()>> afterLookup;
  std::string inviteServerKey;
  // Dial-out / bridge far leg: our INVITE (after dialog: it sends within it), and the URI of its first hop (the
  // outbound proxy, else the target).
  std::unique_ptr<sip::CallingInvite> calling;
  std::string hopUri;
  bool connectedSent = false;
  // What the room was told about it.
  std::string sipFrom;
  std::string sipEndpoint;
  std::string destination;
  std::string userId;
  json sipHeaders = json::object();
  // Transfers.
  std::string referTo;      // a REFER is in progress toward this
  sip::ReferSubscription refer;  // ... and the subscription it makes
  // While our REFER has no final answer: the NOTIFY that implies its acceptance (RFC 3515 2.4.4: it may overtake a
  // lost or late 202) calls referImplied; the dialog ending first calls referAbandoned. Each finishes the REFER.
  std::function<void()> referImplied;
  std::function<void()> referAbandoned;
  std::function<void()> announceAccepted;  // the "accepted" event, until it has been broadcast
  std::string bridgedWith;  // sessionId of the other leg of a sipCallTransfer bridge
  std::string transferRoom; // the room a bridged caller left (for calltransfer.completed)
  std::string transferTo;
  std::function<void()> onEnded;  // stopDialOut waiting for the leg to end
  // Inbound REFER (the peer transfers its call to the gateway). On the referrer: the session of the gateway's
  // call to the Refer-To target while it is under way, that target, and the REFER's CSeq (its subscription's id).
  // On that call's leg: the referrer's Call-ID, session and room.
  std::string referredTo;
  std::string referredToUri;
  std::uint32_t referCseq = 0;
  std::string referrerCallId;
  std::string referrerSession;
  std::string referrerRoom;
  // A dial-in INVITE with Replaces (RFC 3891): the Call-ID of the gateway's call whose participant it takes over.
  std::string replacing;
  // Media: its RTP session in the engine (0: none, or closed), its side of the offer/answer and what that
  // negotiated, whether the answer to an offer of ours is still to come (in an ACK), and a dial-in's SDP answer.
  media::Engine::SessionId media = 0;
  std::optional<media::LocalSdp> sdp;
  media::Negotiated negotiated;
  bool negotiatedOnce = false;
  bool offerPending = false;
  std::string localBody;
};

}  // namespace

struct Gateway::Impl {
  Impl(asio::io_context& io_, Hub& hub_, GatewayOptions options_)
      : io(io_),
        hub(hub_),
        options(std::move(options_)),
        outboundProxy(outboundRoute(options)),
        tlsContext(daily::devserver::tlsContext(options)),
        timers(io_),
        udp(io_, options.host, options.port),
        tcp(io_, timers, sip::TcpOptions{options.host, 0, {}, options.tcpMessageTimeout, options.tcpIdleTimeout}),
        tls(io_, timers,
            sip::TcpOptions{options.host, 0, {}, options.tcpMessageTimeout, options.tcpIdleTimeout, 1 << 20, 1024,
                            tlsContext.get(), options.tlsVerifyPeers}),
        transport(udp, tcp, tls),
        transactions(transport, timers, sip::TransactionConfig{options.t1, options.t2, options.transactionTimeout}),
        dialInAuth(options.dialInCredentials, options.dialInSha256),
        resolver(io_, sip::ResolverOptions{options.dnsServers, std::chrono::milliseconds(2000), 2,
                                           asio::ip::make_address(options.host).is_v6() ? AF_INET6 : AF_INET,
                                           tlsContext != nullptr}),
        engine(media::EngineOptions{options.host, options.rtpFirstPort, options.rtpLastPort, options.rtpTimeout},
               media::Engine::Events{
                   [this](media::Engine::SessionId id, char tone, int volume) {
                     asio::post(io, [this, id, tone, volume] { onRtpDtmf(id, tone, volume); });
                   },
                   [this](media::Engine::SessionId id) { asio::post(io, [this, id] { onRtpTimeout(id); }); }}) {
    auto receive = [this](std::string_view message, const Flow& from) { transactions.receive(message, from); };
    udp.onReceive(receive);
    tcp.onReceive(receive);
    tls.onReceive(receive);
    transactions.setUser({[this](sip::MessagePtr request, const Flow& from) { onRequest(std::move(request), from); },
                          [this](osip_message_t* response, const Flow&) { onUnmatchedResponse(response); }});
  }

  asio::io_context& io;
  Hub& hub;
  GatewayOptions options;
  const std::string outboundProxy;  // options.outboundProxy as a route's URI, "" when none
  std::unique_ptr<asio::ssl::context> tlsContext;  // null when TLS is not served
  // The SIP layers, bottom up. The legs below hold timers of `timers`, so it is declared first (destroyed last).
  sip::AsioTimers timers;
  sip::UdpTransport udp;
  sip::TcpTransport tcp;
  sip::TcpTransport tls;  // started only with tlsContext
  sip::Transports transport;  // all three, by each flow's protocol
  sip::TransactionLayer transactions;
  sip::DigestServer dialInAuth;  // the accounts dial-ins must prove, when there are any
  sip::Resolver resolver;  // RFC 3263 for the first hop of the INVITEs the gateway sends
  media::Engine engine;  // the calls' RTP, on its own thread
  std::map<media::Engine::SessionId, std::string> mediaCalls;  // engine session -> Call-ID
  bool running = false;

  std::map<std::string, std::shared_ptr<Leg>> legs;  // Call-ID
  std::map<std::string, std::string> sessions;       // session_id -> Call-ID
  // Dialogs whose call has ended while their refer subscription lives on (RFC 5057 section 5.4: a BYE ends the
  // invite usage only): a transferee may send its final NOTIFY after its BYE, or retransmit it after a loss.
  std::map<std::string, std::shared_ptr<Leg>> subscriptions;  // Call-ID

  void start() {
    startTransports();
    engine.start();
    running = true;
  }

  // UDP, then TCP on the same port number unless options.tcpPort names another. When both ports are "any free
  // one", a port taken for TCP by someone else makes both try again elsewhere.
  void startTransports() {
    for (int attempt = 0;; ++attempt) {
      udp.start();
      const std::uint16_t wanted = options.tcpPort ? *options.tcpPort : udp.port();
      try {
        tcp.start(wanted);
      } catch (const std::system_error&) {
        const bool retry = options.port == 0 && !options.tcpPort && attempt < 20;
        udp.stop();
        if (!retry) throw;
        continue;
      }
      if (!tlsContext) return;
      try {
        tls.start(options.tlsPort ? *options.tlsPort : options.port != 0 ? static_cast<std::uint16_t>(options.port + 1) : 0);
        return;
      } catch (const std::system_error&) {
        udp.stop();
        tcp.stop();
        throw;
      }
    }
  }

  void stop() {
    running = false;
    udp.stop();
    tcp.stop();
    tls.stop();
    engine.stop();
    mediaCalls.clear();
    resolver.stop();
    transactions.clear();
    legs.clear();
    subscriptions.clear();
    sessions.clear();
    timers.clear();
  }

  // ---- media ----------------------------------------------------------------------------------------------

  // Opens the leg's RTP session; false when no RTP port is free. secure: the call's signaling (its first hop) is
  // TLS, so its SDP may carry SRTP keys (SDES), as --sip-srtp says.
  bool openMedia(Leg& leg, bool secure) {
    if (leg.media) return true;
    auto opened = engine.open(leg.sessionId);
    if (!opened) {
      DAILY_LOG(Warn, "media", "no RTP port is free for call " << leg.dialog.callId);
      return false;
    }
    leg.media = opened->id;
    leg.sdp.emplace(options.host, opened->port, secure ? options.srtp : media::SrtpPolicy::Off);
    mediaCalls[opened->id] = leg.dialog.callId;
    return true;
  }

  // The gateway leaves the call's media path: nothing more is sent or received on its RTP session.
  void closeMedia(Leg& leg) {
    if (!leg.media) return;
    engine.close(leg.media);
    mediaCalls.erase(leg.media);
    leg.media = 0;
  }

  void useStream(Leg& leg, const media::Negotiated& stream) {
    leg.negotiated = stream;
    leg.negotiatedOnce = true;
    leg.offerPending = false;
    // A call that settled on plain RTP (optional SRTP, a plain offer taken) is offered plain RTP from now on: a
    // re-offer of SRTP, whose answer comes in an ACK, could not be taken back.
    if (!stream.srtp && leg.sdp) leg.sdp->fallBackToRtp();
    engine.configure(leg.media, stream);
    if (Room* room = leg.inRoom ? hub.findRoom(leg.room) : nullptr)  // a hold, or back from one
      hub.setTrack(*room, leg.sessionId, "audio", audioTrack(leg));
  }

  // The SDP for a 2xx to an INVITE carrying offer: the answer; with no offer, an offer of ours, whose answer
  // comes in the ACK (RFC 3264 with RFC 3261 13.2.1). nullopt when the offer is not acceptable (answered 488).
  // *why (when given) says what was wrong, in words of the gateway's own (a Warning may carry them).
  std::optional<std::string> describe(Leg& leg, const std::string& offer, std::string* refused = nullptr) {
    if (!leg.sdp) return std::nullopt;
    if (offer.empty()) {
      leg.offerPending = true;
      return leg.sdp->offer();
    }
    media::Negotiated stream;
    std::string why;
    auto answer = leg.sdp->answer(offer, &stream, &why);
    if (!answer) {
      DAILY_LOG(Info, "sip", "call " << leg.dialog.callId << ": " << why << "; answered 488");
      if (refused) *refused = why;
      return std::nullopt;
    }
    useStream(leg, stream);
    return answer;
  }

  // RFC 3261 20.43's Warning for a refused offer (code 304, "media type not available"), with the reason the offer
  // answer gave: text of the gateway's own (media/sdp's), never the peer's, and without quotes to escape.
  static void addWarning(osip_message_t* response, const std::string& why) {
    sip::addHeader(response, "Warning", "304 daily-devserver \"" + (why.empty() ? std::string("media not acceptable") : why) + "\"");
  }

  // The answer to an offer of ours (in a 2xx to our INVITE, or in the ACK to our 2xx).
  void acceptAnswer(Leg& leg, const std::string& answer) {
    if (!leg.sdp || !leg.media || answer.empty()) return;
    media::Negotiated stream;
    std::string why;
    if (!leg.sdp->accept(answer, &stream, &why)) {
      DAILY_LOG(Info, "sip", "call " << leg.dialog.callId << ": " << why << "; no media");
      return;
    }
    useStream(leg, stream);
  }

  Leg* mediaLeg(media::Engine::SessionId id) {
    auto it = mediaCalls.find(id);
    return it == mediaCalls.end() ? nullptr : legByCallId(it->second);
  }

  // A key the caller pressed (RFC 4733, or SIP INFO), to the room as daily-js's dtmf-event.
  void dtmfEvent(const Leg& leg, char tone, int volume, const char* method) {
    Room* room = leg.inRoom ? hub.findRoom(leg.room) : nullptr;
    if (!room) return;
    DAILY_LOG(Info, "sip", "call " << leg.dialog.callId << ": DTMF " << tone << " by " << method);
    hub.broadcast(*room, "dtmf-event", {{"sessionId", leg.sessionId}, {"tone", std::string(1, tone)},
                                        {"volume", volume}, {"method", method}});
  }

  void onRtpDtmf(media::Engine::SessionId id, char tone, int volume) {
    if (!running) return;
    if (Leg* leg = mediaLeg(id)) dtmfEvent(*leg, tone, volume, "telephone-event");
  }

  void onRtpTimeout(media::Engine::SessionId id) {
    if (!running) return;
    Leg* leg = mediaLeg(id);
    if (!leg || leg->state != LegState::Confirmed) return;
    DAILY_LOG(Info, "sip", "call " << leg->dialog.callId << " sent no RTP for " << options.rtpTimeout.count()
                                   << " ms: hanging up");
    hangUp(*leg, {});
  }

  // SIP INFO DTMF (application/dtmf-relay "Signal=5", or application/dtmf "5"): the tone, or 0.
  static char infoTone(osip_message_t* info) {
    const std::string type = sip::contentType(info);
    std::string body = sip::body(info);
    std::string value;
    if (osip_strcasecmp(type.c_str(), "application/dtmf-relay") == 0) {
      for (std::size_t at = 0; at < body.size();) {
        std::size_t end = body.find_first_of("\r\n", at);
        if (end == std::string::npos) end = body.size();
        const std::string line = body.substr(at, end - at);
        const auto eq = line.find('=');
        if (eq != std::string::npos) {
          std::string key = line.substr(0, eq);
          key.erase(key.find_last_not_of(" \t") + 1);
          if (osip_strcasecmp(key.c_str(), "signal") == 0) value = line.substr(eq + 1);
        }
        at = end + 1;
      }
    } else if (osip_strcasecmp(type.c_str(), "application/dtmf") == 0) {
      value = body;
    }
    value.erase(0, value.find_first_not_of(" \t\r\n"));
    value.erase(value.find_last_not_of(" \t\r\n") + 1);
    if (value.size() != 1) return 0;
    const char tone = static_cast<char>(std::toupper(static_cast<unsigned char>(value[0])));
    return media::dtmfEvent(tone) >= 0 ? tone : 0;
  }

  // Answers request within its server transaction.
  void respond(osip_message_t* request, const Flow& peer, int code, const std::string& toTag = {},
               const sip::TransactionLayer::Decorate& decorate = {}) {
    transactions.respond(request, peer, code, toTag, decorate);
  }

  // A 2xx to an INVITE of ours after the first (RFC 6026), while its transaction lingers or after. From the
  // dialog's peer it is a repetition: the dialog re-sends its ACK. From another branch of a fork (another To tag)
  // it is a dialog the gateway did not want: ACKed, then ended with a BYE (RFC 3261 13.2.2.4), once per fork.
  void onUnmatchedResponse(osip_message_t* response) {
    const int code = sip::status(response);
    if (sip::method(response) != "INVITE" || code < 200 || code >= 300) return;
    auto it = legs.find(sip::callId(response));
    if (it != legs.end() && it->second->calling) it->second->calling->repeated2xx(response);
  }

  // ---- incoming -----------------------------------------------------------------------------------------------

  // A new request, handed up by the transaction layer (parsed, and not a retransmission).
  void onRequest(sip::MessagePtr message, const Flow& from) {
    const std::string method = sip::method(message.get());
    if (method != "ACK" && !acceptable(message.get(), from)) return;
    if (method == "INVITE") return onInvite(std::move(message), from);
    if (method == "ACK") return onAck(message.get());
    if (method == "CANCEL") return onCancel(message.get(), from);
    if (method == "BYE") return onBye(message.get(), from);
    if (method == "NOTIFY") return onNotify(message.get(), from);
    if (method == "OPTIONS") return onOptions(message.get(), from);
    if (method == "REFER") return onRefer(message.get(), from);
    if (method == "INFO" || method == "UPDATE" || method == "PRACK") {
      Leg* leg = dialogOf(message.get());
      if (!leg) return respond(message.get(), from, 481);
      if (method == "INFO")
        if (const char tone = infoTone(message.get())) dtmfEvent(*leg, tone, 0, "sip-info");
      return respond(message.get(), from, method == "INFO" ? 200 : 501);
    }
    respond(message.get(), from, 405, {}, [](osip_message_t* r) { sip::addHeader(r, "Allow", kAllow); });
  }

  // RFC 3261 8.2's checks, in its order, of a request that is not an ACK, whatever its method and target; a
  // request that fails one is answered here. RFC 4475's badvers, unkscm, bext01 and invut are among them.
  bool acceptable(osip_message_t* m, const Flow& from) {
    if (!m->sip_version || std::strcmp(m->sip_version, "SIP/2.0") != 0) return respond(m, from, 505), false;
    const std::string method = sip::method(m);
    if (!knownMethod(method))
      return respond(m, from, 501, {}, [](osip_message_t* r) { sip::addHeader(r, "Allow", kAllow); }), false;
    const char* scheme = m->req_uri ? m->req_uri->scheme : nullptr;
    if (!scheme || (osip_strcasecmp(scheme, "sip") != 0 && osip_strcasecmp(scheme, "sips") != 0))
      return respond(m, from, 416), false;
    // 8.2.2.3: the gateway supports no extension a request could require but an INVITE's Replaces (a CANCEL's
    // Require is ignored).
    if (method != "CANCEL") {
      std::string unsupported;
      for (const auto& tag : sip::headerTokens(m, "require")) {
        if (method == "INVITE" && osip_strcasecmp(tag.c_str(), "replaces") == 0) continue;  // RFC 3891
        unsupported += (unsupported.empty() ? "" : ", ") + tag;
      }
      if (!unsupported.empty())
        return respond(m, from, 420, {}, [&](osip_message_t* r) { sip::addHeader(r, "Unsupported", unsupported); }),
               false;
    }
    // 8.2.3: an INVITE's body is SDP or nothing (the gateway reads no other).
    if (method == "INVITE" && !sip::body(m).empty() && osip_strcasecmp(sip::contentType(m).c_str(), kSdp) != 0)
      return respond(m, from, 415, {}, [](osip_message_t* r) { sip::addHeader(r, "Accept", kSdp); }), false;
    return true;
  }

  // The room a dial-in's Request-URI user leads to: the room whose dial-in identifier it is, if it takes dial-ins.
  // A wrong identifier, a room's name, a room without dial-in: null alike, and all are answered 404 (item 9 of
  // issue 16: a probe must not learn which rooms exist).
  Room* dialInRoom(const std::string& user) {
    Room* room = hub.findRoomBySipId(user);
    return room && room->dialInEnabled() ? room : nullptr;
  }

  // RFC 3261 11.2: an OPTIONS gets the status an INVITE to the same Request-URI would. One to the gateway itself
  // (a Request-URI without a user: a proxy's or a trunk's keepalive) is answered 200.
  void onOptions(osip_message_t* options, const Flow& from) {
    if (!sip::toTag(options).empty() && !dialogOf(options)) return respond(options, from, 481);
    const std::string user = sip::requestUser(options);
    if (sip::toTag(options).empty() && !user.empty()) {
      if (!dialInRoom(user)) return respond(options, from, 404);
    }
    respond(options, from, 200, {}, [](osip_message_t* r) {
      sip::addHeader(r, "Allow", kAllow);
      sip::addHeader(r, "Accept", kSdp);
    });
  }

  // The dialog an in-dialog request belongs to: same Call-ID, our tag in To and theirs in From (Dialog::matches).
  Leg* dialogOf(osip_message_t* request) {
    auto it = legs.find(sip::callId(request));
    return it != legs.end() && it->second->dialog.matches(request) ? it->second.get() : nullptr;
  }

  void onInvite(sip::MessagePtr invite, const Flow& from) {
    osip_message_t* req = invite.get();
    if (!sip::toTag(req).empty()) {
      // A re-INVITE (a hold, a resume, a new address): answered from the same o= line, a version up when the
      // description changes. An offer the gateway cannot take leaves the session as it was (488, RFC 3261 14.2).
      Leg* leg = dialogOf(req);
      if (!leg) return respond(req, from, 481);
      std::string why;
      const auto body = describe(*leg, sip::body(req), &why);
      if (!body) return respond(req, from, 488, {}, [&](osip_message_t* r) { addWarning(r, why); });
      return respond(req, from, 200, {}, [&](osip_message_t* r) {
        osip_message_set_contact(r, transport.contact(from.protocol, leg->dialog.secure).c_str());
        sip::setBody(r, "application/sdp", *body);
      });
    }
    if (legs.count(sip::callId(req))) return respond(req, from, 482);  // a merged request (§8.2.2.2)
    // Dial-ins that need credentials: before anything else is looked at, so that the unproven learn nothing.
    if (dialInAuth.enabled()) {
      const auto now = std::chrono::system_clock::now();
      const auto verdict = dialInAuth.check(req, now);
      if (verdict != sip::DigestServer::Verdict::Accepted) {
        using V = sip::DigestServer::Verdict;
        DAILY_LOG(Info, "sip", "dial-in " << sip::callId(req) << " from " << from << ": "
                                          << (verdict == V::Missing ? "no credentials"
                                              : verdict == V::Stale ? "a stale nonce"
                                                                    : "credentials that do not check out")
                                          << "; challenged");
        return respond(req, from, 401, {}, [&](osip_message_t* r) {
          for (const auto& challenge : dialInAuth.challenges(now, verdict == V::Stale))
            sip::addHeader(r, "WWW-Authenticate", challenge);
        });
      }
    }
    // RFC 3891: an INVITE that replaces one of the gateway's calls (the far side's attended transfer): the new
    // caller takes over that call's participant, in its room, whatever the Request-URI names.
    Leg* replaced = nullptr;
    if (const std::string replaces = sip::header(req, "replaces"); !replaces.empty()) {
      replaced = replacedBy(replaces);
      if (!replaced) return respond(req, from, 481);
      Room* its = hub.findRoom(replaced->room);
      if (!its || !replaced->inRoom || !its->acceptsInboundRefer() || !replaced->referTo.empty() ||
          !replaced->referredTo.empty() || !replaced->bridgedWith.empty())
        return respond(req, from, 603);
    }
    Room* room = replaced ? hub.findRoom(replaced->room) : dialInRoom(sip::requestUser(req));
    if (!room || !room->dialInEnabled()) return respond(req, from, 404);
    const std::string roomName = room->name;

    auto leg = std::make_shared<Leg>(transport, timers);
    leg->sessionId = detail::newUuid();
    leg->room = roomName;
    leg->dialIn = true;
    leg->state = LegState::Ringing;
    leg->dialog = sip::Dialog::answering(req, from, "<" + hub.sipEndpoint(*room) + ">", detail::randomHex(6));
    // A Contact that asks for TLS, when the gateway has none: answer where the INVITE came from.
    if (leg->dialog.peer.protocol == sip::Protocol::Tls && !tlsContext) leg->dialog.peer = from;
    leg->sipFrom = sip::fromUri(req);
    leg->sipEndpoint = hub.sipEndpoint(*room);
    for (const auto& [name, value] : sip::extensionHeaders(req)) leg->sipHeaders[name] = value;
    leg->inviteServerKey = sip::TransactionLayer::serverKey(req);
    if (replaced) leg->replacing = replaced->dialog.callId;
    if (!openMedia(*leg, from.protocol == sip::Protocol::Tls))
      return respond(req, from, 503, {}, [](osip_message_t* r) { sip::addHeader(r, "Retry-After", "5"); });
    std::string refused;
    if (auto body = describe(*leg, sip::body(req), &refused)) {
      leg->localBody = std::move(*body);
    } else {
      closeMedia(*leg);
      return respond(req, from, 488, {}, [&](osip_message_t* r) { addWarning(r, refused); });
    }
    legs[leg->dialog.callId] = leg;
    sessions[leg->sessionId] = leg->dialog.callId;
    lookUpNextHop(*leg);

    respond(req, from, 100);
    transactions.keep(std::move(invite));
    if (options.answerDelay.count() > 0) {
      respond(transactions.kept(leg->inviteServerKey), from, 180, leg->dialog.localTag);
      leg->timer.start(options.answerDelay, [this, weak = std::weak_ptr<Leg>(leg), from] {
        if (auto l = weak.lock(); l && l->state == LegState::Ringing) answer(*l, from);
      });
    } else {
      answer(*leg, from);
    }
  }

  // RFC 3263 for the requests of an answered dialog whose next hop (its first Record-Route, else the caller's
  // Contact) names a host. Until the lookup ends they wait (whenReady); the peer meanwhile, and when DNS finds
  // nothing, is where the INVITE came from. (Dialogs of ours: sip::CallingInvite looks theirs up before the ACK.)
  void lookUpNextHop(Leg& leg) {
    if (!leg.dialog.nextHopNeedsLookup()) return;
    leg.lookingUpHop = true;
    resolver.resolve(leg.dialog.nextHopUri(), [this, callId = leg.dialog.callId](std::vector<Flow> targets,
                                                                                 const std::string& error) {
      auto it = legs.find(callId);
      if (it == legs.end()) return;  // forgotten: what waited ran then
      Leg& l = *it->second;
      if (!targets.empty()) {
        l.dialog.resolvedNextHop(targets.front());
      } else {
        DAILY_LOG(Warn, "sip", "call " << callId << ": its next hop " << l.dialog.nextHopUri() << " " << error
                                       << "; its requests go to " << l.dialog.peer);
      }
      hopKnown(l);
    });
  }
  // The next hop's lookup is over (or moot: the call is gone): what waited for it goes.
  static void hopKnown(Leg& leg) {
    leg.lookingUpHop = false;
    for (auto& waiting : std::exchange(leg.afterLookup, {})) waiting();
  }
  // Runs send once the leg's dialog can carry a request of ours: its ACK has come (acked: whether it did) and its
  // next hop is known. send finds the leg gone when the call ended meanwhile.
  void whenReady(Leg& leg, std::function<void(bool acked)> send) {
    leg.answered.whenAcked([this, callId = leg.dialog.callId, send = std::move(send)](bool acked) {
      Leg* l = legByCallId(callId);
      if (!l || !l->lookingUpHop) return send(acked);
      l->afterLookup.push_back([send, acked] { send(acked); });
    });
  }

  void answer(Leg& leg, const Flow& from) {
    osip_message_t* req = transactions.kept(leg.inviteServerKey);
    if (!req) return;
    Room* room = hub.findRoom(leg.room);
    if (!room) {
      respond(req, from, 404, leg.dialog.localTag);
      return forgetLeg(leg);
    }
    std::string ok = transactions.respond(req, from, 200, leg.dialog.localTag, [&](osip_message_t* r) {
      osip_message_set_contact(r, transport.contact(from.protocol, leg.dialog.secure).c_str());
      sip::addHeader(r, "Allow", kAllow);
      sip::setBody(r, "application/sdp", leg.localBody);
    });
    leg.state = LegState::Confirmed;
    // Without an ACK in time the call is torn down with BYE.
    leg.answered.start(std::move(ok), &leg.dialog.peer, {options.t1, options.t2, options.transactionTimeout},
                       [this, sessionId = leg.sessionId] {
                         Leg* l = legOf(sessionId);
                         if (!l) return;
                         DAILY_LOG(Warn, "sip", "no ACK for call " << l->dialog.callId << "; hanging up");
                         hangUp(*l, {});
                       });

    std::string name = room->properties["sip"].value("display_name", std::string());
    if (name.empty()) name = sip::fromDisplayName(req);
    if (name.empty()) name = leg.sipFrom;
    leg.userId = leg.sessionId;
    if (!leg.replacing.empty()) {
      // Once confirmed (its ACK came), it takes the replaced call's place; never before: its 2xx retransmissions
      // are keyed by its own session id.
      const std::string callId = leg.dialog.callId;
      return leg.answered.whenAcked([this, callId, name](bool acked) {
        if (Leg* l = legByCallId(callId); l && acked) replaceCall(*l, name);
      });
    }
    hub.broadcast(*room, "dialin-connected", dialinConnected(leg));
    hub.notify(*room, "dialin.connected", {{"session_id", leg.sessionId}, {"sip_from", leg.sipFrom},
                                           {"display_name", name}, {"sip_headers", leg.sipHeaders}});
    joinRoom(*room, leg, name);
  }

  // What every dialin-* and dialout-* event of a leg carries (daily-js's DailyEventObjectDialin*/DialOut*):
  // sessionId, provider, sipCallId, userId when it has one, and where the call comes from or goes to.
  static json dialEvent(const Leg& leg) {
    json e{{"sessionId", leg.sessionId}, {"provider", kProvider}, {"sipCallId", leg.dialog.callId}};
    if (!leg.userId.empty()) e["userId"] = leg.userId;
    if (leg.dialIn) e.update({{"sipFrom", leg.sipFrom}, {"sipEndpoint", leg.sipEndpoint}});
    else e["destination"] = leg.destination;
    return e;
  }

  // The dialin-connected payload of an answered dial-in leg; sipHeaders holds its INVITE's X- headers.
  static json dialinConnected(const Leg& leg) {
    json connected = dialEvent(leg);
    if (!leg.sipHeaders.empty()) connected["sipHeaders"] = leg.sipHeaders;
    return connected;
  }

  // The participant's audio track as the room sees it: playable while the call sends RTP to the room.
  static json audioTrack(const Leg& leg) { return Hub::trackState(leg.media && leg.negotiatedOnce && leg.negotiated.receive); }

  void joinRoom(Room& room, Leg& leg, const std::string& name) {
    Member member;
    member.kind = leg.dialIn ? MemberKind::SipDialIn : MemberKind::SipDialOut;
    member.participant = Hub::newParticipant(leg.sessionId, name, leg.userId, false, false);
    member.participant["participantType"] = leg.dialIn ? "sip-dial-in" : "sip-dial-out";
    member.participant["tracks"]["audio"] = audioTrack(leg);  // the caller's audio is its microphone
    leg.inRoom = true;
    if (leg.media) engine.join(leg.media, media::roomGroup(room.name));
    hub.addMember(room, leg.sessionId, std::move(member));
  }

  void onAck(osip_message_t* ack) {
    auto it = legs.find(sip::callId(ack));
    if (it == legs.end()) return;
    Leg& leg = *it->second;
    if (sip::fromTag(ack) != leg.dialog.remoteTag) return;
    if (leg.offerPending) acceptAnswer(leg, sip::body(ack));
    if (leg.answered.awaitingAck()) leg.answered.acked();
  }

  void onCancel(osip_message_t* cancel, const Flow& from) {
    const std::string inviteKey = sip::TransactionLayer::serverKey(cancel, "INVITE");
    if (!transactions.hasServer(inviteKey)) return respond(cancel, from, 481);
    auto it = legs.find(sip::callId(cancel));
    Leg* ringing = it != legs.end() && it->second->inviteServerKey == inviteKey ? it->second.get() : nullptr;
    // §9.2: the 200 to the CANCEL carries the To tag of the INVITE's responses.
    respond(cancel, from, 200, ringing ? ringing->dialog.localTag : std::string());
    if (!ringing || ringing->state != LegState::Ringing) return;  // already answered: the BYE ends it
    Leg& leg = *ringing;
    leg.timer.cancel();
    respond(transactions.kept(inviteKey), from, 487, leg.dialog.localTag);
    DAILY_LOG(Info, "sip", "call " << leg.dialog.callId << " cancelled before answer");
    forgetLeg(leg);
  }

  void onBye(osip_message_t* bye, const Flow& from) {
    Leg* leg = dialogOf(bye);
    if (!leg) return respond(bye, from, 481);
    respond(bye, from, 200);
    DAILY_LOG(Info, "sip", "call " << leg->dialog.callId << " hung up by the peer");
    endLeg(*leg);
  }

  void onNotify(osip_message_t* notify, const Flow& from) {
    Leg* leg = dialogOf(notify);
    std::shared_ptr<Leg> lingering;  // a subscription that outlived its call, kept alive until this returns
    if (!leg) {
      auto it = subscriptions.find(sip::callId(notify));
      if (it == subscriptions.end() || !it->second->dialog.matches(notify)) return respond(notify, from, 481);
      lingering = it->second;
      leg = lingering.get();
    }
    const std::string event = sip::header(notify, "event");
    if (event.rfind("refer", 0) != 0) return respond(notify, from, 489);
    if (!leg->refer.owns(event)) return respond(notify, from, 481);
    respond(notify, from, 200);
    if (leg->referTo.empty()) return;
    const sip::ReferNotify report = sip::readReferNotify(notify);
    if (report.expires) leg->refer.expires = *report.expires;
    if (auto implied = std::move(leg->referImplied)) implied();
    announceAccepted(*leg);  // before any progress it reports
    if (report.status == 0 && !report.terminated) return;
    const bool final = report.final();
    referProgress(*leg, report.progress(), report.status, final, sip::body(notify));
    if (!final) return;
    const bool success = report.status >= 200 && report.status < 300;
    if (success) transferWebhook(leg->room, *leg, "calltransfer.answered", leg->referTo, true);
    leg->referTo.clear();
    if (lingering) return endSubscription(*leg);
    if (success) hangUp(*leg, {});  // RFC 5589: the transferor leaves once the transfer succeeded
  }

  // ---- inbound REFER (RFC 3515: the peer transfers its call to the gateway) -----------------------------------

  // A REFER from the peer of a leg in a room: a blind transfer of that call to the Refer-To target. The gateway
  // accepts it (202), calls the target, and tells the referrer how that call goes by NOTIFY (message/sipfrag:
  // 100, then the final status). Once the target answers it takes over the referrer's participant (the same
  // session, participant-updated) and the referrer's call is hung up; if the referrer hung up first, the target
  // joins as a participant of its own. Owners and admins follow it in sip-inbound-refer-progress. A room whose
  // properties.sip.accept_refer is false refuses it (403).
  void onRefer(osip_message_t* refer, const Flow& from) {
    Leg* leg = dialogOf(refer);
    if (!leg) return respond(refer, from, 481);
    Room* room = hub.findRoom(leg->room);
    if (!room || !leg->inRoom || !room->acceptsInboundRefer()) return respond(refer, from, 403);
    if (leg->state != LegState::Confirmed || !leg->referTo.empty() || !leg->referredTo.empty() ||
        !leg->bridgedWith.empty())
      return respond(refer, from, 491);  // a transfer of this call is under way already
    std::string referTo = sip::header(refer, "refer-to");
    if (referTo.empty()) referTo = sip::header(refer, "r");
    referTo = sip::uriOf(referTo);
    // Attended transfer (?Replaces=...) and other embedded headers or methods are not taken from a peer.
    if (referTo.find('?') != std::string::npos || referTo.find(";method=") != std::string::npos)
      return respond(refer, from, 501);
    if (!daily::validateSipUri(referTo).empty()) return respond(refer, from, 400);
    if (!sip::uriTarget(referTo)) return respond(refer, from, 416);
    std::string why;
    auto far = invite({}, referTo, "<" + hub.sipAddress(*room) + ">", {}, &why);
    if (!far) {
      DAILY_LOG(Info, "sip", "refused a REFER of call " << leg->dialog.callId << ": its target " << why);
      return respond(refer, from, 488);
    }
    // RFC 3892: the target hears who sent it; its URI only, checked as any target is.
    const std::string referredBy = sip::uriOf(sip::header(refer, "referred-by"));
    if (!referredBy.empty() && daily::validateSipUri(referredBy).empty()) {
      far->calling->offer().headers.emplace_back("Referred-By", "<" + referredBy + ">");
    }
    respond(refer, from, 202);
    DAILY_LOG(Info, "sip", "call " << leg->dialog.callId << " is transferred by its peer to " << referTo);
    leg->referredTo = far->sessionId;
    leg->referredToUri = referTo;
    leg->referCseq = sip::cseq(refer);
    far->referrerCallId = leg->dialog.callId;
    far->referrerSession = leg->sessionId;
    far->referrerRoom = leg->room;
    far->destination = referTo;
    const std::string callId = leg->dialog.callId;
    const std::string farId = far->sessionId;
    inboundReferProgress(*leg, "accepted", 202, false);
    notifyReferrer(callId, 100, "Trying", false);
    runInvite(
        farId,
        [this, callId](int code) {
          if (code == 180 || code == 183) {
            if (Leg* l = legByCallId(callId)) inboundReferProgress(*l, "ringing", code, false);
          }
        },
        [this, farId] { takeOver(farId); },
        [this, callId](int code, const std::string& reason) {
          Leg* l = legByCallId(callId);
          if (!l) return;
          inboundReferProgress(*l, "failed", code, true);
          l->referredTo.clear();
          // No answer at all: 408 when none came in time, 503 when the target could not be reached.
          const int status = code ? code : reason.empty() ? 408 : 503;
          notifyReferrer(callId, status, code ? reason : reason.empty() ? "Request Timeout" : "Service Unavailable", true);
        });
  }

  Leg* legByCallId(const std::string& callId) {
    auto it = legs.find(callId);
    return it == legs.end() || it->second->state == LegState::Ended ? nullptr : it->second.get();
  }

  // The referrer's NOTIFY of its REFER's progress (RFC 3515 2.4.4), in its dialog, while the call is up.
  // answered, when given, runs once the NOTIFY has its final answer or none will come (at once when it is not sent).
  void notifyReferrer(const std::string& callId, int code, const std::string& reason, bool final,
                      std::function<void()> answered = {}) {
    Leg* leg = legByCallId(callId);
    if (!leg) {
      if (answered) answered();
      return;
    }
    whenReady(*leg, [this, callId, code, reason, final, answered](bool) {
      Leg* l = legByCallId(callId);
      auto notify = l && l->state == LegState::Confirmed
                        ? sip::referNotify(l->dialog, transport, l->referCseq, code, reason, final)
                        : nullptr;
      if (!notify) {
        if (answered) answered();
        return;
      }
      auto done = [answered](auto&&...) { if (answered) answered(); };
      sendInDialog(l->sessionId, std::move(notify),
                   [done](osip_message_t* r) { if (sip::status(r) >= 200) done(); }, done);
    });
  }

  void inboundReferProgress(const Leg& referrer, const std::string& status, int code, bool final) {
    Room* room = hub.findRoom(referrer.room);
    if (!room) return;
    const json payload{{"sessionId", referrer.sessionId}, {"referTo", referrer.referredToUri}, {"status", status},
                       {"sipStatus", code}, {"final", final}};
    hub.broadcastToOwnersAndAdmins(*room, "sip-inbound-refer-progress", payload);
  }

  // The gateway's confirmed call that a Replaces header names (RFC 3891 §3: "call-id;to-tag=...;from-tag=...", the
  // to-tag ours), or null.
  Leg* replacedBy(const std::string& value) {
    const std::string callId = value.substr(0, value.find(';'));
    std::string toTag, fromTag;
    for (std::size_t at = value.find(';'); at != std::string::npos;) {
      const std::size_t next = value.find(';', at + 1);
      std::string param = value.substr(at + 1, next == std::string::npos ? std::string::npos : next - at - 1);
      param.erase(0, param.find_first_not_of(" \t"));
      if (param.rfind("to-tag=", 0) == 0) toTag = param.substr(7);
      if (param.rfind("from-tag=", 0) == 0) fromTag = param.substr(9);
      at = next;
    }
    Leg* leg = legByCallId(callId);
    if (!leg || leg->state != LegState::Confirmed || leg->dialog.localTag != toTag || leg->dialog.remoteTag != fromTag)
      return nullptr;
    return leg;
  }

  // A confirmed INVITE with Replaces: the replaced call's participant is now this call, and the replaced call is
  // hung up (RFC 3891 §3). If that call ended meanwhile, the new caller joins as a participant of its own.
  void replaceCall(Leg& leg, const std::string& name) {
    Room* room = hub.findRoom(leg.room);
    if (!room) return hangUp(leg, {});
    Leg* old = legByCallId(leg.replacing);
    leg.replacing.clear();
    if (!old || !old->inRoom) {
      hub.broadcast(*room, "dialin-connected", dialinConnected(leg));
      return joinRoom(*room, leg, name);
    }
    DAILY_LOG(Info, "sip", "call " << leg.dialog.callId << " replaces call " << old->dialog.callId);
    handOver(*old, leg, *room, name);
    hangUp(*old, {});
  }

  // leg takes over from's participant in room: the two legs trade session ids, and the participant's user_name
  // becomes name (participant-updated). Nothing may wait on leg's old session id any more (its INVITE is done);
  // from's remaining requests (a final NOTIFY, the BYE) go under its new one.
  void handOver(Leg& from, Leg& leg, Room& room, const std::string& name) {
    const std::string participant = from.sessionId;
    const std::string other = leg.sessionId;
    sessions[participant] = leg.dialog.callId;
    sessions[other] = from.dialog.callId;
    leg.sessionId = participant;
    from.sessionId = other;
    leg.room = from.room;
    leg.inRoom = true;
    leg.dialIn = from.dialIn;
    leg.sipFrom = from.sipFrom;
    leg.sipEndpoint = from.sipEndpoint;
    leg.userId = from.userId;
    leg.connectedSent = true;
    from.room.clear();
    from.inRoom = false;
    if (from.media) {
      engine.join(from.media, {});
      engine.relabel(from.media, other);
    }
    if (leg.media) {
      engine.join(leg.media, media::roomGroup(room.name));
      engine.relabel(leg.media, participant);  // the participant's renderers now hear this call
    }
    if (auto member = room.members.find(participant); member != room.members.end()) {
      json updated = member->second.participant;
      updated["user_name"] = name;
      updated["tracks"]["audio"] = audioTrack(leg);
      hub.updateMember(room, participant, std::move(updated));
    }
  }

  // The Refer-To target answered: it takes the referrer's place in the room.
  void takeOver(const std::string& farId) {
    Leg* far = legOf(farId);
    if (!far) return;
    Room* room = hub.findRoom(far->referrerRoom);
    Leg* referrer = legByCallId(far->referrerCallId);
    if (!room) return hangUp(*far, {});  // the room went away meanwhile
    const std::string name = far->destination;
    if (!referrer || !referrer->inRoom) {
      // The referrer hung up first (a blind transfer often does, right after the 202): a participant of its own.
      far->room = room->name;
      far->sipFrom = far->destination;
      joinRoom(*room, *far, name);
      json payload{{"sessionId", far->referrerSession}, {"status", "transferred"}, {"sipStatus", 200}, {"final", true},
                   {"referTo", far->destination}, {"newSessionId", farId}};
      return hub.broadcastToOwnersAndAdmins(*room, "sip-inbound-refer-progress", payload);
    }
    // The same participant, now the target's call.
    inboundReferProgress(*referrer, "transferred", 200, true);
    referrer->referredTo.clear();
    handOver(*referrer, *far, *room, name);
    // RFC 5589: the transfer succeeded; the transferor's call ends (if it has not hung up), once the final NOTIFY
    // has its answer: a BYE that overtakes the NOTIFY makes peers abort the call rather than end it.
    const std::string callId = referrer->dialog.callId;
    notifyReferrer(callId, 200, "OK", true, [this, callId] {
      if (Leg* r = legByCallId(callId)) hangUp(*r, {});
    });
  }

  // The call of a leg with an accepted REFER has ended: its subscription waits for the final NOTIFY until it
  // expires (as the last NOTIFY said; 64*T1 at least), then reports the transfer's outcome as unknown.
  void keepSubscription(std::shared_ptr<Leg> leg) {
    const auto lifetime = std::max<std::chrono::milliseconds>(
        options.transactionTimeout, std::min<std::chrono::seconds>(leg->refer.expires, std::chrono::hours(1)));
    DAILY_LOG(Info, "sip", "call " << leg->dialog.callId << " ended; its refer subscription waits "
                                   << lifetime.count() << " ms for a final NOTIFY");
    const std::string callId = leg->dialog.callId;
    leg->timer.start(lifetime, [this, callId] {
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
    subscriptions.erase(leg.dialog.callId);
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

  // Sends a request within leg sessionId's dialog in a client transaction of its own. A 401 or 407 is answered
  // once with credentials (authorized()): the request goes again as a new transaction, and the same callbacks hear
  // of that one. handle, when given, always names the transaction under way (to abandon it).
  void sendInDialog(const std::string& sessionId, sip::MessagePtr request, sip::TransactionLayer::OnResponse onResponse,
                    sip::TransactionLayer::OnFailure onFailure,
                    std::shared_ptr<sip::TransactionLayer::ClientHandle> handle = nullptr, bool retried = false) {
    Leg* leg = legOf(sessionId);
    if (!leg || !request) return;
    // Kept for a retry only when there are credentials to retry with.
    auto kept = std::make_shared<sip::MessagePtr>(std::move(request));
    const bool mayRetry = !retried && !options.credentials.empty();
    auto tx = transactions.request(
        kept->get(), leg->dialog.peer,
        [this, sessionId, kept = mayRetry ? kept : nullptr, onResponse, onFailure, handle](osip_message_t* response) {
          const int code = sip::status(response);
          if (kept && (code == 401 || code == 407)) {
            if (Leg* l = legOf(sessionId)) {
              if (auto again = authorized(kept->get(), response, l->dialog)) {
                if (sip::method(again.get()) == "REFER") l->refer.ids.push_back(sip::cseq(again.get()));
                return sendInDialog(sessionId, std::move(again), onResponse, onFailure, handle, true);
              }
            }
          }
          if (onResponse) onResponse(response);
        },
        onFailure);
    if (handle) *handle = tx;
  }

  // The same request again with credentials for the challenge in response (RFC 3261 22.2): a copy with a new
  // branch, the dialog's next CSeq, and the Authorization or Proxy-Authorization that answers the challenge. Null
  // when the gateway has no credentials for it (the challenge then stands as the request's answer).
  sip::MessagePtr authorized(const osip_message_t* request, const osip_message_t* response, sip::Dialog& dialog) {
    if (options.credentials.empty()) return nullptr;
    auto header = sip::answerChallenge(response, request, options.credentials);
    if (!header) return nullptr;
    sip::MessagePtr again = sip::clone(request);
    if (!again) return nullptr;
    auto* via = static_cast<osip_via_t*>(osip_list_get(&again->vias, 0));
    osip_generic_param_t* branch = nullptr;
    if (via) osip_via_param_get_byname(via, const_cast<char*>("branch"), &branch);
    if (!branch || !again->cseq) return nullptr;
    osip_free(branch->gvalue);
    branch->gvalue = osip_strdup(("z9hG4bK" + detail::randomHex(10)).c_str());
    osip_free(again->cseq->number);
    again->cseq->number = osip_strdup(std::to_string(++dialog.localCseq).c_str());
    sip::addHeader(again.get(), header->first, header->second);
    again->message_property = 2;  // changed: serialise it anew
    DAILY_LOG(Info, "sip", sip::method(request) << " of call " << dialog.callId << " challenged with "
                                                << sip::status(response) << ": sent again with credentials");
    return again;
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
      if (leg.dialIn) {
        hub.broadcast(*room, "dialin-stopped", dialEvent(leg));
        hub.notify(*room, "dialin.stopped", {{"session_id", leg.sessionId}, {"sip_from", leg.sipFrom}});
      } else if (leg.connectedSent) {
        hub.broadcast(*room, "dialout-stopped", dialEvent(leg));
        hub.notify(*room, "dialout.stopped", {{"session_id", leg.sessionId}, {"user_id", leg.userId},
                                              {"destination", leg.destination}});
      }
    }
    if (!leg.transferRoom.empty()) transferWebhook(leg.transferRoom, leg, "calltransfer.completed", leg.transferTo, false);
    if (auto abandoned = std::move(leg.referAbandoned)) abandoned();
    leg.answered.abandon();
    auto onEnded = std::move(leg.onEnded);
    const std::string bridged = leg.bridgedWith;
    std::shared_ptr<Leg> subscribed;
    if (leg.refer.accepted && !leg.referTo.empty()) subscribed = legs[leg.dialog.callId];
    forgetLeg(leg);
    if (subscribed) keepSubscription(std::move(subscribed));
    if (onEnded) onEnded();
    if (Leg* other = legOf(bridged)) hangUp(*other, {});  // one side of a bridge hung up: so does the other
  }

  void forgetLeg(Leg& leg) {
    closeMedia(leg);
    leg.timer.cancel();
    sessions.erase(leg.sessionId);
    auto keep = legs[leg.dialog.callId];  // keep it alive until this returns
    legs.erase(leg.dialog.callId);
    leg.answered.abandon();  // what waited for its ACK hears it never comes, and finds the leg gone
    hopKnown(leg);           // likewise what waited for its next hop
  }

  // Sends BYE and ends the leg when it is answered or times out.
  void hangUp(Leg& leg, std::function<void()> done) {
    if (leg.state != LegState::Confirmed) {
      if (done) done();
      return;
    }
    const std::string sessionId = leg.sessionId;
    whenReady(leg, [this, sessionId, done](bool) {
      Leg* l = legOf(sessionId);
      if (!l || l->state != LegState::Confirmed) {
        if (done) done();
        return;
      }
      auto bye = l->dialog.request("BYE", transport);
      closeMedia(*l);  // with the BYE on its way, the gateway has left the call's media path
      auto finish = [this, sessionId, done] {
        if (Leg* ended = legOf(sessionId)) endLeg(*ended);
        if (done) done();
      };
      sendInDialog(sessionId, std::move(bye), [finish](osip_message_t* r) { if (sip::status(r) >= 200) finish(); },
                   [finish](sip::Failure) { finish(); });
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

  void sipRefer(const std::string& room, const std::string& sessionId, std::string toEndPoint, const json& headers,
                const std::string& referredBy, const std::string& replaces, Reply reply) {
    Leg* leg = roomLeg(room, sessionId);
    if (!leg) return reply(wireError(ErrorCode::NotFound, "no SIP participant with session " + sessionId + " in this room"), {});
    if (leg->state != LegState::Confirmed || !leg->bridgedWith.empty())
      return reply(wireError(ErrorCode::InvalidArgument, "session " + sessionId + " is not an established SIP call"), {});
    if (!leg->referTo.empty() || !leg->referredTo.empty())
      return reply(wireError(ErrorCode::InvalidArgument, "a transfer of session " + sessionId + " is already in progress"), {});
    if (!replaces.empty()) {
      Leg* other = roomLeg(room, replaces);
      if (!other) return reply(wireError(ErrorCode::NotFound, "no SIP participant with session " + replaces + " in this room"), {});
      if (other->state != LegState::Confirmed || !other->bridgedWith.empty() || !other->referTo.empty() ||
          !other->referredTo.empty())
        return reply(wireError(ErrorCode::InvalidArgument, "session " + replaces + " is not an established SIP call"), {});
      toEndPoint = replacing(*other);
      if (toEndPoint.empty())
        return reply(wireError(ErrorCode::InvalidArgument, "session " + replaces + "'s SIP address cannot be referred to"), {});
    }
    leg->referTo = toEndPoint;
    leg->refer = {};
    whenReady(*leg, [this, sessionId, toEndPoint, headers, referredBy, reply](bool acked) {
      Leg* l = legOf(sessionId);
      if (acked && l) return sendRefer(*l, toEndPoint, headers, referredBy, reply);
      if (l) l->referTo.clear();
      reply(wireError(ErrorCode::ConnectionLost, "the call ended before the caller confirmed it (no ACK)"), {});
    });
  }

  // The Refer-To of an attended transfer to other's party (RFC 3891 §3, RFC 5589 §7): its remote target (its
  // Contact, checked as any target is, without its own headers) with a Replaces header naming other's dialog as
  // that party sees it: to-tag its own tag, from-tag ours. "" when the target fails the checks.
  static std::string replacing(const Leg& other) {
    std::string target = other.dialog.remoteTarget.substr(0, other.dialog.remoteTarget.find('?'));
    if (!daily::validateSipUri(target).empty()) return {};
    const std::string replaces =
        other.dialog.callId + ";to-tag=" + other.dialog.remoteTag + ";from-tag=" + other.dialog.localTag;
    std::string escaped;  // a URI header's value: everything but unreserved characters percent-encoded
    for (unsigned char c : replaces) {
      if (std::isalnum(c) || std::strchr("-_.!~*'()", c)) {
        escaped += static_cast<char>(c);
      } else {
        char hex[4];
        std::snprintf(hex, sizeof hex, "%%%02X", c);
        escaped += hex;
      }
    }
    return target + "?Replaces=" + escaped;
  }

  void sendRefer(Leg& target, const std::string& toEndPoint, const json& headers, const std::string& referredBy,
                 const Reply& reply) {
    Leg* leg = &target;
    const std::string sessionId = leg->sessionId;
    const std::string room = leg->room;
    auto refer = leg->dialog.request("REFER", transport);
    leg->refer.ids = {sip::cseq(refer.get())};
    sip::addHeader(refer.get(), "Refer-To", "<" + toEndPoint + ">");
    sip::addHeader(refer.get(), "Referred-By", "<" + referredBy + ">");
    for (const auto& [name, value] : headers.items()) sip::addHeader(refer.get(), name, value.get<std::string>());
    DAILY_LOG(Info, "sip", "REFER " << leg->dialog.callId << " to " << toEndPoint);
    transferWebhook(room, *leg, "calltransfer.triggered", toEndPoint, true);
    // Exactly one of accepted / refused / timed out / abandoned answers the caller; `done` says it happened.
    auto done = std::make_shared<bool>(false);
    auto accepted = [this, sessionId, reply, done](int code) {
      if (std::exchange(*done, true)) return;
      reply(std::nullopt, json::object());
      Leg* l = legOf(sessionId);
      if (!l) return;
      l->refer.accepted = true;
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
    auto tx = std::make_shared<sip::TransactionLayer::ClientHandle>();  // the REFER's transaction under way
    sendInDialog(
        sessionId, std::move(refer),
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
        [this, sessionId, reply, done](sip::Failure failure) {
          if (std::exchange(*done, true)) return;
          if (Leg* l = legOf(sessionId)) {
            referProgress(*l, failure == sip::Failure::Transport ? "unreachable" : "timeout", 0, true, {});
            l->referTo.clear();
            l->referImplied = nullptr;
            l->referAbandoned = nullptr;
          }
          if (failure == sip::Failure::Transport)
            return reply(wireError(ErrorCode::ConnectionLost, "the SIP peer's connection failed before it answered the REFER"), {});
          reply(wireError(ErrorCode::Timeout, "the SIP peer did not answer the REFER"), {});
        },
        tx);
    leg->referImplied = [this, tx, accepted] {
      transactions.abandon(*tx);  // no more retransmissions: the peer has it
      accepted(0);  // 0: no SIP status was seen; the NOTIFY says the REFER was accepted
    };
    leg->referAbandoned = [this, tx, reply, done] {
      transactions.abandon(*tx);
      if (std::exchange(*done, true)) return;
      reply(wireError(ErrorCode::ConnectionLost, "the call ended before the SIP peer answered the REFER"), {});
    };
  }

  // Prepares an INVITE for a new leg of ours (dial-out, or the far side of a bridge). Null, with *why, when
  // target is not a SIP URI, or asks for a transport the gateway does not speak or for TLS (sips:, transport=tls)
  // that it cannot give on the first hop. A first hop that names a host is resolved when the INVITE is sent.
  std::shared_ptr<Leg> invite(const std::string& room, const std::string& target, const std::string& fromParty,
                              const std::string& displayName, std::string* why) {
    *why = kNeedsSipUri;
    const auto uri = sip::uriTarget(target);
    if (!uri) return nullptr;
    // The first hop: the outbound proxy (a pre-loaded route, §8.1.2), else the target itself.
    std::vector<std::string> routes;
    if (!outboundProxy.empty()) routes.push_back("<" + outboundProxy + ">");
    const std::string hopUri = outboundProxy.empty() ? target : outboundProxy;
    bool known = false;
    const auto named = namedProtocol(outboundProxy.empty() ? *uri : *sip::uriTarget(outboundProxy), &known);
    if (!known) {
      *why = "asks for a transport the devserver does not speak (it speaks udp, tcp and tls)";
      return nullptr;
    }
    const bool wantsTls = uri->secure || uri->transport == "tls";
    if (wantsTls && !tlsContext) {
      *why = "asks for TLS, and the devserver serves no SIP over TLS (start it with --sip-tls-cert and --sip-tls-key)";
      return nullptr;
    }
    if (uri->secure && !outboundProxy.empty() && named != sip::Protocol::Tls) {
      *why = "is a sips: URI (TLS on every hop), and the outbound proxy is not reached over TLS";
      return nullptr;
    }
    // An IP address is its own next hop; a host name's flow is found by DNS when the INVITE goes out.
    const Flow hop = sip::flowToUri(hopUri).value_or(Flow{named.value_or(sip::Protocol::Udp), {}, 0, 0});
    auto leg = std::make_shared<Leg>(transport, timers);
    leg->sessionId = detail::newUuid();
    leg->room = room;
    leg->dialIn = false;
    leg->state = LegState::Calling;
    leg->dialog = sip::Dialog::calling(detail::randomHex(12) + "@" + options.host,
                                       (displayName.empty() ? "" : "\"" + displayName + "\" ") + fromParty, target,
                                       hop, detail::randomHex(6), std::move(routes));
    leg->destination = target;
    leg->hopUri = hopUri;
    std::string branch;
    if (!leg->dialog.invite(transport, &branch)) return nullptr;  // libosip2 cannot write an INVITE to it
    // SRTP when the first hop is TLS for certain (sips:, transport=tls, a TLS outbound proxy); a host name whose
    // NAPTR records choose TLS is offered plain RTP, since the offer is written before the name is resolved.
    if (!openMedia(*leg, named == sip::Protocol::Tls)) {
      *why = "cannot be called now: no RTP port is free";
      return nullptr;
    }
    leg->calling = std::make_unique<sip::CallingInvite>(
        transactions, leg->dialog,
        [this](const std::string& uri, sip::CallingInvite::Targets done) { resolver.resolve(uri, std::move(done)); },
        [this, dialog = &leg->dialog](const osip_message_t* request, const osip_message_t* challenge) {
          return authorized(request, challenge, *dialog);
        });
    auto& offer = leg->calling->offer();
    offer.headers.emplace_back("Allow", kAllow);
    Leg* raw = leg.get();  // the usage lives and dies with its leg
    offer.sdp = [raw] { return raw->sdp->offer(); };
    offer.offerAgain = [raw] {  // SRTP refused: plain RTP, when the policy allows it
      if (!raw->sdp->fallBackToRtp()) return false;
      DAILY_LOG(Info, "sip", "INVITE of " << raw->dialog.callId << ": SRTP refused (488); calling again with RTP");
      return true;
    };
    legs[leg->dialog.callId] = leg;
    sessions[leg->sessionId] = leg->dialog.callId;
    return leg;
  }

  // Calls the leg's INVITE (sip::CallingInvite); onAnswered / onFailed(status, reason) / onProgress(status)
  // report its outcome, as CallingInvite::Events say. A failed call's leg is forgotten before onFailed runs; an
  // answered one that was cancelled meanwhile (the 2xx crossed the CANCEL) is hung up instead of answered.
  void runInvite(const std::string& sessionId, std::function<void(int)> onProgress, std::function<void()> onAnswered,
                 std::function<void(int, const std::string&)> onFailed) {
    Leg* leg = legOf(sessionId);
    if (!leg || !leg->calling) return;
    leg->calling->start(
        leg->hopUri,
        {std::move(onProgress),
         [this, sessionId, onAnswered](osip_message_t* ok) {
           Leg* l = legOf(sessionId);
           if (!l) return;
           l->state = LegState::Confirmed;
           acceptAnswer(*l, sip::body(ok));
           if (l->calling->cancelled()) return hangUp(*l, {});
           onAnswered();
         },
         [this, sessionId, onFailed](int code, const std::string& why) {
           if (Leg* l = legOf(sessionId)) forgetLeg(*l);
           onFailed(code, why);
         }});
  }

  // Stops a call of ours that is not answered yet (CallingInvite::cancel).
  void cancelCall(Leg& leg) {
    if (leg.calling) leg.calling->cancel();
  }

  void startDialOut(const std::string& room, const json& params, Reply reply) {
    Room* r = hub.findRoom(room);
    if (!r) return reply(wireError(ErrorCode::NotFound, "the room no longer exists"), {});
    const std::string displayName = params.value("displayName", std::string());
    std::string why;
    auto leg = invite(room, params.value("sipUri", std::string()), "<" + hub.sipAddress(*r) + ">", displayName, &why);
    if (!leg) return reply(wireError(ErrorCode::InvalidArgument, "startDialOut: sipUri " + why), {});
    leg->userId = params.value("userId", std::string());
    leg->sipFrom = hub.sipAddress(*r);
    const std::string sessionId = leg->sessionId;
    const std::string destination = leg->destination;
    auto connected = [this, sessionId] {
      Leg* l = legOf(sessionId);
      Room* rm = l ? hub.findRoom(l->room) : nullptr;
      if (!rm || l->connectedSent) return;
      l->connectedSent = true;
      hub.broadcast(*rm, "dialout-connected", dialEvent(*l));
      hub.notify(*rm, "dialout.connected", {{"session_id", l->sessionId}, {"user_id", l->userId},
                                            {"destination", l->destination}});
    };
    runInvite(
        sessionId, [connected](int code) { if (code > 100) connected(); },
        [this, sessionId, connected, displayName] {
          connected();
          Leg* l = legOf(sessionId);
          Room* rm = l ? hub.findRoom(l->room) : nullptr;
          if (!rm) return;
          hub.broadcast(*rm, "dialout-answered", dialEvent(*l));
          hub.notify(*rm, "dialout.answered", {{"session_id", l->sessionId}, {"user_id", l->userId},
                                               {"destination", l->destination}});
          joinRoom(*rm, *l, displayName.empty() ? l->destination : displayName);
        },
        [this, room, sessionId, userId = leg->userId, destination, event = dialEvent(*leg)](int code,
                                                                                            const std::string& why) {
          Room* rm = hub.findRoom(room);
          if (!rm) return;
          const bool cancelled = code == 487;
          json payload = event;
          const json webhook{{"session_id", sessionId}, {"user_id", userId}, {"destination", destination}};
          if (cancelled) {
            hub.notify(*rm, "dialout.stopped", webhook);
            return hub.broadcast(*rm, "dialout-stopped", payload);
          }
          payload["errorMsg"] = code          ? "the callee answered " + std::to_string(code) + " " + why
                                : why.empty() ? std::string("the callee did not answer in time")
                                              : "the callee " + why;
          payload["sipStatus"] = code;
          payload["details"] = {{"destination", destination}};  // (daily-js has it there; we also keep it on top)
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
    endCall(*leg, std::move(reply));
  }

  void hangUpParticipant(const std::string& room, const std::string& sessionId, Reply reply) {
    Leg* leg = roomLeg(room, sessionId);
    if (!leg) return reply(wireError(ErrorCode::NotFound, "no SIP participant " + sessionId + " in this room"), {});
    endCall(*leg, std::move(reply));
  }

  // CANCEL before the answer, BYE after it; reply once the leg has ended.
  void endCall(Leg& leg, Reply reply) {
    if (leg.state == LegState::Calling) {
      cancelCall(leg);
      return reply(std::nullopt, json::object());
    }
    hangUp(leg, [reply] { reply(std::nullopt, json::object()); });
  }

  void sipCallTransfer(const std::string& room, const std::string& sessionId, const std::string& toEndPoint,
                       Reply reply) {
    Leg* caller = roomLeg(room, sessionId);
    if (!caller) return reply(wireError(ErrorCode::NotFound, "no SIP participant with session " + sessionId + " in this room"), {});
    if (caller->state != LegState::Confirmed || !caller->bridgedWith.empty() || !caller->referTo.empty())
      return reply(wireError(ErrorCode::InvalidArgument, "session " + sessionId + " is not an established SIP call"), {});
    if (toEndPoint.rfind("tel:", 0) == 0)
      return reply(wireError(ErrorCode::InvalidArgument, "the devserver transfers to SIP URIs only (no PSTN)"), {});
    std::string why;
    auto far = invite({}, toEndPoint, caller->dialog.remoteParty, {}, &why);
    if (!far) return reply(wireError(ErrorCode::InvalidArgument, "toEndPoint " + why), {});
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
        farId, [progress](int code) { if (code > 100) progress("ringing", code); },
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
          // Their audio, both ways, and nobody else's.
          const std::string bridge = "bridge:" + sessionId;
          if (c->media) engine.join(c->media, bridge);
          if (f->media) engine.join(f->media, bridge);
          // The caller leaves the room; its leg stays up, bridged to the new one, until either side hangs up.
          if (Room* rm = hub.findRoom(c->room)) {
            hub.removeMember(*rm, sessionId);
            c->inRoom = false;
            hub.broadcast(*rm, c->dialIn ? "dialin-stopped" : "dialout-stopped", dialEvent(*c));
          }
          c->room.clear();
          reply(std::nullopt, json::object());
        },
        [this, sessionId, progress, reply](int code, const std::string& why) {
          if (Leg* c = legOf(sessionId)) c->referTo.clear();
          progress("failed", code);
          if (code == 0 && !why.empty())
            return reply(wireError(ErrorCode::ConnectionLost, "the transfer target " + why), {});
          if (code == 0) return reply(wireError(ErrorCode::Timeout, "the transfer target did not answer"), {});
          reply(wireError(ErrorCode::SipRejected, "the transfer target answered " + std::to_string(code) + " " + why, code), {});
        });
  }

  void sendDtmf(const std::string& room, const std::string& sessionId, const std::string& tones, int durationMs,
                const std::string& method, Reply reply) {
    Leg* leg = roomLeg(room, sessionId);
    if (!leg) return reply(wireError(ErrorCode::NotFound, "no SIP participant with session " + sessionId + " in this room"), {});
    if (leg->state != LegState::Confirmed)
      return reply(wireError(ErrorCode::InvalidArgument, "session " + sessionId + " is not an established SIP call"), {});
    const bool rtp = leg->media && leg->negotiatedOnce && leg->negotiated.telephoneEvent >= 0 && leg->negotiated.send;
    if (method == "telephone-event" && !rtp)
      return reply(wireError(ErrorCode::InvalidArgument, "session " + sessionId +
                                                             "'s call did not negotiate telephone-event (use sip-info)"), {});
    const bool byRtp = method == "telephone-event" || (method != "sip-info" && rtp);
    whenReady(*leg, [this, sessionId, tones, durationMs, byRtp, reply](bool acked) {
      if (!acked) return reply(wireError(ErrorCode::ConnectionLost, "the call ended before the caller confirmed it (no ACK)"), {});
      if (!byRtp) return sendDigit(sessionId, tones, 0, durationMs, reply);
      Leg* l = legOf(sessionId);
      if (!l || !l->media) return reply(wireError(ErrorCode::NotFound, "the SIP call ended before every tone was sent"), {});
      std::string keys = tones;
      for (char& c : keys) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      engine.sendDtmf(l->media, keys, std::chrono::milliseconds(durationMs), [this, reply](bool sent) {
        asio::post(io, [this, reply, sent] {
          if (!running) return;
          if (!sent) return reply(wireError(ErrorCode::NotFound, "the SIP call ended before every tone was sent"), {});
          reply(std::nullopt, json{{"method", "telephone-event"}});
        });
      });
    });
  }

  // One INFO per digit, each after the previous one was answered (RFC 6086 has no ordering across transactions).
  void sendDigit(const std::string& sessionId, const std::string& tones, std::size_t index, int durationMs, Reply reply) {
    if (index == tones.size()) return reply(std::nullopt, json{{"method", "sip-info"}});
    Leg* leg = legOf(sessionId);
    if (!leg || leg->state != LegState::Confirmed)
      return reply(wireError(ErrorCode::NotFound, "the SIP call ended before every tone was sent"), {});
    auto info = leg->dialog.request("INFO", transport);
    const char digit = static_cast<char>(std::toupper(static_cast<unsigned char>(tones[index])));
    sip::setBody(info.get(), "application/dtmf-relay",
                 std::string("Signal=") + digit + "\r\nDuration=" + std::to_string(durationMs) + "\r\n");
    sendInDialog(
        sessionId, std::move(info),
        [this, sessionId, tones, index, durationMs, reply](osip_message_t* response) {
          const int code = sip::status(response);
          if (code < 200) return;
          if (code >= 300)
            return reply(wireError(ErrorCode::SipRejected, "the SIP peer refused DTMF: " + std::to_string(code), code), {});
          sendDigit(sessionId, tones, index + 1, durationMs, reply);
        },
        [reply](sip::Failure failure) {
          if (failure == sip::Failure::Transport)
            return reply(wireError(ErrorCode::ConnectionLost, "the SIP peer's connection failed before it answered the DTMF INFO"), {});
          reply(wireError(ErrorCode::Timeout, "the SIP peer did not answer the DTMF INFO"), {});
        });
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
        cancelCall(*leg);
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
std::uint16_t Gateway::port() const { return impl_->udp.port(); }
std::uint16_t Gateway::tcpPort() const { return impl_->tcp.port(); }
std::uint16_t Gateway::tlsPort() const { return impl_->tlsContext ? impl_->tls.port() : 0; }
void Gateway::stop() { impl_->stop(); }

void Gateway::sipRefer(const std::string& room, const std::string& sessionId, const std::string& toEndPoint,
                       const json& headers, const std::string& referredBy, const std::string& replaces, Reply reply) {
  impl_->sipRefer(room, sessionId, toEndPoint, headers, referredBy, replaces, std::move(reply));
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

void Gateway::hangUpParticipant(const std::string& room, const std::string& sessionId, Reply reply) {
  impl_->hangUpParticipant(room, sessionId, std::move(reply));
}
void Gateway::sendDtmf(const std::string& room, const std::string& sessionId, const std::string& tones, int durationMs,
                       const std::string& method, Reply reply) {
  impl_->sendDtmf(room, sessionId, tones, durationMs, method, std::move(reply));
}

media::Engine& Gateway::media() { return impl_->engine; }

std::optional<media::MediaCounters> Gateway::mediaCounters(const std::string& sessionId) const {
  return impl_->engine.counters(sessionId);
}
void Gateway::roomDeleted(const std::string& room) { impl_->roomDeleted(room); }

void Gateway::handleDatagram(std::string_view datagram) {
  if (datagram.size() > sip::UdpTransport::kMaxDatagram) return;  // the socket could not have delivered it
  impl_->udp.inject(datagram, Flow{sip::Protocol::Udp, asio::ip::make_address("127.0.0.1"), 9, 0});
}

void Gateway::greet(const Room& room, const std::function<void(const std::string&, const json&)>& send) {
  if (room.dialInEnabled())
    send("dialin-ready", {{"sipEndpoint", impl_->hub.sipEndpoint(room)}, {"provider", kProvider}});
}

}  // namespace daily::devserver
