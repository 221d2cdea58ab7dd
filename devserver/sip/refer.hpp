#pragma once

// The REFER usages of a dialog (RFC 3515, with RFC 6665's subscription ids): what a REFER client keeps of its
// refer subscription and reads from that subscription's NOTIFYs, and what a REFER server (the gateway, when its
// peer transfers a call to it) writes in its own NOTIFYs. The application (gateway.cpp) decides what a transfer
// means for the room; nothing here knows rooms.

#include "sip/dialog.hpp"
#include "sip/message.hpp"
#include "sip/transport.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace daily::devserver::sip {

/// The client side of one refer subscription.
struct ReferSubscription {
  /// The CSeqs our REFER went with (a challenged REFER goes again with another): each is an `Event: refer;id=` its
  /// NOTIFYs may name (RFC 3515 2.4.6).
  std::vector<std::uint32_t> ids;
  /// The transferee accepted the REFER: the subscription exists, and outlives the call until its final NOTIFY.
  bool accepted = false;
  /// How long it lives, as the last NOTIFY's Subscription-State said (0 when none said).
  std::chrono::seconds expires{0};

  /// Whether a NOTIFY's Event header value is of this subscription: "refer" with an id among ids, or with no id
  /// at all (a dialog's only subscription).
  bool owns(const std::string& event) const;
};

/// What one NOTIFY of a refer subscription says (RFC 3515 2.4.5).
struct ReferNotify {
  int status = 0;           // the message/sipfrag body's status code; 0 when it has none
  bool terminated = false;  // Subscription-State: terminated
  std::optional<std::chrono::seconds> expires;  // Subscription-State's expires, when given

  /// The transfer is over: a final status, or the subscription ended.
  bool final() const { return status >= 200 || terminated; }
  /// The transfer's state as sip-refer-progress names it: "progress" (1xx), "transferred" (2xx), "failed" (3xx and
  /// up), "unknown" (no status).
  std::string progress() const;
};
ReferNotify readReferNotify(const osip_message_t* notify);

/// The REFER server's NOTIFY of how the call its REFER asked for goes (RFC 3515 2.4.4), within the referrer's
/// dialog: `Event: refer;id=<the REFER's CSeq>`, the subscription active (60 s) until the final status ends it,
/// and that status as message/sipfrag.
MessagePtr referNotify(Dialog& dialog, const Transport& transport, std::uint32_t referCseq, int code,
                       const std::string& reason, bool final);

}  // namespace daily::devserver::sip
