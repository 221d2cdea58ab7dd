#include "sip/transaction.hpp"

#include "common/ids.hpp"
#include "common/log.hpp"

#include <algorithm>
#include <cstring>

namespace daily::devserver::sip {

struct TransactionLayer::ClientTransaction {
  explicit ClientTransaction(Timers& timers) : retransmit(timers), timeout(timers) {}
  std::string key;
  bool invite = false;
  std::string wire;
  Flow destination;
  std::chrono::milliseconds interval{};
  Timer retransmit;
  Timer timeout;  // Timer B/F while waiting; then how long the finished transaction lingers (Timer D/K)
  bool completed = false;
  std::string ack;  // INVITE: the ACK sent for a non-2xx final response, re-sent when that response is repeated
  OnResponse onResponse;
  OnFailure onFailure;
  // §18.1.1: a request too long for UDP that went over TCP instead, and what it would be over UDP.
  bool overTcp = false;
  std::string udpWire;
  Flow udpDestination;
};

// What a server transaction answered, to repeat it when the request is retransmitted (§17.2).
struct TransactionLayer::ServerTransaction {
  ServerTransaction(Timers& timers, bool invite) : invite(invite), expiry(timers), retransmit(timers) {}
  bool invite;
  std::string lastResponse;
  Flow peer;
  Timer expiry;
  Timer retransmit;  // Timer G: an INVITE's non-2xx final, until the ACK
  int finalStatus = 0;
  MessagePtr request;  // INVITE only: kept to answer it later, and a CANCEL with 487
};

TransactionLayer::TransactionLayer(Transport& transport, Timers& timers, TransactionConfig config)
    : transport_(transport), timers_(timers), config_(config) {}

TransactionLayer::~TransactionLayer() = default;

std::string TransactionLayer::serverKey(const osip_message_t* request, const char* as) {
  std::string m = as ? as : method(request);
  if (m == "ACK") m = "INVITE";
  return topBranch(request) + "|" + topSentBy(request) + "|" + m;
}

std::string TransactionLayer::clientKey(const osip_message_t* message) {
  return topBranch(message) + "|" + method(message);
}

void TransactionLayer::clear() {
  clients_.clear();  // their timers are cancelled with them
  servers_.clear();
}

// ---- incoming -----------------------------------------------------------------------------------------------

void TransactionLayer::receive(std::string_view wire, const Flow& from) {
  std::string why;
  auto message = parse(wire, &why);
  if (!message) {
    DAILY_LOG(Warn, "sip", "dropped a malformed message from " << from << ": " << why);
    return answerMalformed(wire, from, why);
  }
  DAILY_LOG(Info, "sip", "<-- " << firstLine(wire) << "  (from " << from << ")");
  DAILY_LOG(Debug, "sip", "received from " << from << ":\n" << wire);
  if (!isRequest(message.get())) return onResponse(std::move(message), from);
  markSource(message.get(), from.address.to_string(), from.port);
  auto it = servers_.find(serverKey(message.get()));
  if (it != servers_.end()) {
    ServerTransaction& tx = *it->second;
    if (method(message.get()) == "ACK") {
      // The ACK of a non-2xx final belongs to the transaction (§17.2.1): it stops Timer G and goes no further.
      // A 2xx's ACK is the dialog's, even when a peer reuses the INVITE's branch for it.
      if (tx.finalStatus >= 300) return tx.retransmit.cancel();
    } else {  // a retransmission: repeat what we answered, if anything
      if (!tx.lastResponse.empty()) transport_.send(tx.lastResponse, tx.peer);
      return;
    }
  }
  if (user_.request) user_.request(std::move(message), from);
}

// A request osip could read but that fails RFC 3261's checks gets a 400 when it has enough to address one.
void TransactionLayer::answerMalformed(std::string_view wire, const Flow& from, const std::string& why) {
  if (wire.rfind("SIP/2.0", 0) == 0) return;  // never answer a response
  osip_message_t* raw = nullptr;
  osip_message_init(&raw);
  MessagePtr m(raw);
  if (osip_message_parse(raw, wire.data(), wire.size()) != 0) return;
  if (!MSG_IS_REQUEST(raw) || !raw->sip_method || std::strcmp(raw->sip_method, "ACK") == 0) return;
  if (osip_list_size(&raw->vias) < 1 || !raw->from || !raw->to || !raw->call_id || !raw->cseq) return;
  auto response = newResponse(raw, 400, {});
  osip_free(response->reason_phrase);  // osip_message_set_reason_phrase does not free the one it replaces
  osip_message_set_reason_phrase(response.get(), osip_strdup(("Bad Request (" + why + ")").c_str()));
  transport_.send(serialize(response.get()), from);
}

// ---- client transactions ------------------------------------------------------------------------------------

// The wire of a request of ours with its top Via (the one our transport wrote, first in the message) moved from
// UDP to protocol; "" when that Via is not ours over UDP.
std::string TransactionLayer::viaOver(const std::string& wire, Protocol protocol) const {
  const std::string udp = "\r\nVia: SIP/2.0/UDP " + transport_.localHostPort(Protocol::Udp) + ";";
  const std::size_t at = wire.find("\r\nVia: ");
  if (at == std::string::npos || wire.compare(at, udp.size(), udp) != 0) return {};
  return wire.substr(0, at) + "\r\nVia: SIP/2.0/" + viaName(protocol) + " " + transport_.localHostPort(protocol) +
         wire.substr(at + udp.size() - 1);
}

TransactionLayer::ClientHandle TransactionLayer::request(osip_message_t* request, const Flow& to,
                                                         OnResponse onResponse, OnFailure onFailure) {
  auto tx = std::make_shared<ClientTransaction>(timers_);
  const std::string m = method(request);
  tx->invite = m == "INVITE";
  tx->key = clientKey(request);
  tx->wire = serialize(request);
  tx->destination = to;
  tx->interval = config_.t1;
  tx->onResponse = std::move(onResponse);
  tx->onFailure = std::move(onFailure);
  if (m == "CANCEL") {  // §9.1: where the INVITE went, over its transport, with its Via
    auto invite = clients_.find(topBranch(request) + "|INVITE");
    if (invite != clients_.end() && invite->second->overTcp) {
      const std::string moved = viaOver(tx->wire, Protocol::Tcp);
      if (!moved.empty()) {
        tx->wire = moved;
        tx->destination = invite->second->destination;
      }
    }
  } else if (to.protocol == Protocol::Udp && tx->wire.size() > kMaxUdpRequest) {
    const std::string moved = viaOver(tx->wire, Protocol::Tcp);
    if (!moved.empty()) {
      DAILY_LOG(Info, "sip", m << " of " << tx->wire.size() << " bytes to " << to
                               << ": over TCP, as RFC 3261 18.1.1 wants a request this long");
      tx->overTcp = true;
      tx->udpWire = std::move(tx->wire);
      tx->udpDestination = to;
      tx->wire = moved;
      tx->destination = Flow{Protocol::Tcp, to.address, to.port, 0};
    }
  }
  clients_[tx->key] = tx;
  transport_.send(tx->wire, tx->destination, [this, key = tx->key](const std::string& why) { undelivered(key, why); });
  if (!transport_.reliable(tx->destination.protocol)) retransmit(*tx);
  tx->timeout.start(config_.timeout, [this, key = tx->key] { timedOut(key); });
  return tx;
}

// The transport could not deliver a request: the transaction fails, unless it had moved to TCP for its length,
// when it goes over UDP after all (§18.1.1: the peer may not speak TCP), retransmitted as UDP is.
void TransactionLayer::undelivered(const std::string& key, const std::string& why) {
  auto it = clients_.find(key);
  if (it == clients_.end() || !it->second->overTcp || it->second->completed)
    return failed(key, Failure::Transport, why);
  ClientTransaction& tx = *it->second;
  DAILY_LOG(Info, "sip", "over TCP to " << tx.destination << ": " << why << "; over UDP after all");
  tx.overTcp = false;
  tx.wire = std::move(tx.udpWire);
  tx.destination = tx.udpDestination;
  transport_.send(tx.wire, tx.destination, [this, key](const std::string& w) { failed(key, Failure::Transport, w); });
  retransmit(tx);
}

void TransactionLayer::retransmit(ClientTransaction& tx) {
  tx.retransmit.start(tx.interval, [this, t = &tx] {  // the timer dies with its transaction
    transport_.send(t->wire, t->destination);
    t->interval = t->invite ? t->interval * 2 : std::min(t->interval * 2, config_.t2);
    retransmit(*t);
  });
}

void TransactionLayer::timedOut(const std::string& key) { failed(key, Failure::Timeout, "timed out"); }

void TransactionLayer::failed(const std::string& key, Failure why, const std::string& detail) {
  auto it = clients_.find(key);
  if (it == clients_.end()) return;
  auto tx = it->second;  // alive until this returns
  if (tx->completed) {
    if (why == Failure::Timeout) clients_.erase(it);  // it had lingered long enough
    return;
  }
  clients_.erase(it);
  tx->completed = true;
  tx->retransmit.cancel();
  tx->timeout.cancel();
  DAILY_LOG(Info, "sip", "transaction " << key << " failed: " << detail);
  if (tx->onFailure) tx->onFailure(why);
}

void TransactionLayer::abandon(const ClientHandle& handle) {
  auto tx = handle.lock();
  if (!tx || tx->completed) return;
  tx->completed = true;
  tx->retransmit.cancel();
  tx->timeout.cancel();
  clients_.erase(tx->key);
}

void TransactionLayer::onResponse(MessagePtr response, const Flow& from) {
  auto it = clients_.find(clientKey(response.get()));
  if (it == clients_.end()) {
    if (user_.response) user_.response(response.get(), from);
    return;
  }
  auto tx = it->second;  // alive until this returns, whatever the callback does
  const int code = status(response.get());
  if (tx->completed) {
    // RFC 6026 7.2: an INVITE's transaction passes every further 2xx up ("Accepted"), for the dialog to ACK.
    if (tx->invite && code >= 200 && code < 300) {
      if (user_.response) user_.response(response.get(), from);
    } else if (!tx->ack.empty() && code >= 300) {
      transport_.send(tx->ack, tx->destination);
    }
    return;
  }
  if (code < 200) {
    if (tx->invite) tx->retransmit.cancel();  // Proceeding: an INVITE is no longer retransmitted
    else tx->interval = config_.t2;
    if (tx->onResponse) tx->onResponse(response.get());
    return;
  }
  tx->completed = true;
  tx->retransmit.cancel();
  if (tx->invite && code >= 300) {
    tx->ack = ackForFailure(response.get(), tx->wire);
    transport_.send(tx->ack, tx->destination);
  }
  // Keep the finished transaction a while to absorb repeated final responses (Timers D/K).
  tx->timeout.start(config_.timeout, [this, key = tx->key] { timedOut(key); });
  if (tx->onResponse) tx->onResponse(response.get());
}

// The ACK a client INVITE transaction sends for a non-2xx final response (§17.1.1.3): same branch, Request-URI,
// From, Call-ID and CSeq number as the INVITE, To from the response.
std::string TransactionLayer::ackForFailure(osip_message_t* response, const std::string& inviteWire) {
  std::string why;
  auto invite = parse(inviteWire, &why);
  if (!invite) return {};
  auto* via = static_cast<osip_via_t*>(osip_list_get(&invite->vias, 0));
  char* viaText = nullptr;
  osip_via_to_str(via, &viaText);
  auto ack = newRequest("ACK", requestUri(invite.get()), viaText ? viaText : "", fromHeader(invite.get()),
                        toHeader(response), callId(invite.get()), cseq(invite.get()));
  osip_free(viaText);
  if (ack) copyRoutes(invite.get(), ack.get());
  return ack ? serialize(ack.get()) : std::string();
}

// ---- server transactions ------------------------------------------------------------------------------------

std::string TransactionLayer::respond(osip_message_t* request, const Flow& peer, int code, const std::string& toTag,
                                      const Decorate& decorate) {
  // §8.2.6.2: a final response to a request outside a dialog carries a To tag (newResponse adds it only when the
  // request's To has none).
  auto response = newResponse(request, code, toTag.empty() && code >= 200 ? detail::randomHex(6) : toTag);
  if (decorate) decorate(response.get());
  const std::string k = serverKey(request);
  auto& tx = servers_[k];
  if (!tx) {
    tx = std::make_shared<ServerTransaction>(timers_, method(request) == "INVITE");
    tx->peer = peer;
  }
  tx->lastResponse = serialize(response.get());
  transport_.send(tx->lastResponse, peer);
  if (code >= 200 && tx->finalStatus == 0) {
    tx->finalStatus = code;
    // Timer H/J: the transaction absorbs retransmissions (and, for an INVITE's failure, its ACK) this long.
    tx->expiry.start(config_.timeout, [this, k] { servers_.erase(k); });
    if (tx->invite && code >= 300 && !transport_.reliable(peer.protocol)) retransmitFinal(*tx, config_.t1);
  }
  return tx->lastResponse;
}

// Timer G (§17.2.1): an INVITE's non-2xx final response again at T1, doubling up to T2, until the ACK comes or
// the transaction expires (Timer H).
void TransactionLayer::retransmitFinal(ServerTransaction& tx, std::chrono::milliseconds interval) {
  tx.retransmit.start(interval, [this, t = &tx, interval] {  // the timer dies with its transaction
    transport_.send(t->lastResponse, t->peer);
    retransmitFinal(*t, std::min(interval * 2, config_.t2));
  });
}

void TransactionLayer::keep(MessagePtr request) {
  auto it = servers_.find(serverKey(request.get()));
  if (it != servers_.end()) it->second->request = std::move(request);
}

osip_message_t* TransactionLayer::kept(const std::string& key) const {
  auto it = servers_.find(key);
  return it == servers_.end() ? nullptr : it->second->request.get();
}

}  // namespace daily::devserver::sip
