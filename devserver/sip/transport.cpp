#include "sip/transport.hpp"

#include "common/ids.hpp"
#include "common/log.hpp"

#include <ostream>

namespace daily::devserver::sip {
std::string hostPort(const std::string& host, std::uint16_t port) {
  return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string_view firstLine(std::string_view message) { return message.substr(0, message.find_first_of("\r\n")); }

const char* viaName(Protocol protocol) {
  return protocol == Protocol::Tcp ? "TCP" : protocol == Protocol::Tls ? "TLS" : "UDP";
}

std::ostream& operator<<(std::ostream& out, const Flow& flow) {
  if (flow.protocol == Protocol::Tcp) out << "tcp:";
  if (flow.protocol == Protocol::Tls) out << "tls:";
  if (flow.address.is_v6()) return out << '[' << flow.address.to_string() << "]:" << flow.port;
  return out << flow.address.to_string() << ':' << flow.port;
}

std::optional<Flow> flowTo(const std::string& host, std::uint16_t port, Protocol protocol) {
  std::string h = host;
  if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  asio::error_code ec;
  const auto address = asio::ip::make_address(h, ec);
  if (ec) return std::nullopt;
  return Flow{protocol, address, port, 0};
}

void Transport::send(const std::string& wire, const Flow& to, OnError onError) {
  std::string error;
  const Written written = write(wire, to, &error, std::move(onError));
  if (written == Written::Closed) return;
  if (written == Written::Failed) DAILY_LOG(Warn, "sip", "send to " << to << " failed: " << error);
  DAILY_LOG(Info, "sip", "--> " << firstLine(wire) << "  (to " << to << ")");
  DAILY_LOG(Debug, "sip", "sent to " << to << ":\n" << wire);
}

void Transport::deliver(std::string_view message, const Flow& from) {
  if (message.find_first_not_of("\r\n") == std::string_view::npos) return;  // keepalive CRLFs
  if (receiver_) receiver_(message, from);
}

std::string Transport::newVia(std::string* branch, Protocol protocol) const {
  *branch = "z9hG4bK" + detail::randomHex(10);
  return std::string("SIP/2.0/") + viaName(protocol) + " " + localHostPort(protocol) + ";branch=" + *branch + ";rport";
}

std::string Transport::contact(Protocol protocol, bool secure) const {
  if (protocol == Protocol::Tls && secure) return "<sips:gateway@" + localHostPort(protocol) + ">";
  const char* parameter = protocol == Protocol::Tcp ? ";transport=tcp" : protocol == Protocol::Tls ? ";transport=tls" : "";
  return "<sip:gateway@" + localHostPort(protocol) + parameter + ">";
}

UdpTransport::UdpTransport(asio::io_context& io, std::string host, std::uint16_t port)
    : host_(std::move(host)), port_(port), socket_(io) {}

void UdpTransport::start() {
  const auto address = asio::ip::make_address(host_);
  socket_.open(address.is_v6() ? asio::ip::udp::v6() : asio::ip::udp::v4());
  socket_.bind(asio::ip::udp::endpoint(address, port_));
  boundPort_ = socket_.local_endpoint().port();
  running_ = true;
  receive();
}

void UdpTransport::stop() {
  running_ = false;
  asio::error_code ignored;
  socket_.close(ignored);
}

std::string UdpTransport::localHostPort(Protocol) const { return hostPort(host_, boundPort_); }

Transport::Written UdpTransport::write(const std::string& wire, const Flow& to, std::string* error, OnError) {
  if (!running_) return Written::Closed;
  asio::error_code ec;
  socket_.send_to(asio::buffer(wire), asio::ip::udp::endpoint(to.address, to.port), 0, ec);
  if (!ec) return Written::Sent;
  *error = ec.message();
  return Written::Failed;
}

void UdpTransport::receive() {
  socket_.async_receive_from(asio::buffer(buffer_), sender_, [this](const asio::error_code& ec, std::size_t n) {
    // Stopped (maybe to start again, with a read of its own): this read is over.
    if (!running_ || ec == asio::error::operation_aborted) return;
    if (!ec) deliver(std::string_view(buffer_.data(), n), Flow{Protocol::Udp, sender_.address(), sender_.port(), 0});
    receive();
  });
}

}  // namespace daily::devserver::sip
