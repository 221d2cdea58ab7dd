// The program the README opens with, built in CI so that it never rots.
//
//   readme_quickstart ROOM_URL OWNER_TOKEN sip:target@example.com

#include <daily/daily.hpp>

#include <iostream>

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: readme_quickstart ROOM_URL OWNER_TOKEN TO_END_POINT\n";
    return 2;
  }
  const std::string roomUrl = argv[1], ownerToken = argv[2], target = argv[3];

  // --- README snippet begins ---
  daily::CallClient call;
  std::promise<std::string> caller;
  call.once("dialin-connected", [&](const daily::Event& e) { caller.set_value(e.payload["sessionId"]); });

  call.join({.url = roomUrl, .token = ownerToken, .userName = "transfer-bot"}).get();
  const std::string sessionId = caller.get_future().get();         // wait for a SIP caller to dial in
  try {
    call.sipRefer({.sessionId = sessionId, .toEndPoint = target}).get();  // resolves on 202 Accepted
    std::cout << "REFER accepted: the caller is on its way to " << target << "\n";
  } catch (const daily::Error& e) {
    std::cout << "transfer refused: " << e.what() << " (SIP " << e.sipStatus() << ")\n";
  }
  call.leave().get();
  // --- README snippet ends ---
  return 0;
}
