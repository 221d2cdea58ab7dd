#pragma once

// The dialog layer (RFC 3261 §12): what the usages of one dialog (the INVITE session, a REFER subscription)
// share: Call-ID, both tags, both parties, the remote target, the route set, our CSeq and the flow to the peer.
// A dialog builds the requests sent within it and says whether a request belongs to it.

#include "sip/message.hpp"
#include "sip/transport.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace daily::devserver::sip {

struct Dialog {
  std::string callId;
  std::string localTag;
  std::string remoteTag;
  std::string localParty;    // our From in requests we send, without tag ("<sip:room@host:port>")
  std::string remoteParty;   // their address, without tag
  std::string remoteTarget;  // where in-dialog requests are addressed: their Contact URI
  std::vector<std::string> routeSet;
  std::uint32_t localCseq = 1;
  Flow peer;  // where in-dialog requests go

  /// Our (UAS) side of the dialog an incoming INVITE asks for (§12.1.1): the remote target is its Contact (its
  /// From URI when it has none), the route set its Record-Routes, and the peer the Contact's address when that is
  /// an IP literal, otherwise where the INVITE came from; over TCP, with the INVITE's connection, used while open.
  static Dialog answering(const osip_message_t* invite, const Flow& from, std::string localParty,
                          std::string localTag);
  /// Our (UAC) side of a dialog we start with an INVITE to target, sent to peer (§12.1.2 once it is answered).
  static Dialog calling(std::string callId, std::string localParty, const std::string& target, const Flow& peer,
                        std::string localTag);
  /// Completes a dialog of ours from the 2xx that answered its INVITE: the remote tag, the remote target and peer
  /// from its Contact, and its Record-Routes reversed as the route set.
  void confirm(const osip_message_t* response);

  /// Whether request belongs to this dialog: the same Call-ID, our tag in its To, theirs in its From.
  bool matches(const osip_message_t* request) const;

  /// A new request within the dialog (§12.2.1.1): the next CSeq, a new Via from transport, our Contact and the
  /// route set.
  MessagePtr request(const std::string& method, const Transport& transport);
  /// The ACK for the 2xx to our INVITE (§13.2.2.4): the INVITE's CSeq, a new branch.
  MessagePtr ackFor2xx(const Transport& transport) const;
  /// The first INVITE of a dialog of ours (CSeq 1, no remote tag yet).
  MessagePtr invite(const Transport& transport, std::string* branch) const;
  /// The CANCEL of our INVITE (§9.1): that INVITE's Via, Request-URI, From, To, Call-ID and CSeq number.
  MessagePtr cancelOf(const osip_message_t* invite) const;

  std::string from() const { return localParty + ";tag=" + localTag; }
  std::string to() const { return remoteParty + (remoteTag.empty() ? "" : ";tag=" + remoteTag); }
};

}  // namespace daily::devserver::sip
