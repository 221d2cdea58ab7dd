// event_bot: joins a room and prints every event it receives, one JSON line each, until Ctrl-C or --seconds.
//
//   event_bot http://127.0.0.1:4000/hello --token "$TOKEN" --name watcher --seconds 30

#include <daily/daily.hpp>

#include <CLI/CLI.hpp>

#include <csignal>
#include <iostream>
#include <mutex>
#include <thread>

namespace {
std::sig_atomic_t volatile stopRequested = 0;
}

int main(int argc, char** argv) {
  std::string url, token, name = "event-bot";
  int seconds = 0;
  CLI::App app{"Joins a Daily room and prints its events"};
  app.add_option("url", url, "the room URL, as the REST API returns it")->required();
  app.add_option("--token", token, "a meeting token (needed for private rooms)");
  app.add_option("--name", name, "the user name to join with")->capture_default_str();
  app.add_option("--seconds", seconds, "leave after this many seconds (0 = until Ctrl-C)");
  CLI11_PARSE(app, argc, argv);

  std::signal(SIGINT, [](int) { stopRequested = 1; });
  std::signal(SIGTERM, [](int) { stopRequested = 1; });

  daily::CallClient call;
  std::mutex out;
  call.on("*", [&](const daily::Event& e) {
    std::lock_guard<std::mutex> lock(out);
    std::cout << e.payload.dump() << std::endl;
  });
  try {
    call.join({.url = url, .token = token, .userName = name}).get();
  } catch (const daily::Error& e) {
    std::cerr << "join failed (" << daily::toString(e.code()) << "): " << e.what() << "\n";
    return 1;
  }
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (!stopRequested && call.meetingState() == "joined-meeting" &&
         (seconds == 0 || std::chrono::steady_clock::now() < until)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (call.meetingState() == "joined-meeting") call.leave().get();
  return call.meetingState() == "error" ? 1 : 0;
}
