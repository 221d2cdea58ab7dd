#include <daily/sip_uri.hpp>

#include <algorithm>
#include <array>
#include <cctype>

namespace daily {
namespace {

constexpr std::size_t kMaxUriBytes = 1024;
constexpr std::size_t kMaxHeaderValueBytes = 1024;

bool isHex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

bool startsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  return true;
}

// Characters RFC 3261 §25.1 lets appear unescaped somewhere in a SIP URI (unreserved, reserved, '%', IPv6 brackets).
bool isUriChar(char c) {
  if (std::isalnum(static_cast<unsigned char>(c))) return true;
  static constexpr std::string_view kAllowed = "-_.!~*'()%;/?:@&=+$,[]";
  return kAllowed.find(c) != std::string_view::npos;
}

// Checks the character set and the percent escapes (an escaped control character is refused too: a UA that
// unescapes the URI's header part would otherwise build a header from it).
std::string checkCharacters(std::string_view uri, bool allowHash) {
  for (std::size_t i = 0; i < uri.size(); ++i) {
    const char c = uri[i];
    const auto u = static_cast<unsigned char>(c);
    if (c == '\r' || c == '\n') return "URI contains CR or LF";
    if (u < 0x20 || u == 0x7f) return "URI contains a control character";
    if (c == ' ' || c == '\t') return "URI contains whitespace";
    if (c == '<' || c == '>') return "URI contains '<' or '>'";
    if (c == '"') return "URI contains a quote";
    if (u >= 0x80) return "URI contains non-ASCII bytes (percent-escape them)";
    if (c == '#' && allowHash) continue;
    if (!isUriChar(c)) return std::string("URI contains the character '") + c + "'";
    if (c == '%') {
      if (i + 2 >= uri.size() || !isHex(uri[i + 1]) || !isHex(uri[i + 2])) return "URI has a broken %-escape";
      const int value = std::stoi(std::string(uri.substr(i + 1, 2)), nullptr, 16);
      if (value < 0x20 || value == 0x7f) return "URI has an escaped control character";
    }
  }
  return {};
}

std::string checkSipHost(std::string_view rest) {
  // rest: [userinfo@]host[:port][;params][?headers]
  const std::size_t end = rest.find_first_of(";?");
  std::string_view hostport = rest.substr(0, end);
  const std::size_t at = hostport.rfind('@');
  if (at != std::string_view::npos) {
    if (at == 0) return "URI has an empty user part";
    hostport = hostport.substr(at + 1);
  }
  if (hostport.empty()) return "URI has no host";
  std::string_view host = hostport;
  std::string_view port;
  if (hostport.front() == '[') {
    const std::size_t close = hostport.find(']');
    if (close == std::string_view::npos || close == 1) return "URI has a malformed IPv6 host";
    for (char c : hostport.substr(1, close - 1))
      if (!isHex(c) && c != ':' && c != '.') return "URI has a malformed IPv6 host";
    host = hostport.substr(0, close + 1);
    if (close + 1 < hostport.size()) {
      if (hostport[close + 1] != ':') return "URI has garbage after its host";
      port = hostport.substr(close + 2);
      if (port.empty()) return "URI has an empty port";
    }
  } else {
    const std::size_t colon = hostport.find(':');
    if (colon != std::string_view::npos) {
      host = hostport.substr(0, colon);
      port = hostport.substr(colon + 1);
      if (port.empty()) return "URI has an empty port";
    }
    if (host.empty()) return "URI has no host";
    for (char c : host)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.')
        return "URI host has an invalid character";
  }
  if (!port.empty()) {
    if (port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return "URI has an invalid port";
    if (std::stoi(std::string(port)) > 65535 || std::stoi(std::string(port)) == 0) return "URI has an invalid port";
  }
  return {};
}

}  // namespace

std::string validateSipUri(std::string_view uri) {
  if (uri.empty()) return "URI is empty";
  if (uri.size() > kMaxUriBytes) return "URI is longer than 1024 bytes";
  const bool isTel = startsWithNoCase(uri, "tel:");
  std::string why = checkCharacters(uri, isTel);
  if (!why.empty()) return why;
  if (isTel) {
    std::string_view number = uri.substr(4, uri.find(';') == std::string_view::npos ? std::string_view::npos
                                                                                       : uri.find(';') - 4);
    if (std::none_of(number.begin(), number.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return "tel: URI has no digits";
    for (char c : number)
      if (!std::isxdigit(static_cast<unsigned char>(c)) && std::string_view("+-.()*#").find(c) == std::string_view::npos)
        return "tel: URI number has an invalid character";
    return {};
  }
  if (startsWithNoCase(uri, "sips:")) return checkSipHost(uri.substr(5));
  if (startsWithNoCase(uri, "sip:")) return checkSipHost(uri.substr(4));
  return "URI must start with sip:, sips: or tel:";
}

std::string validateSipHeader(std::string_view name, std::string_view value) {
  if (name.empty() || name.size() > 64) return "header name must be 1 to 64 characters";
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && std::string_view("-.!%*_+`'~").find(c) == std::string_view::npos)
      return "header name '" + std::string(name) + "' is not a SIP token";
  }
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  static constexpr std::array<std::string_view, 20> kReserved{
      "via",          "from",        "to",    "call-id", "cseq",    "contact",        "max-forwards",
      "route",        "record-route", "refer-to", "referred-by", "content-length", "content-type", "event",
      "subscription-state", "l",     "f",     "t",       "i",       "v"};
  if (std::find(kReserved.begin(), kReserved.end(), lower) != kReserved.end())
    return "header '" + std::string(name) + "' is set by the gateway and cannot be overridden";
  if (value.size() > kMaxHeaderValueBytes) return "header value is longer than 1024 bytes";
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\r' || c == '\n') return "header value contains CR or LF";
    if ((u < 0x20 && c != '\t') || u == 0x7f) return "header value contains a control character";
  }
  return {};
}

}  // namespace daily
