#pragma once

// SIP over TCP, and over TLS on TCP (RFC 3261 §18, §26.3.1): a listener, a table of connections (the peer's and ours), Content-Length framing
// with size caps (sip/framing), RFC 5626 CRLF keepalives answered, and bounds on everything a peer can make the
// gateway hold:
// - a message that has begun to arrive must end within messageTimeout, or the connection is closed;
// - a write that makes no progress for messageTimeout means the peer stopped reading: the connection is closed;
//   so does what the kernel sent staying unacknowledged, or the peer's window shut, that long (TCP_USER_TIMEOUT):
//   a peer that vanished, or stopped reading while its answers still fit in the kernel's buffer;
// - more than maxQueuedBytes waiting to be written closes the connection too;
// - a connection with no traffic either way for idleTimeout is closed;
// - past maxConnections, new connections are refused.
// A message to a flow goes on the flow's connection while it is open, else on any open connection to the flow's
// address and port, else on a new one. A message that cannot be delivered because its connection failed or was
// closed reports that through its OnError, at once (not after a transaction timeout).
// With a TLS context, every connection is TLS: accepted ones present the context's certificate (a handshake not
// done within messageTimeout closes the connection), and the ones the gateway opens verify the peer's certificate
// chain and its address (the flow's IP, against the certificate's subjectAltName) unless verifyPeers is off.

#include "sip/framing.hpp"
#include "sip/timers.hpp"
#include "sip/transport.hpp"

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl/context.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>

namespace daily::devserver::sip {

struct TcpOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0 = any free port
  FramingLimits limits;
  std::chrono::milliseconds messageTimeout{10000};
  std::chrono::milliseconds idleTimeout{std::chrono::minutes(15)};
  std::size_t maxQueuedBytes = 1 << 20;
  std::size_t maxConnections = 1024;
  asio::ssl::context* tls = nullptr;  // TLS on every connection (SIP over TLS); null: plain TCP
  bool verifyPeers = true;            // TLS: the certificates of the peers the gateway connects to
};

/// SIP over TCP, or over TLS (options.tls).
class TcpTransport final : public Transport {
 public:
  TcpTransport(asio::io_context& io, Timers& timers, TcpOptions options);
  ~TcpTransport() override;
  TcpTransport(const TcpTransport&) = delete;
  TcpTransport& operator=(const TcpTransport&) = delete;

  /// Binds (port 0: any free one; `port` overrides the options' when not 0) and listens; throws std::system_error.
  void start(std::uint16_t port = 0);
  /// Closes the listener and every connection.
  void stop();
  std::uint16_t port() const { return boundPort_; }
  std::string localHostPort(Protocol) const override;
  std::size_t connectionCount() const { return connections_.size(); }
  /// Tcp, or Tls with a TLS context.
  Protocol protocol() const { return protocol_; }

 protected:
  Written write(const std::string& wire, const Flow& to, std::string* error, OnError onError) override;

 private:
  struct Connection;
  void accept();
  std::shared_ptr<Connection> open(const Flow& to);
  void adopt(const std::shared_ptr<Connection>& c);
  void read(const std::shared_ptr<Connection>& c);
  // TLS: the handshake, then reading and writing; the message timer bounds it.
  void handshake(const std::shared_ptr<Connection>& c);
  void flush(const std::shared_ptr<Connection>& c);
  void enqueue(const std::shared_ptr<Connection>& c, std::string wire, OnError onError);
  void touch(Connection& c);
  void tune(Connection& c);
  // Closes a connection: gracefully, or (abort) at once with a reset, dropping what was not written: a peer that
  // stopped reading would otherwise keep the kernel holding its unsent data for minutes.
  void close(std::uint64_t id, const std::string& why, bool abort = false);
  Flow flowOf(const Connection& c) const;

  asio::io_context& io_;
  Timers& timers_;
  TcpOptions options_;
  Protocol protocol_;
  asio::ip::tcp::acceptor acceptor_;
  std::uint16_t boundPort_ = 0;
  bool running_ = false;
  std::uint64_t nextId_ = 1;
  std::map<std::uint64_t, std::shared_ptr<Connection>> connections_;
  std::map<std::pair<asio::ip::address, std::uint16_t>, std::uint64_t> byRemote_;  // the newest open one
};

}  // namespace daily::devserver::sip
