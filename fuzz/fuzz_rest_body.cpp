// The REST request bodies the devserver accepts, on the endpoints that parse them.
#include "hub.hpp"
#include "rest.hpp"
#include "sip/gateway.hpp"
#include "webhooks.hpp"

#include <asio/io_context.hpp>

#include <cstddef>
#include <cstdint>

namespace {

struct Harness {
  asio::io_context io;
  daily::devserver::Hub hub{{"fuzz-key", "http://127.0.0.1:1", "127.0.0.1", 0, "fuzz-domain"}};
  daily::devserver::Gateway gateway{io, hub, {}};
  daily::devserver::Webhooks webhooks{"fuzz-domain", {}, [](std::function<void()>) {}};
  daily::devserver::RestContext context{hub, gateway, webhooks};
  Harness() { gateway.start(); }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Harness h;
  static const char* const kTargets[][2] = {
      {"POST", "/v1/rooms"},          {"POST", "/v1/rooms/fuzz"},          {"POST", "/v1/meeting-tokens"},
      {"POST", "/v1/rooms/fuzz/sipRefer"}, {"POST", "/v1/rooms/fuzz/dialOut/start"}, {"POST", "/v1/rooms/fuzz/dialOut/sendDTMF"},
      {"POST", "/v1/webhooks/none"},  {"GET", "/v1/meeting-tokens/"}};
  if (size == 0) return 0;
  const auto& target = kTargets[data[0] % (sizeof kTargets / sizeof kTargets[0])];
  daily::devserver::HttpRequest req;
  req.method = target[0];
  req.path = target[1];
  req.authorization = "Bearer fuzz-key";
  req.body.assign(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (req.method == "GET") {
    req.path += req.body;  // the token in the path
    req.body.clear();
  }
  if (!h.hub.findRoom("fuzz")) {
    std::string why;
    h.hub.createRoom({{"name", "fuzz"}, {"properties", {{"sip", {{"sip_mode", "dial-in"}}}}}}, &why);
  }
  daily::devserver::handleRest(h.context, req, [](daily::devserver::HttpResponse) {});
  h.io.poll();
  // Rooms created by the fuzzer would pile up: keep the hub small.
  if (h.hub.rooms().size() > 64) {
    std::vector<std::string> names;
    for (const auto& [name, room] : h.hub.rooms()) names.push_back(name);
    for (const auto& name : names) h.hub.deleteRoom(name);
  }
  return 0;
}
