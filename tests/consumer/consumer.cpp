// Two bots join the room given on the command line; the first must see the second join.
#include <daily/daily.hpp>

#include <chrono>
#include <iostream>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: consumer ROOM_URL\n";
    return 2;
  }
  daily::CallClient first, second;
  std::promise<std::string> joined;
  first.once("participant-joined", [&](const daily::Event& e) { joined.set_value(e.payload["participant"]["user_name"]); });
  daily::JoinOptions a;
  a.url = argv[1];
  a.userName = "first";
  first.join(a).get();
  daily::JoinOptions b = a;
  b.userName = "second";
  second.join(b).get();
  auto name = joined.get_future();
  if (name.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    std::cerr << "no participant-joined within 10 s\n";
    return 1;
  }
  const std::string who = name.get();
  std::cout << "libdaily " << daily::kVersion << ": first saw '" << who << "' join\n";
  return who == "second" ? 0 : 1;
}
