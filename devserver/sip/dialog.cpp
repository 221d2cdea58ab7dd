#include "sip/dialog.hpp"

namespace daily::devserver::sip {

std::optional<Flow> flowToUri(const std::string& uri, Protocol fallback) {
  auto target = uriTarget(uri);
  if (!target) return std::nullopt;
  Protocol protocol = fallback;
  if (target->secure || target->transport == "tls") protocol = Protocol::Tls;  // sips: is TLS whatever it says
  else if (target->transport == "udp") protocol = Protocol::Udp;
  else if (target->transport == "tcp") protocol = Protocol::Tcp;
  else if (!target->transport.empty()) return std::nullopt;
  const std::uint16_t port = target->port ? target->port : protocol == Protocol::Tls ? 5061 : 5060;
  return flowTo(target->host, port, protocol);
}

bool behindNat(const osip_message_t* request, const Flow& from) {
  if (from.protocol != Protocol::Udp) return false;  // over TCP the source port is always the connection's own
  std::uint16_t port = 0;
  const std::string host = topViaHostPort(request, &port);
  const auto sentBy = flowTo(host, port);
  return sentBy && (sentBy->address != from.address || sentBy->port != from.port);
}

Dialog Dialog::answering(const osip_message_t* invite, const Flow& from, std::string localParty,
                         std::string localTag) {
  Dialog d;
  d.callId = sip::callId(invite);
  d.localTag = std::move(localTag);
  d.remoteTag = fromTag(invite);
  d.localParty = std::move(localParty);
  d.remoteParty = fromHeader(invite);
  if (auto tag = d.remoteParty.find(";tag="); tag != std::string::npos) d.remoteParty.erase(tag);
  d.remoteTarget = contactUri(invite);
  if (d.remoteTarget.empty()) d.remoteTarget = fromUri(invite);
  d.routeSet = recordRoutes(invite);
  d.secure = from.protocol == Protocol::Tls && uriTarget(requestUri(invite)).value_or(UriTarget{}).secure;
  d.peer = from;
  // A proxy on the path handles its callers' NATs; a caller that reached us directly through one is answered
  // where its packets come from (symmetric signalling, as RFC 3581 does for responses).
  d.natted = d.routeSet.empty() && behindNat(invite, from);
  if (d.natted) return d;
  if (auto hop = flowToUri(d.nextHopUri(), from.protocol)) {
    // Over a connection: the INVITE's, while it is open (the next hop sent it: the first proxy, or the caller),
    // then a connection to the hop's listening address.
    if (hop->protocol == from.protocol) hop->connection = from.connection;
    d.peer = *hop;
  }
  return d;
}

Dialog Dialog::calling(std::string callId, std::string localParty, const std::string& target, const Flow& peer,
                       std::string localTag, std::vector<std::string> preloadedRoutes) {
  Dialog d;
  d.callId = std::move(callId);
  d.localTag = std::move(localTag);
  d.localParty = std::move(localParty);
  d.remoteParty = "<" + target + ">";
  d.remoteTarget = target;
  d.routeSet = std::move(preloadedRoutes);
  d.secure = uriTarget(target).value_or(UriTarget{}).secure;
  d.peer = peer;
  return d;
}

void Dialog::confirm(const osip_message_t* response) {
  remoteTag = toTag(response);
  if (!contactUri(response).empty()) remoteTarget = contactUri(response);
  auto routes = recordRoutes(response);
  routeSet.assign(routes.rbegin(), routes.rend());
  if (auto hop = flowToUri(nextHopUri(), peer.protocol)) {
    if (hop->protocol == peer.protocol && hop->address == peer.address && hop->port == peer.port)
      hop->connection = peer.connection;
    peer = *hop;
  }
}

bool Dialog::nextHopNeedsLookup() const {
  if (natted) return false;
  const auto hop = uriTarget(nextHopUri());
  return hop && !hop->host.empty() && !flowTo(hop->host, 0);
}

void Dialog::resolvedNextHop(const Flow& target) {
  Flow hop = target;
  if (hop.protocol == peer.protocol && hop.address == peer.address && hop.port == peer.port)
    hop.connection = peer.connection;
  peer = hop;
}

bool Dialog::matches(const osip_message_t* request) const {
  return sip::callId(request) == callId && toTag(request) == localTag && fromTag(request) == remoteTag;
}

MessagePtr Dialog::addressed(const std::string& method, std::uint32_t number, const std::string& via,
                             const Transport& transport) const {
  std::string requestUri = remoteTarget;
  std::vector<std::string> routes = routeSet;
  if (!routes.empty()) {
    auto first = uriTarget(routes.front());
    if (first && !first->looseRouter) {  // a strict router (RFC 2543's kind) wants to be the Request-URI
      requestUri = uriOf(routes.front());
      routes.erase(routes.begin());
      routes.push_back("<" + remoteTarget + ">");
    }
  }
  auto r = newRequest(method, requestUri, via, from(), to(), callId, number);
  if (!r) return r;
  osip_message_set_contact(r.get(), transport.contact(peer.protocol, secure).c_str());
  for (const auto& route : routes) osip_message_set_route(r.get(), route.c_str());
  return r;
}

MessagePtr Dialog::request(const std::string& method, const Transport& transport) {
  std::string branch;
  const std::string via = transport.newVia(&branch, peer.protocol);
  return addressed(method, ++localCseq, via, transport);
}

MessagePtr Dialog::ackFor2xx(const Transport& transport) const {
  std::string branch;
  return addressed("ACK", localCseq, transport.newVia(&branch, peer.protocol), transport);
}

MessagePtr Dialog::invite(const Transport& transport, std::string* branch) const {
  return addressed("INVITE", localCseq, transport.newVia(branch, peer.protocol), transport);
}

MessagePtr Dialog::cancelOf(const osip_message_t* invite) const {
  auto* via = static_cast<osip_via_t*>(osip_list_get(&invite->vias, 0));
  char* viaText = nullptr;
  osip_via_to_str(via, &viaText);
  auto cancel = newRequest("CANCEL", requestUri(invite), viaText ? viaText : "", fromHeader(invite),
                           toHeader(invite), callId, cseq(invite));
  osip_free(viaText);
  if (cancel) copyRoutes(invite, cancel.get());
  return cancel;
}

}  // namespace daily::devserver::sip
