#pragma once

// The gateway's SDP: an answer (or an offer, when there is nothing to answer) for one audio stream. A stand-in
// until the media work brings RFC 3264 offer/answer over libosip2's SDP parser.

#include <cstdint>
#include <string>

namespace daily::devserver::media {

/// An SDP body for audio at host:rtpPort: PCMU when the offer has it (or there is no offer), otherwise the
/// first payload type offered, with its rtpmap.
std::string sdpBody(const std::string& host, std::uint16_t rtpPort, const std::string& offer);

}  // namespace daily::devserver::media
