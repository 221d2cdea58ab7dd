#pragma once

// Stream framing for SIP over TCP and TLS (RFC 3261 §18.3): a message ends after its headers' blank line plus its
// Content-Length, which a stream transport's messages must carry. CRLFs between messages are keepalives: a double
// CRLF is a ping that wants a single CRLF back (RFC 5626 §4.4.1); a lone CRLF is skipped. Sizes are capped, so a
// peer cannot make the gateway buffer without limit.

#include <cstddef>
#include <string>
#include <string_view>

namespace daily::devserver::sip {

struct FramingLimits {
  std::size_t maxHeader = 16 * 1024;  // request or status line and headers, blank line included
  std::size_t maxBody = 64 * 1024;
};

class StreamFramer {
 public:
  using Limits = FramingLimits;
  enum class Next {
    Message,   // *message holds one whole message
    Ping,      // a double-CRLF keepalive: answer with one CRLF
    NeedMore,  // nothing whole yet
    Error,     // the stream cannot be framed any further (error() says why); close the connection
  };

  explicit StreamFramer(Limits limits = {}) : limits_(limits) {}

  /// Adds bytes read from the stream.
  void feed(std::string_view bytes);
  /// The next thing the buffered bytes hold. Call it until it says NeedMore or Error.
  Next next(std::string* message);
  /// Why next() said Error.
  const std::string& error() const { return error_; }
  /// Bytes buffered and not yet framed.
  std::size_t buffered() const { return buffer_.size() - start_; }
  /// Whether part of a message has arrived (not just keepalive CRLFs).
  bool midMessage() const;

 private:
  Next fail(std::string why);

  Limits limits_;
  std::string buffer_;
  std::size_t start_ = 0;  // where the unframed bytes begin
  std::string error_;
};

}  // namespace daily::devserver::sip
