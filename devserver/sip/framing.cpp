#include "sip/framing.hpp"

#include <cctype>

namespace daily::devserver::sip {
namespace {

bool equalsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The Content-Length of a header block (its long name or `l`), -1 when absent, -2 when malformed or given twice
// with different values. Folded continuation lines are never a Content-Length line.
long long contentLength(std::string_view headers) {
  long long found = -1;
  std::size_t at = headers.find("\r\n");  // past the start line
  while (at != std::string_view::npos && at + 2 < headers.size()) {
    const std::size_t begin = at + 2;
    const std::size_t end = headers.find("\r\n", begin);
    const std::string_view line = headers.substr(begin, end == std::string_view::npos ? std::string_view::npos : end - begin);
    at = end;
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || line.empty() || line.front() == ' ' || line.front() == '\t') continue;
    const std::string_view name = trim(line.substr(0, colon));
    if (!equalsNoCase(name, "content-length") && !equalsNoCase(name, "l")) continue;
    const std::string_view value = trim(line.substr(colon + 1));
    if (value.empty() || value.size() > 9) return -2;
    long long n = 0;
    for (char c : value) {
      if (c < '0' || c > '9') return -2;
      n = n * 10 + (c - '0');
    }
    if (found >= 0 && found != n) return -2;
    found = n;
  }
  return found;
}

}  // namespace

void StreamFramer::feed(std::string_view bytes) {
  if (start_ > 0 && start_ >= buffer_.size() / 2) {  // keep the buffer from growing with what was framed
    buffer_.erase(0, start_);
    start_ = 0;
  }
  buffer_.append(bytes.data(), bytes.size());
}

bool StreamFramer::midMessage() const {
  for (std::size_t i = start_; i < buffer_.size(); ++i)
    if (buffer_[i] != '\r' && buffer_[i] != '\n') return true;
  return false;
}

StreamFramer::Next StreamFramer::fail(std::string why) {
  error_ = std::move(why);
  return Next::Error;
}

StreamFramer::Next StreamFramer::next(std::string* message) {
  if (!error_.empty()) return Next::Error;
  std::string_view rest(buffer_.data() + start_, buffer_.size() - start_);
  // Keepalives between messages.
  while (rest.size() >= 2 && rest[0] == '\r' && rest[1] == '\n') {
    if (rest.size() >= 4 && rest[2] == '\r' && rest[3] == '\n') {
      start_ += 4;
      return Next::Ping;
    }
    if (rest.size() < 4 && rest.size() == 2) return Next::NeedMore;  // may become a ping
    if (rest.size() == 3 && rest[2] == '\r') return Next::NeedMore;
    start_ += 2;  // a lone CRLF
    rest.remove_prefix(2);
  }
  if (rest.empty() || (rest.size() == 1 && rest[0] == '\r')) return Next::NeedMore;
  const std::size_t blank = rest.find("\r\n\r\n");
  if (blank == std::string_view::npos) {
    if (rest.size() > limits_.maxHeader) return fail("headers longer than " + std::to_string(limits_.maxHeader) + " bytes");
    return Next::NeedMore;
  }
  const std::size_t headerLength = blank + 4;
  if (headerLength > limits_.maxHeader) return fail("headers longer than " + std::to_string(limits_.maxHeader) + " bytes");
  const long long length = contentLength(rest.substr(0, blank + 2));
  if (length == -1) return fail("no Content-Length (RFC 3261 18.3 requires it on a stream)");
  if (length < 0) return fail("a malformed Content-Length");
  if (static_cast<unsigned long long>(length) > limits_.maxBody)
    return fail("a body of " + std::to_string(length) + " bytes, over " + std::to_string(limits_.maxBody));
  const std::size_t total = headerLength + static_cast<std::size_t>(length);
  if (rest.size() < total) return Next::NeedMore;
  message->assign(rest.data(), total);
  start_ += total;
  return Next::Message;
}

}  // namespace daily::devserver::sip
