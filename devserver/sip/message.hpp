#pragma once

// SIP messages through libosip2: parsing with RFC 3261's mandatory-header checks on top of osip's lenient
// parser, accessors for what the gateway reads, and builders for what it sends.

#include <osipparser2/osip_message.h>
#include <osipparser2/osip_parser.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace daily::devserver::sip {

struct MessageDeleter {
  void operator()(osip_message_t* m) const { osip_message_free(m); }
};
using MessagePtr = std::unique_ptr<osip_message_t, MessageDeleter>;

/// Parses one datagram. Returns null and sets *why when osip refuses it or RFC 3261 §8.1.1's mandatory headers
/// (Via, From, To, Call-ID, CSeq with the request's method, Max-Forwards on requests) or Content-Length are
/// missing or malformed.
MessagePtr parse(std::string_view datagram, std::string* why);
/// Serialises (osip_message_to_str).
std::string serialize(osip_message_t* message);
/// A copy (osip_message_clone), or null when libosip2 cannot make one.
MessagePtr clone(const osip_message_t* message);

bool isRequest(const osip_message_t* m);
std::string method(const osip_message_t* m);  // request method, or the CSeq method of a response
int status(const osip_message_t* m);          // 0 for requests
std::string reason(const osip_message_t* m);
std::string callId(const osip_message_t* m);
std::uint32_t cseq(const osip_message_t* m);
std::string topBranch(const osip_message_t* m);
/// Records where a request really came from in its top Via, so that every response copies it: `received` with
/// the source address when the sent-by host differs from it or the Via asks for rport, and an empty `rport` set to
/// the source port (RFC 3261 18.2.1, RFC 3581 4).
void markSource(osip_message_t* request, const std::string& address, std::uint16_t port);
/// The top Via's sent-by, "host:port" with the host in lower case and the port as written ("" when absent).
std::string topSentBy(const osip_message_t* m);
/// The top Via's sent-by host and port (5060 when it names none): "" when there is none.
std::string topViaHostPort(const osip_message_t* m, std::uint16_t* port);
std::string fromTag(const osip_message_t* m);
std::string toTag(const osip_message_t* m);
std::string fromHeader(const osip_message_t* m);  // the whole From value, e.g. "\"Bob\" <sip:bob@x>;tag=1"
std::string toHeader(const osip_message_t* m);
std::string fromUri(const osip_message_t* m);     // "sip:bob@x"
std::string fromDisplayName(const osip_message_t* m);
std::string requestUri(const osip_message_t* m);
std::string requestUser(const osip_message_t* m);
std::string contactUri(const osip_message_t* m);  // first Contact's URI, "" when none
std::vector<std::string> recordRoutes(const osip_message_t* m);  // each "<sip:...;lr>", in message order
/// Gives `to` the Route headers of `from`, in order: a CANCEL's and a non-2xx ACK's are their INVITE's (§9.1,
/// §17.1.1.3).
void copyRoutes(const osip_message_t* from, osip_message_t* to);

/// What a SIP URI says of where it leads, before any DNS: its host (IPv6 without brackets), its port (0 when it
/// names none), its transport parameter in lower case ("" when none), whether it is a sips: URI, and whether
/// it has `lr` (a loose router's, RFC 3261 §16.4).
struct UriTarget {
  std::string host;
  std::uint16_t port = 0;
  std::string transport;
  bool secure = false;
  bool looseRouter = false;
};
/// Reads a URI or a name-addr ("sip:p1:5070;lr", "<sip:p1;lr>", "\"P\" <sip:p1>"); nullopt when it is not a sip: or
/// sips: URI with a host and a valid port.
std::optional<UriTarget> uriTarget(const std::string& uri);
/// The URI of a name-addr ("<sip:p1;lr>" -> "sip:p1;lr"); anything else as it is.
std::string uriOf(const std::string& nameAddr);
/// The value of the first header named name (case-insensitive, long form), "" when absent.
std::string header(const osip_message_t* m, const char* name);
/// Every comma-separated token of every header named name (case-insensitive, long form), trimmed, in order:
/// "Require: a, b" and "Require: c" give {"a", "b", "c"}.
std::vector<std::string> headerTokens(const osip_message_t* m, const char* name);
/// Every extension header whose name starts with "X-" (case-insensitive), as name -> value.
std::vector<std::pair<std::string, std::string>> extensionHeaders(const osip_message_t* m);
std::string contentType(const osip_message_t* m);  // "application/sdp", "" when none
std::string body(const osip_message_t* m);

/// A request ready to send: request line, Via with branch, Max-Forwards 70, From, To, Call-ID, CSeq.
MessagePtr newRequest(const std::string& method, const std::string& requestUri, const std::string& via,
                      const std::string& from, const std::string& to, const std::string& callId, std::uint32_t cseq);
/// A response to request: its Vias, From, To (with toTag added when the To has none), Call-ID and CSeq.
MessagePtr newResponse(const osip_message_t* request, int status, const std::string& toTag);
void addHeader(osip_message_t* m, const std::string& name, const std::string& value);
void setBody(osip_message_t* m, const std::string& contentType, const std::string& body);

/// The status code of a message/sipfrag body ("SIP/2.0 200 OK" -> 200); 0 when it is not a status line.
int sipfragStatus(std::string_view body);

}  // namespace daily::devserver::sip
