#pragma once

// An in-process SIP user agent for the tight sipRefer loop: it dials into a room once, over UDP, TCP or TLS, then
// answers every REFER with 202 Accepted and reports the transfer as failed (NOTIFY with a 486 sipfrag), so that
// the same call can be referred again and again. Its messages are parsed and built with the devserver's libosip2
// helpers, and framed on TCP and TLS by the devserver's stream framer.

#include "sip/framing.hpp"

#include <asio.hpp>
#include <asio/ssl.hpp>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

namespace daily::bench {

enum class Wire { Udp, Tcp, Tls };

class ReferResponder {
 public:
  /// Dials the room whose dial-in identifier is `room` (the user part of its config.sip_uri.endpoint). Over TLS,
  /// the gateway's certificate is verified against caFile.
  ReferResponder(const std::string& room, std::uint16_t gatewayPort, Wire wire = Wire::Udp,
                 const std::string& caFile = {});
  ~ReferResponder();
  /// Sends the INVITE and the ACK for its 200; returns when the call is up.
  void dialIn();
  int refersAnswered() const { return refers_.load(); }

 private:
  void run();
  void send(const std::string& text);
  // The next SIP message from the gateway; "" when the socket is closed.
  std::string receive();
  std::string via(const std::string& branch) const;

  asio::io_context io_;
  Wire wire_;
  asio::ip::udp::socket udp_;
  asio::ip::tcp::socket stream_;
  asio::ssl::context tlsContext_{asio::ssl::context::tls_client};
  std::unique_ptr<asio::ssl::stream<asio::ip::tcp::socket&>> tls_;
  devserver::sip::StreamFramer framer_;
  std::string me_;  // our host:port
  std::uint16_t gatewayPort_;
  std::string room_;
  std::string gatewayTag_;
  std::uint32_t cseq_ = 1;
  std::atomic<int> refers_{0};
  std::atomic<bool> up_{false};
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace daily::bench
