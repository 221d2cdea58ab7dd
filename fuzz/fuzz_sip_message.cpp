// The gateway's handling of any datagram that reaches its SIP port: parsing, the RFC 3261 checks, and whatever
// the gateway does with what passes (answering, matching transactions and dialogs of a room with a live call).
#include "hub.hpp"
#include "sip/gateway.hpp"
#include "sip/message.hpp"

#include <asio/io_context.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace {

struct Harness {
  asio::io_context io;
  daily::devserver::Hub hub{{"fuzz-key", "http://127.0.0.1:1", "127.0.0.1", 0, "fuzz-domain"}};
  std::unique_ptr<daily::devserver::Gateway> gateway;
  std::string dialIn;  // the room's dial-in identifier, which the corpus spells "room"
  Harness() {
    std::string why;
    dialIn = hub.createRoom({{"name", "room"}, {"properties", {{"sip", {{"sip_mode", "dial-in"}}}}}}, &why)->sipId;
    daily::devserver::GatewayOptions options;
    options.t1 = std::chrono::milliseconds(1);
    options.transactionTimeout = std::chrono::milliseconds(5);
    gateway = std::make_unique<daily::devserver::Gateway>(io, hub, options);
    gateway->start();
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Harness h;
  // "sip:room@" stands for the room's dial-in URI, which is random: so the corpus and the fuzzer's mutations of it
  // reach a room rather than the 404 for unknown identifiers.
  std::string text(reinterpret_cast<const char*>(data), size);
  for (std::size_t at = text.find("sip:room@"); at != std::string::npos; at = text.find("sip:room@", at + 1))
    text.replace(at + 4, 4, h.dialIn);
  const std::string_view datagram(text);
  if (auto m = daily::devserver::sip::parse(datagram, nullptr)) {
    (void)daily::devserver::sip::serialize(m.get());
    (void)daily::devserver::sip::extensionHeaders(m.get());
    (void)daily::devserver::sip::sipfragStatus(daily::devserver::sip::body(m.get()));
  }
  h.gateway->handleDatagram(datagram);
  h.io.poll();  // run whatever timers and sends the datagram caused
  return 0;
}
