// dialout_bot: dials a SIP URI from a room, waits for the answer, then either hands the callee off with
// sipRefer(--refer-to) or hangs up with stopDialOut() after --hold seconds.
//
//   dialout_bot --room-url http://127.0.0.1:4000/sales --token "$OWNER_TOKEN"
//               --dial sip:bob@127.0.0.1:5090 --refer-to sip:agent@127.0.0.1:5091

#include <daily/daily.hpp>

#include <CLI/CLI.hpp>

#include <condition_variable>
#include <iostream>
#include <mutex>
#include <thread>

int main(int argc, char** argv) {
  std::string url, token, dial, referTo, displayName = "Daily bot";
  int holdSeconds = 1, timeoutSeconds = 30;
  CLI::App app{"Dials out from a room, then transfers or hangs up the leg"};
  app.add_option("--room-url", url, "the room URL, as the REST API returns it")->required();
  app.add_option("--token", token, "an owner (or admin) meeting token for the room")->required();
  app.add_option("--dial", dial, "the SIP URI to call")->required();
  app.add_option("--display-name", displayName, "the caller name the callee sees")->capture_default_str();
  app.add_option("--refer-to", referTo, "after the answer, REFER the callee here instead of hanging up");
  app.add_option("--hold", holdSeconds, "seconds to stay on the call before stopDialOut")->capture_default_str();
  app.add_option("--timeout", timeoutSeconds, "seconds to wait for the answer")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  std::mutex mu;
  std::condition_variable changed;
  bool answered = false, ended = false;
  std::string failure;
  daily::CallClient call;
  call.on("*", [&](const daily::Event& e) {
    std::lock_guard<std::mutex> lock(mu);
    std::cout << "[event] " << e.action << " " << e.payload.dump() << std::endl;
    if (e.action == "dialout-answered") answered = true;
    if (e.action == "dialout-error") failure = e.payload.value("errorMsg", "dial-out failed");
    if (e.action == "dialout-stopped") ended = true;
    changed.notify_all();
  });
  try {
    call.join({.url = url, .token = token, .userName = "dialout-bot"}).get();
    const daily::DialOutSession session = call.startDialOut({.sipUri = dial, .displayName = displayName}).get();
    std::cout << "[bot] dialing " << dial << " as session " << session.sessionId << std::endl;
    {
      std::unique_lock<std::mutex> lock(mu);
      changed.wait_for(lock, std::chrono::seconds(timeoutSeconds), [&] { return answered || !failure.empty(); });
      if (!answered) {
        std::cout << "[bot] not answered: " << (failure.empty() ? "timed out" : failure) << std::endl;
        return 1;
      }
    }
    if (!referTo.empty()) {
      call.sipRefer({.sessionId = session.sessionId, .toEndPoint = referTo}).get();
      std::cout << "[bot] REFER accepted; waiting for the callee to move" << std::endl;
    } else {
      std::this_thread::sleep_for(std::chrono::seconds(holdSeconds));
      call.stopDialOut({.sessionId = session.sessionId}).get();
    }
    std::unique_lock<std::mutex> lock(mu);
    changed.wait_for(lock, std::chrono::seconds(timeoutSeconds), [&] { return ended; });
    std::cout << "[bot] " << (ended ? "the leg ended" : "the leg did not end in time") << std::endl;
    lock.unlock();
    call.leave().get();
    return ended ? 0 : 1;
  } catch (const daily::Error& e) {
    std::cerr << "[bot] " << daily::toString(e.code()) << ": " << e.what();
    if (e.sipStatus()) std::cerr << " (SIP " << e.sipStatus() << ")";
    std::cerr << "\n";
    return 1;
  }
}
