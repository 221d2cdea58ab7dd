#include "sip/dialog.hpp"

namespace daily::devserver::sip {
namespace {

// Contact and route set, as every request we send within a dialog carries them.
void finish(MessagePtr& request, const Dialog& dialog, const Transport& transport) {
  if (!request) return;
  osip_message_set_contact(request.get(), transport.contact(dialog.peer.protocol).c_str());
  for (const auto& route : dialog.routeSet) osip_message_set_route(request.get(), route.c_str());
}

}  // namespace

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
  // In-dialog requests go to the Contact when it is an IP literal, else where the INVITE came from. Over a
  // connection they go on the one the INVITE came in on while it is open (that is what reaches a caller behind
  // NAT), and to the Contact's address once it is gone.
  d.peer = from;
  std::uint16_t port = 0;
  const std::string host = contactHostPort(invite, &port);
  if (!host.empty()) {
    if (auto flow = flowTo(host, port, from.protocol)) {
      flow->connection = from.connection;
      d.peer = *flow;
    }
  }
  return d;
}

Dialog Dialog::calling(std::string callId, std::string localParty, const std::string& target, const Flow& peer,
                       std::string localTag) {
  Dialog d;
  d.callId = std::move(callId);
  d.localTag = std::move(localTag);
  d.localParty = std::move(localParty);
  d.remoteParty = "<" + target + ">";
  d.remoteTarget = target;
  d.peer = peer;
  return d;
}

void Dialog::confirm(const osip_message_t* response) {
  remoteTag = toTag(response);
  if (!contactUri(response).empty()) remoteTarget = contactUri(response);
  // The Contact's address, over the protocol the INVITE used (and on its connection when that is where it
  // points).
  std::uint16_t port = 0;
  const std::string host = contactHostPort(response, &port);
  if (!host.empty()) {
    if (auto flow = flowTo(host, port, peer.protocol)) {
      if (flow->address == peer.address && flow->port == peer.port) flow->connection = peer.connection;
      peer = *flow;
    }
  }
  auto routes = recordRoutes(response);
  routeSet.assign(routes.rbegin(), routes.rend());
}

bool Dialog::matches(const osip_message_t* request) const {
  return sip::callId(request) == callId && toTag(request) == localTag && fromTag(request) == remoteTag;
}

MessagePtr Dialog::request(const std::string& method, const Transport& transport) {
  std::string branch;
  auto r = newRequest(method, remoteTarget, transport.newVia(&branch, peer.protocol), from(), to(), callId, ++localCseq);
  finish(r, *this, transport);
  return r;
}

MessagePtr Dialog::ackFor2xx(const Transport& transport) const {
  std::string branch;
  auto ack = newRequest("ACK", remoteTarget, transport.newVia(&branch, peer.protocol), from(), to(), callId, localCseq);
  finish(ack, *this, transport);
  return ack;
}

MessagePtr Dialog::invite(const Transport& transport, std::string* branch) const {
  auto r = newRequest("INVITE", remoteTarget, transport.newVia(branch, peer.protocol), from(), to(), callId, localCseq);
  if (r) osip_message_set_contact(r.get(), transport.contact(peer.protocol).c_str());
  return r;
}

MessagePtr Dialog::cancelOf(const osip_message_t* invite) const {
  auto* via = static_cast<osip_via_t*>(osip_list_get(&invite->vias, 0));
  char* viaText = nullptr;
  osip_via_to_str(via, &viaText);
  auto cancel = newRequest("CANCEL", requestUri(invite), viaText ? viaText : "", fromHeader(invite),
                           toHeader(invite), callId, cseq(invite));
  osip_free(viaText);
  return cancel;
}

}  // namespace daily::devserver::sip
