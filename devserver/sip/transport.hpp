#pragma once

// The transport layer (RFC 3261 §18): a Flow says where a message came from or goes to (for TCP, on which
// connection); a Transport sends on a flow, hands up what arrives, and writes the Via and Contact of what is sent
// on it. UdpTransport (here) and TcpTransport (sip/tcp) are joined by Transports, which picks by the flow's
// protocol. Nothing above this layer touches a socket.

#include <asio/io_context.hpp>
#include <asio/ip/address.hpp>
#include <asio/ip/udp.hpp>

#include <array>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>

namespace daily::devserver::sip {

enum class Protocol { Udp, Tcp, Tls };
/// "UDP", "TCP", "TLS": as a Via writes it.
const char* viaName(Protocol protocol);

struct Flow {
  Protocol protocol = Protocol::Udp;
  asio::ip::address address;
  std::uint16_t port = 0;
  /// TCP and TLS: the connection a message came in on, to answer on it; 0 = any connection to address:port, or a
  /// new one.
  std::uint64_t connection = 0;

  bool operator==(const Flow& o) const {
    return protocol == o.protocol && address == o.address && port == o.port && connection == o.connection;
  }
  bool operator!=(const Flow& o) const { return !(*this == o); }
};
std::ostream& operator<<(std::ostream& out, const Flow& flow);  // "127.0.0.1:5060", "[::1]:5060", "tcp:…", "tls:…"

/// "host:port" as a Via or Contact writes it ("[::1]:5060" for IPv6).
std::string hostPort(const std::string& host, std::uint16_t port);

/// The request or status line of a message: one rung of the SIP ladder in the log.
std::string_view firstLine(std::string_view message);

/// The flow to host:port when host is an IP literal (brackets allowed around IPv6), nullopt for a name (which
/// sip/resolver looks up).
std::optional<Flow> flowTo(const std::string& host, std::uint16_t port, Protocol protocol = Protocol::Udp);

class Transport {
 public:
  using Receiver = std::function<void(std::string_view message, const Flow& from)>;
  /// A message could not be delivered to the peer's transport (a refused, broken or dropped connection).
  using OnError = std::function<void(const std::string& why)>;
  virtual ~Transport() = default;

  /// Where arriving messages go: the transaction layer. Keepalives (CRLFs alone, RFC 5626) are not handed up.
  void onReceive(Receiver receiver) { receiver_ = std::move(receiver); }
  /// Sends one message on a flow and logs it as a rung of the SIP ladder; a failed send is logged. onError, when
  /// given, is called later, never from inside send(), if a connection-oriented transport finds it cannot
  /// deliver the message.
  void send(const std::string& wire, const Flow& to, OnError onError = {});
  /// Whether a protocol delivers reliably (then the transaction layer does not retransmit): all but UDP.
  virtual bool reliable(Protocol protocol) const { return protocol != Protocol::Udp; }
  /// This side's "host:port" for a protocol, as Via and Contact carry it.
  virtual std::string localHostPort(Protocol protocol) const = 0;

  /// A Via for a request sent over protocol, with a new RFC 3261 branch (returned in *branch) and rport
  /// (RFC 3581).
  std::string newVia(std::string* branch, Protocol protocol = Protocol::Udp) const;
  /// The gateway's Contact for dialogs over protocol: "<sip:gateway@host:port>", with ";transport=tcp" or
  /// ";transport=tls"; for a secure (sips:) dialog, over TLS, "<sips:gateway@host:port>" (§8.1.1.8, §12.1.1).
  std::string contact(Protocol protocol = Protocol::Udp, bool secure = false) const;

 protected:
  enum class Written { Sent, Failed, Closed };
  /// Writes one message: Failed (and *error) when it could not be sent, Closed when the transport is stopped.
  virtual Written write(const std::string& wire, const Flow& to, std::string* error, OnError onError) = 0;
  /// Hands an arrived message up, unless it is a keepalive.
  void deliver(std::string_view message, const Flow& from);

 private:
  friend class Transports;
  Receiver receiver_;
};

/// SIP over UDP on one socket, on the io thread.
class UdpTransport final : public Transport {
 public:
  UdpTransport(asio::io_context& io, std::string host, std::uint16_t port);

  /// Binds the socket (port 0: any free one) and starts reading; throws std::system_error when it cannot.
  void start();
  void stop();
  std::uint16_t port() const { return boundPort_; }
  const std::string& host() const { return host_; }
  std::string localHostPort(Protocol) const override;
  /// Hands a datagram up as if it had arrived on the socket from `from`: the fuzzer's and torture tests' way in.
  void inject(std::string_view datagram, const Flow& from) { deliver(datagram, from); }

  static constexpr std::size_t kMaxDatagram = 65535;

 private:
  Written write(const std::string& wire, const Flow& to, std::string* error, OnError onError) override;
  void receive();

  std::string host_;
  std::uint16_t port_;
  std::uint16_t boundPort_ = 0;
  asio::ip::udp::socket socket_;
  asio::ip::udp::endpoint sender_;
  std::array<char, kMaxDatagram> buffer_{};
  bool running_ = false;
};

/// The gateway's transports as one: each message goes by its flow's protocol; Via and Contact name the port of
/// the protocol used. Receiving stays with each transport (each hands up to the transaction layer).
class Transports final : public Transport {
 public:
  Transports(Transport& udp, Transport& tcp, Transport& tls) : udp_(udp), tcp_(tcp), tls_(tls) {}
  std::string localHostPort(Protocol protocol) const override { return pick(protocol).localHostPort(protocol); }
  bool reliable(Protocol protocol) const override { return pick(protocol).reliable(protocol); }

 protected:
  Written write(const std::string& wire, const Flow& to, std::string* error, OnError onError) override {
    return pick(to.protocol).write(wire, to, error, std::move(onError));
  }

 private:
  Transport& pick(Protocol protocol) const {
    return protocol == Protocol::Udp ? udp_ : protocol == Protocol::Tcp ? tcp_ : tls_;
  }
  Transport& udp_;
  Transport& tcp_;
  Transport& tls_;
};

}  // namespace daily::devserver::sip
