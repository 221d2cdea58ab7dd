#include "refer_responder.hpp"

#include "sip/message.hpp"

#include <stdexcept>

namespace daily::bench {

namespace sip = devserver::sip;

ReferResponder::ReferResponder(const std::string& room, std::uint16_t gatewayPort, Wire wire,
                               const std::string& caFile)
    : wire_(wire), udp_(io_), stream_(io_), gatewayPort_(gatewayPort), room_(room) {
  const auto loopback = asio::ip::make_address("127.0.0.1");
  if (wire_ != Wire::Udp) {
    stream_.connect({loopback, gatewayPort_});
    stream_.set_option(asio::ip::tcp::no_delay(true));
    me_ = "127.0.0.1:" + std::to_string(stream_.local_endpoint().port());
    if (wire_ == Wire::Tls) {
      tlsContext_.load_verify_file(caFile);
      tls_ = std::make_unique<asio::ssl::stream<asio::ip::tcp::socket&>>(stream_, tlsContext_);
      tls_->set_verify_mode(asio::ssl::verify_peer);
      tls_->set_verify_callback(asio::ssl::host_name_verification("127.0.0.1"));
      tls_->handshake(asio::ssl::stream_base::client);
    }
  } else {
    udp_.open(asio::ip::udp::v4());
    udp_.bind({loopback, 0});
    me_ = "127.0.0.1:" + std::to_string(udp_.local_endpoint().port());
  }
}

ReferResponder::~ReferResponder() {
  stopping_ = true;
  asio::error_code ignored;
  if (wire_ != Wire::Udp) stream_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);  // wake the reader
  else udp_.send_to(asio::buffer("\r\n", 2), udp_.local_endpoint(), 0, ignored);
  if (thread_.joinable()) thread_.join();
}

void ReferResponder::send(const std::string& text) {
  if (tls_) asio::write(*tls_, asio::buffer(text));
  else if (wire_ == Wire::Tcp) asio::write(stream_, asio::buffer(text));
  else udp_.send_to(asio::buffer(text), asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), gatewayPort_));
}

std::string ReferResponder::receive() {
  char buf[65536];
  if (wire_ == Wire::Udp) {
    asio::error_code ec;
    const std::size_t n = udp_.receive(asio::buffer(buf), 0, ec);
    return ec ? std::string() : std::string(buf, n);
  }
  for (;;) {
    std::string message;
    switch (framer_.next(&message)) {
      case sip::StreamFramer::Next::Message: return message;
      case sip::StreamFramer::Next::Ping: continue;
      case sip::StreamFramer::Next::Error: return {};
      case sip::StreamFramer::Next::NeedMore: break;
    }
    asio::error_code ec;
    const std::size_t n = tls_ ? tls_->read_some(asio::buffer(buf), ec) : stream_.read_some(asio::buffer(buf), ec);
    if (ec) return {};
    framer_.feed(std::string_view(buf, n));
  }
}

std::string ReferResponder::via(const std::string& branch) const {
  const char* protocol = wire_ == Wire::Tls ? "TLS " : wire_ == Wire::Tcp ? "TCP " : "UDP ";
  return std::string("Via: SIP/2.0/") + protocol + me_ + ";branch=" + branch + "\r\n";
}

void ReferResponder::dialIn() {
  const std::string gw = "127.0.0.1:" + std::to_string(gatewayPort_);
  const std::string contact =
      "<sip:bench@" + me_ + (wire_ == Wire::Tls ? ";transport=tls>" : wire_ == Wire::Tcp ? ";transport=tcp>" : ">");
  send("INVITE sip:" + room_ + "@" + gw + " SIP/2.0\r\n" + via("z9hG4bK-bench-invite") + "Max-Forwards: 70\r\n"
       "From: <sip:bench@" + me_ + ">;tag=bench\r\nTo: <sip:" + room_ + "@" + gw + ">\r\nCall-ID: bench-call@127.0.0.1\r\n"
       "CSeq: 1 INVITE\r\nContact: " + contact + "\r\nContent-Length: 0\r\n\r\n");
  for (;;) {
    const std::string text = receive();
    if (text.empty()) throw std::runtime_error("the gateway closed the bench call's connection");
    auto m = sip::parse(text, nullptr);
    if (!m || sip::isRequest(m.get()) || sip::status(m.get()) < 200) continue;
    if (sip::status(m.get()) >= 300) throw std::runtime_error("the gateway refused the bench call");
    gatewayTag_ = sip::toTag(m.get());
    break;
  }
  send("ACK sip:gateway@" + gw + " SIP/2.0\r\n" + via("z9hG4bK-bench-ack") + "Max-Forwards: 70\r\n"
       "From: <sip:bench@" + me_ + ">;tag=bench\r\nTo: <sip:" + room_ + "@" + gw + ">;tag=" + gatewayTag_ +
       "\r\nCall-ID: bench-call@127.0.0.1\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n");
  up_ = true;
  thread_ = std::thread([this] { run(); });
}

void ReferResponder::run() {
  const std::string gw = "127.0.0.1:" + std::to_string(gatewayPort_);
  while (!stopping_) {
    const std::string text = receive();
    if (text.empty() || stopping_) return;
    auto m = sip::parse(text, nullptr);
    if (!m || !sip::isRequest(m.get())) continue;  // 200s to our NOTIFYs
    if (sip::method(m.get()) != "REFER") {
      send(sip::serialize(sip::newResponse(m.get(), 200, {}).get()));
      continue;
    }
    send(sip::serialize(sip::newResponse(m.get(), 202, {}).get()));
    ++refers_;
    // A transferee reports on the transfer after it has tried the target, not in the same breath as its 202:
    // wait 2 ms, so that the NOTIFY's handling does not compete with the 202's for the measured round trip.
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    const std::string frag = "SIP/2.0 486 Busy Here";
    ++cseq_;
    send("NOTIFY sip:gateway@" + gw + " SIP/2.0\r\n" + via("z9hG4bK-bench-n" + std::to_string(cseq_)) +
         "Max-Forwards: 70\r\nFrom: <sip:bench@" + me_ + ">;tag=bench\r\nTo: <sip:" + room_ + "@" + gw + ">;tag=" +
         gatewayTag_ + "\r\nCall-ID: bench-call@127.0.0.1\r\nCSeq: " + std::to_string(cseq_) +
         " NOTIFY\r\nEvent: refer\r\nSubscription-State: terminated;reason=noresource\r\n"
         "Content-Type: message/sipfrag\r\nContent-Length: " + std::to_string(frag.size()) + "\r\n\r\n" + frag);
  }
}

}  // namespace daily::bench
