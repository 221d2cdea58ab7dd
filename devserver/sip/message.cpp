#include "sip/message.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace daily::devserver::sip {
namespace {

void ensureParserInitialised() {
  static std::once_flag once;
  std::call_once(once, [] { parser_init(); });
}

// Takes ownership of an osip-allocated string.
std::string take(char* s) {
  if (!s) return {};
  std::string out(s);
  osip_free(s);
  return out;
}

std::string genericParam(osip_list_t* params, const char* name) {
  osip_generic_param_t* p = nullptr;
  if (osip_generic_param_get_byname(params, const_cast<char*>(name), &p) == 0 && p && p->gvalue) return p->gvalue;
  return {};
}

bool isDigits(const char* s) {
  if (!s || !*s) return false;
  for (; *s; ++s)
    if (*s < '0' || *s > '9') return false;
  return true;
}

bool equalsNoCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

MessagePtr reject(std::string* why, const char* message) {
  if (why) *why = message;
  return nullptr;
}

}  // namespace

MessagePtr parse(std::string_view datagram, std::string* why) {
  ensureParserInitialised();
  if (datagram.size() < 16) return reject(why, "datagram too short to be SIP");
  osip_message_t* raw = nullptr;
  if (osip_message_init(&raw) != 0) return reject(why, "out of memory");
  MessagePtr m(raw);
  if (osip_message_parse(raw, datagram.data(), datagram.size()) != 0) return reject(why, "osip could not parse it");
  if (osip_list_size(&raw->vias) < 1) return reject(why, "missing Via");
  auto* via = static_cast<osip_via_t*>(osip_list_get(&raw->vias, 0));
  if (!via || !via->host) return reject(why, "malformed Via");
  if (!raw->from || !raw->from->url) return reject(why, "missing or malformed From");
  if (!raw->to || !raw->to->url) return reject(why, "missing or malformed To");
  if (!raw->call_id || !raw->call_id->number) return reject(why, "missing Call-ID");
  if (!raw->cseq || !isDigits(raw->cseq->number) || !raw->cseq->method) return reject(why, "missing or malformed CSeq");
  if (std::strlen(raw->cseq->number) > 10 || std::strtoull(raw->cseq->number, nullptr, 10) > 0x7fffffffULL)
    return reject(why, "CSeq number out of range");
  if (MSG_IS_REQUEST(raw)) {
    if (!raw->sip_method || !raw->req_uri) return reject(why, "malformed request line");
    if (std::strcmp(raw->sip_method, raw->cseq->method) != 0) return reject(why, "CSeq method does not match");
    osip_header_t* mf = nullptr;
    if (osip_message_get_max_forwards(raw, 0, &mf) < 0 || !mf || !isDigits(mf->hvalue))
      return reject(why, "missing or malformed Max-Forwards");
  } else if (raw->status_code < 100 || raw->status_code > 699) {
    return reject(why, "status code out of range");
  }
  if (raw->content_length) {
    if (!isDigits(raw->content_length->value)) return reject(why, "malformed Content-Length");
    if (std::strtoull(raw->content_length->value, nullptr, 10) > datagram.size())
      return reject(why, "Content-Length larger than the datagram");
  }
  return m;
}

MessagePtr clone(const osip_message_t* message) {
  osip_message_t* copy = nullptr;
  if (osip_message_clone(message, &copy) != 0) return nullptr;
  return MessagePtr(copy);
}

std::string serialize(osip_message_t* m) {
  char* text = nullptr;
  size_t length = 0;
  if (osip_message_to_str(m, &text, &length) != 0 || !text) return {};
  std::string out(text, length);
  osip_free(text);
  return out;
}

bool isRequest(const osip_message_t* m) { return MSG_IS_REQUEST(m); }
std::string method(const osip_message_t* m) {
  if (MSG_IS_REQUEST(m)) return m->sip_method;
  return m->cseq && m->cseq->method ? m->cseq->method : "";
}
int status(const osip_message_t* m) { return m->status_code; }
std::string reason(const osip_message_t* m) { return m->reason_phrase ? m->reason_phrase : ""; }

std::string callId(const osip_message_t* m) {
  std::string id = m->call_id->number;
  if (m->call_id->host) id += std::string("@") + m->call_id->host;
  return id;
}

std::uint32_t cseq(const osip_message_t* m) {
  return static_cast<std::uint32_t>(std::strtoul(m->cseq->number, nullptr, 10));
}

std::string topBranch(const osip_message_t* m) {
  auto* via = static_cast<osip_via_t*>(osip_list_get(&m->vias, 0));
  return via ? genericParam(&via->via_params, "branch") : std::string();
}

void markSource(osip_message_t* request, const std::string& address, std::uint16_t port) {
  auto* via = static_cast<osip_via_t*>(osip_list_get(&request->vias, 0));
  if (!via || !via->host) return;
  osip_generic_param_t* rport = nullptr;
  osip_via_param_get_byname(via, const_cast<char*>("rport"), &rport);
  if (rport && !rport->gvalue) rport->gvalue = osip_strdup(std::to_string(port).c_str());
  if (!rport && equalsNoCase(via->host, address)) return;
  osip_generic_param_t* received = nullptr;
  osip_via_param_get_byname(via, const_cast<char*>("received"), &received);
  if (received) {
    osip_free(received->gvalue);
    received->gvalue = osip_strdup(address.c_str());
  } else {
    osip_via_set_received(via, osip_strdup(address.c_str()));
  }
}

std::string topSentBy(const osip_message_t* m) {
  auto* via = static_cast<osip_via_t*>(osip_list_get(&m->vias, 0));
  if (!via || !via->host) return {};
  std::string host = via->host;
  for (char& c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return host + ":" + (via->port ? via->port : "");
}

std::string topViaHostPort(const osip_message_t* m, std::uint16_t* port) {
  auto* via = static_cast<osip_via_t*>(osip_list_get(&m->vias, 0));
  if (!via || !via->host) return {};
  *port = 5060;
  if (via->port && isDigits(via->port)) {
    const unsigned long p = std::strtoul(via->port, nullptr, 10);
    if (p > 0 && p <= 65535) *port = static_cast<std::uint16_t>(p);
  }
  return via->host;
}

std::string fromTag(const osip_message_t* m) { return genericParam(&m->from->gen_params, "tag"); }
std::string toTag(const osip_message_t* m) { return genericParam(&m->to->gen_params, "tag"); }

std::string fromHeader(const osip_message_t* m) {
  char* s = nullptr;
  osip_from_to_str(m->from, &s);
  return take(s);
}

std::string toHeader(const osip_message_t* m) {
  char* s = nullptr;
  osip_to_to_str(m->to, &s);
  return take(s);
}

std::string fromUri(const osip_message_t* m) {
  char* s = nullptr;
  osip_uri_to_str(m->from->url, &s);
  return take(s);
}

std::string fromDisplayName(const osip_message_t* m) {
  std::string name = m->from->displayname ? m->from->displayname : "";
  if (name.size() >= 2 && name.front() == '"' && name.back() == '"') name = name.substr(1, name.size() - 2);
  return name;
}

std::string requestUri(const osip_message_t* m) {
  if (!m->req_uri) return {};
  char* s = nullptr;
  osip_uri_to_str(m->req_uri, &s);
  return take(s);
}

std::string requestUser(const osip_message_t* m) {
  return m->req_uri && m->req_uri->username ? m->req_uri->username : "";
}

std::string contactUri(const osip_message_t* m) {
  auto* contact = static_cast<osip_contact_t*>(osip_list_get(&m->contacts, 0));
  if (!contact || !contact->url) return {};
  char* s = nullptr;
  osip_uri_to_str(contact->url, &s);
  return take(s);
}

std::vector<std::string> recordRoutes(const osip_message_t* m) {
  std::vector<std::string> out;
  for (int i = 0; i < osip_list_size(&m->record_routes); ++i) {
    auto* rr = static_cast<osip_record_route_t*>(osip_list_get(&m->record_routes, i));
    char* s = nullptr;
    if (rr && osip_record_route_to_str(rr, &s) == 0) out.push_back(take(s));
  }
  return out;
}

void copyRoutes(const osip_message_t* from, osip_message_t* to) {
  for (int i = 0; i < osip_list_size(&from->routes); ++i) {
    osip_route_t* r = nullptr;
    if (osip_route_clone(static_cast<osip_route_t*>(osip_list_get(&from->routes, i)), &r) == 0)
      osip_list_add(&to->routes, r, -1);
  }
}

std::optional<UriTarget> uriTarget(const std::string& uri) {
  osip_uri_t* url = nullptr;
  if (osip_uri_init(&url) != 0) return std::nullopt;
  std::unique_ptr<osip_uri_t, void (*)(osip_uri_t*)> guard(url, osip_uri_free);
  if (osip_uri_parse(url, uriOf(uri).c_str()) != 0 || !url->host || !url->scheme) return std::nullopt;
  UriTarget target;
  if (osip_strcasecmp(url->scheme, "sips") == 0) target.secure = true;
  else if (osip_strcasecmp(url->scheme, "sip") != 0) return std::nullopt;
  target.host = url->host;
  if (target.host.empty()) return std::nullopt;
  if (url->port && *url->port) {
    if (!isDigits(url->port)) return std::nullopt;
    const unsigned long port = std::strtoul(url->port, nullptr, 10);
    if (port == 0 || port > 65535) return std::nullopt;
    target.port = static_cast<std::uint16_t>(port);
  }
  osip_uri_param_t* param = nullptr;
  if (osip_uri_uparam_get_byname(url, const_cast<char*>("transport"), &param) == 0 &&
      param && param->gvalue) {
    target.transport = param->gvalue;
    for (char& c : target.transport) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  param = nullptr;
  target.looseRouter = osip_uri_uparam_get_byname(url, const_cast<char*>("lr"), &param) == 0;
  return target;
}

std::string uriOf(const std::string& nameAddr) {
  const auto open = nameAddr.find('<');
  const auto close = nameAddr.find('>', open == std::string::npos ? 0 : open);
  if (open == std::string::npos || close == std::string::npos) return nameAddr;
  return nameAddr.substr(open + 1, close - open - 1);
}

std::string header(const osip_message_t* m, const char* name) {
  osip_header_t* h = nullptr;
  if (osip_message_header_get_byname(m, name, 0, &h) >= 0 && h && h->hvalue) return h->hvalue;
  return {};
}

std::vector<std::string> headerTokens(const osip_message_t* m, const char* name) {
  std::vector<std::string> out;
  osip_header_t* h = nullptr;
  for (int at = 0; (at = osip_message_header_get_byname(m, name, at, &h)) >= 0; ++at) {
    if (!h || !h->hvalue) continue;
    std::string_view value = h->hvalue;
    while (!value.empty()) {
      const std::size_t comma = value.find(',');
      std::string_view token = value.substr(0, comma);
      const std::size_t first = token.find_first_not_of(" \t\r\n");
      const std::size_t last = token.find_last_not_of(" \t\r\n");
      if (first != std::string_view::npos) out.emplace_back(token.substr(first, last - first + 1));
      if (comma == std::string_view::npos) break;
      value.remove_prefix(comma + 1);
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> extensionHeaders(const osip_message_t* m) {
  std::vector<std::pair<std::string, std::string>> out;
  for (int i = 0; i < osip_list_size(&m->headers); ++i) {
    auto* h = static_cast<osip_header_t*>(osip_list_get(&m->headers, i));
    if (!h || !h->hname || !h->hvalue || std::strlen(h->hname) <= 2 || !equalsNoCase(std::string_view(h->hname, 2), "x-"))
      continue;
    // osip keeps header names lowercased; give them their usual spelling back ("x-customer-id" -> "X-Customer-Id").
    std::string name = h->hname;
    for (std::size_t i = 0; i < name.size(); ++i) {
      const bool wordStart = i == 0 || name[i - 1] == '-';
      name[i] = static_cast<char>(wordStart ? std::toupper(static_cast<unsigned char>(name[i]))
                                            : std::tolower(static_cast<unsigned char>(name[i])));
    }
    out.emplace_back(std::move(name), h->hvalue);
  }
  return out;
}

std::string contentType(const osip_message_t* m) {
  if (!m->content_type || !m->content_type->type || !m->content_type->subtype) return {};
  return std::string(m->content_type->type) + "/" + m->content_type->subtype;
}

std::string body(const osip_message_t* m) {
  osip_body_t* b = nullptr;
  if (osip_message_get_body(m, 0, &b) < 0 || !b || !b->body) return {};
  return std::string(b->body, b->length);
}

MessagePtr newRequest(const std::string& methodName, const std::string& requestUri, const std::string& via,
                      const std::string& from, const std::string& to, const std::string& callIdValue,
                      std::uint32_t cseqNumber) {
  ensureParserInitialised();
  osip_message_t* raw = nullptr;
  osip_message_init(&raw);
  MessagePtr m(raw);
  osip_message_set_method(raw, osip_strdup(methodName.c_str()));
  osip_message_set_version(raw, osip_strdup("SIP/2.0"));
  osip_uri_t* uri = nullptr;
  osip_uri_init(&uri);
  if (osip_uri_parse(uri, requestUri.c_str()) != 0) {
    osip_uri_free(uri);
    return nullptr;
  }
  osip_message_set_uri(raw, uri);
  osip_message_set_via(raw, via.c_str());
  osip_message_set_max_forwards(raw, "70");
  if (osip_message_set_from(raw, from.c_str()) != 0 || osip_message_set_to(raw, to.c_str()) != 0) return nullptr;
  osip_message_set_call_id(raw, callIdValue.c_str());
  osip_message_set_cseq(raw, (std::to_string(cseqNumber) + " " + methodName).c_str());
  return m;
}

MessagePtr newResponse(const osip_message_t* request, int code, const std::string& tag) {
  osip_message_t* raw = nullptr;
  osip_message_init(&raw);
  MessagePtr m(raw);
  osip_message_set_version(raw, osip_strdup("SIP/2.0"));
  osip_message_set_status_code(raw, code);
  const char* phrase = osip_message_get_reason(code);
  osip_message_set_reason_phrase(raw, osip_strdup(phrase ? phrase : "Unknown"));
  for (int i = 0; i < osip_list_size(&request->vias); ++i) {
    osip_via_t* via = nullptr;
    osip_via_clone(static_cast<osip_via_t*>(osip_list_get(&request->vias, i)), &via);
    osip_list_add(&raw->vias, via, -1);
  }
  osip_from_clone(request->from, &raw->from);
  osip_to_clone(request->to, &raw->to);
  if (!tag.empty() && toTag(request).empty()) osip_to_set_tag(raw->to, osip_strdup(tag.c_str()));
  osip_call_id_clone(request->call_id, &raw->call_id);
  osip_cseq_clone(request->cseq, &raw->cseq);
  for (int i = 0; i < osip_list_size(&request->record_routes); ++i) {
    osip_record_route_t* rr = nullptr;
    osip_record_route_clone(static_cast<osip_record_route_t*>(osip_list_get(&request->record_routes, i)), &rr);
    osip_list_add(&raw->record_routes, rr, -1);
  }
  return m;
}

void addHeader(osip_message_t* m, const std::string& name, const std::string& value) {
  osip_message_set_header(m, name.c_str(), value.c_str());
}

void setBody(osip_message_t* m, const std::string& type, const std::string& text) {
  osip_message_set_content_type(m, type.c_str());
  osip_message_set_body(m, text.data(), text.size());
}

int sipfragStatus(std::string_view text) {
  constexpr std::string_view kPrefix = "SIP/2.0 ";
  if (text.substr(0, kPrefix.size()) != kPrefix || text.size() < kPrefix.size() + 3) return 0;
  int code = 0;
  for (std::size_t i = kPrefix.size(); i < kPrefix.size() + 3; ++i) {
    if (text[i] < '0' || text[i] > '9') return 0;
    code = code * 10 + (text[i] - '0');
  }
  if (text.size() > kPrefix.size() + 3 && text[kPrefix.size() + 3] != ' ' && text[kPrefix.size() + 3] != '\r')
    return 0;
  return code >= 100 && code <= 699 ? code : 0;
}

}  // namespace daily::devserver::sip
