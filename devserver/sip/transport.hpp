#pragma once

// The transport layer (RFC 3261 §18): a Flow says where a message came from or goes to; a Transport sends on a
// flow, hands up what arrives, and writes the Via and Contact of what is sent on it. UDP today; TCP and TLS
// (with connections in the flow) come with the carrier-SIP work. Nothing above this layer touches a socket.

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

enum class Protocol { Udp };

struct Flow {
  Protocol protocol = Protocol::Udp;
  asio::ip::address address;
  std::uint16_t port = 0;

  bool operator==(const Flow& o) const { return protocol == o.protocol && address == o.address && port == o.port; }
  bool operator!=(const Flow& o) const { return !(*this == o); }
};
std::ostream& operator<<(std::ostream& out, const Flow& flow);  // "127.0.0.1:5060", "[::1]:5060"

/// The request or status line of a message: one rung of the SIP ladder in the log.
std::string_view firstLine(std::string_view message);

/// The flow to host:port when host is an IP literal (brackets allowed around IPv6), nullopt for a name: the
/// gateway does no DNS yet.
std::optional<Flow> flowTo(const std::string& host, std::uint16_t port);

class Transport {
 public:
  using Receiver = std::function<void(std::string_view message, const Flow& from)>;
  virtual ~Transport() = default;

  /// Where arriving messages go: the transaction layer. Keepalives (CRLFs alone, RFC 5626) are not handed up.
  void onReceive(Receiver receiver) { receiver_ = std::move(receiver); }
  /// Sends one message on a flow and logs it as a rung of the SIP ladder; a failed send is logged.
  void send(const std::string& wire, const Flow& to);
  /// Whether the transport delivers reliably (then the transaction layer does not retransmit). UDP: no.
  virtual bool reliable(Protocol) const { return false; }
  /// This side's "host:port", as Via and Contact carry it.
  virtual std::string localHostPort() const = 0;

  /// A Via for a request sent by this transport, with a new RFC 3261 branch (returned in *branch) and rport
  /// (RFC 3581).
  std::string newVia(std::string* branch) const;
  /// The gateway's Contact, "<sip:gateway@host:port>".
  std::string contact() const;

 protected:
  enum class Written { Sent, Failed, Closed };
  /// Writes one message: Failed (and *error) when it could not be sent, Closed when the transport is stopped.
  virtual Written write(const std::string& wire, const Flow& to, std::string* error) = 0;
  /// Hands an arrived message up, unless it is a keepalive.
  void deliver(std::string_view message, const Flow& from);

 private:
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
  std::string localHostPort() const override;
  /// Hands a datagram up as if it had arrived on the socket from `from`: the fuzzer's and torture tests' way in.
  void inject(std::string_view datagram, const Flow& from) { deliver(datagram, from); }

  static constexpr std::size_t kMaxDatagram = 65535;

 private:
  Written write(const std::string& wire, const Flow& to, std::string* error) override;
  void receive();

  std::string host_;
  std::uint16_t port_;
  std::uint16_t boundPort_ = 0;
  asio::ip::udp::socket socket_;
  asio::ip::udp::endpoint sender_;
  std::array<char, kMaxDatagram> buffer_{};
  bool running_ = false;
};

}  // namespace daily::devserver::sip
