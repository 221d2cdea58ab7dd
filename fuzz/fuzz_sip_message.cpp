// The gateway's handling of any datagram that reaches its SIP port: parsing, the RFC 3261 checks, and whatever
// the gateway does with what passes (answering, matching transactions and dialogs of a room with a live call).
#include "hub.hpp"
#include "sip/gateway.hpp"
#include "sip/message.hpp"

#include <asio/io_context.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>

namespace {

struct Harness {
  asio::io_context io;
  daily::devserver::Hub hub{{"fuzz-key", "http://127.0.0.1:1", "127.0.0.1", 0, "fuzz-domain"}};
  std::unique_ptr<daily::devserver::Gateway> gateway;
  Harness() {
    std::string why;
    hub.createRoom({{"name", "room"}, {"properties", {{"sip", {{"sip_mode", "dial-in"}}}}}}, &why);
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
  const std::string_view datagram(reinterpret_cast<const char*>(data), size);
  if (auto m = daily::devserver::sip::parse(datagram, nullptr)) {
    (void)daily::devserver::sip::serialize(m.get());
    (void)daily::devserver::sip::extensionHeaders(m.get());
    (void)daily::devserver::sip::sipfragStatus(daily::devserver::sip::body(m.get()));
  }
  h.gateway->handleDatagram(datagram);
  h.io.poll();  // run whatever timers and sends the datagram caused
  return 0;
}
