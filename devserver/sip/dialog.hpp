#pragma once

// The dialog layer (RFC 3261 §12): what the usages of one dialog (the INVITE session, a REFER subscription)
// share: Call-ID, both tags, both parties, the remote target, the route set, our CSeq and the flow to the peer.
// A dialog builds the requests sent within it and says whether a request belongs to it.

#include "sip/message.hpp"
#include "sip/transport.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace daily::devserver::sip {

/// The flow to where a SIP URI (or name-addr) leads, before DNS (RFC 3263 §4.1-4.2 for an IP literal): its host,
/// the protocol (TLS for a sips: URI; else its transport parameter's, `fallback` when it names none) and its port
/// (5061 for TLS, 5060 otherwise, when it names none). nullopt for a host name or a transport the gateway does
/// not speak (SCTP, WS).
std::optional<Flow> flowToUri(const std::string& uri, Protocol fallback = Protocol::Udp);

/// Whether an INVITE came through a NAT that rewrote its source (RFC 3581's case): over UDP, its top Via's
/// sent-by is not the address and port it came from. A Contact such a caller gives names its private address.
bool behindNat(const osip_message_t* request, const Flow& from);

struct Dialog {
  std::string callId;
  std::string localTag;
  std::string remoteTag;
  std::string localParty;    // our From in requests we send, without tag ("<sip:room@host:port>")
  std::string remoteParty;   // their address, without tag
  std::string remoteTarget;  // where in-dialog requests are addressed: their Contact URI
  std::vector<std::string> routeSet;  // name-addrs, first hop first
  bool natted = false;               // the peer is the NAT binding the INVITE came from, not the Contact
  bool secure = false;               // a sips: dialog (§12.1.1): TLS on every hop, a sips: Contact
  std::uint32_t localCseq = 1;
  Flow peer;  // where in-dialog requests go

  /// Our (UAS) side of the dialog an incoming INVITE asks for (§12.1.1): the remote target is its Contact (its
  /// From URI when it has none) and the route set its Record-Routes; secure when it came over TLS to a sips: URI. The peer (the next hop) is the first route
  /// when there is a route set, otherwise the Contact; but the address the INVITE came from when that next hop is
  /// not an IP literal, or when the caller is behind a NAT (behindNat) and there is no route set. Over TCP the
  /// peer keeps the INVITE's connection, used while it is open: it leads to the same next hop.
  static Dialog answering(const osip_message_t* invite, const Flow& from, std::string localParty,
                          std::string localTag);
  /// Our (UAC) side of a dialog we start with an INVITE to target, sent to peer (§12.1.2 once it is answered).
  /// Secure when target is a sips: URI. A route set given here is pre-loaded (§8.1.2: an outbound proxy, peer being its address) and is carried by
  /// the INVITE, its CANCEL and its ACKs, until the 2xx's Record-Routes replace it.
  static Dialog calling(std::string callId, std::string localParty, const std::string& target, const Flow& peer,
                        std::string localTag, std::vector<std::string> preloadedRoutes = {});
  /// Completes a dialog of ours from the 2xx that answered its INVITE: the remote tag, the remote target from its
  /// Contact, its Record-Routes reversed as the route set, and the peer at the next hop they give (the first
  /// route, else the Contact), over the INVITE's protocol and connection when that hop is where the INVITE went.
  void confirm(const osip_message_t* response);

  /// Whether request belongs to this dialog: the same Call-ID, our tag in its To, theirs in its From.
  bool matches(const osip_message_t* request) const;

  /// A new request within the dialog (§12.2.1.1): the next CSeq, a new Via from transport, our Contact and the
  /// route set. With a loose router first (`;lr`) the Request-URI is the remote target and the Routes are the
  /// route set; with a strict router first, the Request-URI is that router's URI and the remote target goes last
  /// among the Routes.
  MessagePtr request(const std::string& method, const Transport& transport);
  /// The ACK for the 2xx to our INVITE (§13.2.2.4): the INVITE's CSeq, a new branch.
  MessagePtr ackFor2xx(const Transport& transport) const;
  /// The first INVITE of a dialog of ours (CSeq 1, no remote tag yet).
  MessagePtr invite(const Transport& transport, std::string* branch) const;
  /// The CANCEL of our INVITE (§9.1): that INVITE's Via, Request-URI, From, To, Call-ID and CSeq number.
  MessagePtr cancelOf(const osip_message_t* invite) const;

  std::string from() const { return localParty + ";tag=" + localTag; }
  std::string to() const { return remoteParty + (remoteTag.empty() ? "" : ";tag=" + remoteTag); }

  /// The URI that names the next hop: the first route, else the remote target.
  std::string nextHopUri() const { return routeSet.empty() ? remoteTarget : uriOf(routeSet.front()); }
  /// Whether the next hop is a host name that DNS must turn into the peer (RFC 3263 applies to every request of
  /// the dialog, not only the first): until it has, the peer stays where answering() or confirm() put it. Never
  /// for a dialog behind a NAT, whose peer is the binding its INVITE came from.
  bool nextHopNeedsLookup() const;
  /// The next hop's lookup gave targets: the peer is the first, over the connection in use when it leads to the
  /// same address, port and protocol.
  void resolvedNextHop(const Flow& target);

 private:
  /// A request of this dialog with the given CSeq and Via, addressed by the route set, with our Contact.
  MessagePtr addressed(const std::string& method, std::uint32_t number, const std::string& via,
                       const Transport& transport) const;
};

}  // namespace daily::devserver::sip
