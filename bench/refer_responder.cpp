#include "refer_responder.hpp"

#include "sip/message.hpp"

#include <stdexcept>

namespace daily::bench {

namespace sip = devserver::sip;

ReferResponder::ReferResponder(const std::string& room, std::uint16_t gatewayPort)
    : socket_(io_, {asio::ip::make_address("127.0.0.1"), 0}),
      gateway_(asio::ip::make_address("127.0.0.1"), gatewayPort),
      room_(room) {}

ReferResponder::~ReferResponder() {
  stopping_ = true;
  asio::error_code ignored;
  socket_.send_to(asio::buffer("\r\n", 2), socket_.local_endpoint(), 0, ignored);  // wake the reader
  if (thread_.joinable()) thread_.join();
}

void ReferResponder::send(const std::string& text) { socket_.send_to(asio::buffer(text), gateway_); }

void ReferResponder::dialIn() {
  const std::string me = "127.0.0.1:" + std::to_string(socket_.local_endpoint().port());
  const std::string gw = "127.0.0.1:" + std::to_string(gateway_.port());
  send("INVITE sip:" + room_ + "@" + gw + " SIP/2.0\r\nVia: SIP/2.0/UDP " + me +
       ";branch=z9hG4bK-bench-invite\r\nMax-Forwards: 70\r\nFrom: <sip:bench@" + me +
       ">;tag=bench\r\nTo: <sip:" + room_ + "@" + gw + ">\r\nCall-ID: bench-call@127.0.0.1\r\nCSeq: 1 INVITE\r\n"
       "Contact: <sip:bench@" + me + ">\r\nContent-Length: 0\r\n\r\n");
  char buf[65536];
  for (;;) {
    const std::size_t n = socket_.receive(asio::buffer(buf));
    auto m = sip::parse(std::string_view(buf, n), nullptr);
    if (!m || sip::isRequest(m.get()) || sip::status(m.get()) < 200) continue;
    if (sip::status(m.get()) >= 300) throw std::runtime_error("the gateway refused the bench call");
    gatewayTag_ = sip::toTag(m.get());
    break;
  }
  send("ACK sip:gateway@" + gw + " SIP/2.0\r\nVia: SIP/2.0/UDP " + me + ";branch=z9hG4bK-bench-ack\r\nMax-Forwards: 70\r\n"
       "From: <sip:bench@" + me + ">;tag=bench\r\nTo: <sip:" + room_ + "@" + gw + ">;tag=" + gatewayTag_ +
       "\r\nCall-ID: bench-call@127.0.0.1\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n");
  up_ = true;
  thread_ = std::thread([this] { run(); });
}

void ReferResponder::run() {
  const std::string me = "127.0.0.1:" + std::to_string(socket_.local_endpoint().port());
  const std::string gw = "127.0.0.1:" + std::to_string(gateway_.port());
  char buf[65536];
  while (!stopping_) {
    asio::error_code ec;
    asio::ip::udp::endpoint from;
    const std::size_t n = socket_.receive_from(asio::buffer(buf), from, 0, ec);
    if (ec || stopping_) return;
    auto m = sip::parse(std::string_view(buf, n), nullptr);
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
    send("NOTIFY sip:gateway@" + gw + " SIP/2.0\r\nVia: SIP/2.0/UDP " + me + ";branch=z9hG4bK-bench-n" +
         std::to_string(cseq_) + "\r\nMax-Forwards: 70\r\nFrom: <sip:bench@" + me + ">;tag=bench\r\nTo: <sip:" + room_ +
         "@" + gw + ">;tag=" + gatewayTag_ + "\r\nCall-ID: bench-call@127.0.0.1\r\nCSeq: " + std::to_string(cseq_) +
         " NOTIFY\r\nEvent: refer\r\nSubscription-State: terminated;reason=noresource\r\n"
         "Content-Type: message/sipfrag\r\nContent-Length: " + std::to_string(frag.size()) + "\r\n\r\n" + frag);
  }
}

}  // namespace daily::bench
