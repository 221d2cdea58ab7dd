// sip_refer_bot: joins a room as owner, waits for a dial-in SIP caller, hands it off to another SIP endpoint with
// sipRefer(), prints the events and the transfer's outcome, and exits 0 only if the caller was transferred.
//
//   sip_refer_bot --room-url http://127.0.0.1:4000/support --token "$OWNER_TOKEN" --to sip:agent@127.0.0.1:5090
//
// Exit status: 0 transferred; 1 the transfer failed (refused, target busy, ...); 2 bad usage; 3 join failed or
// nothing happened in time.

#include <daily/daily.hpp>

#include <CLI/CLI.hpp>

#include <condition_variable>
#include <iostream>
#include <mutex>
#include <optional>

int main(int argc, char** argv) {
  std::string url, token, to, session;
  std::map<std::string, std::string> headers;
  int timeoutSeconds = 30;
  CLI::App app{"Transfers a dial-in SIP caller to another SIP endpoint with a SIP REFER"};
  app.add_option("--room-url", url, "the room URL, as the REST API returns it")->required();
  app.add_option("--token", token, "an owner (or admin) meeting token for the room")->required();
  app.add_option("--to", to, "where to send the caller: sip:, sips: or tel: URI")->required();
  app.add_option("--session", session, "the session_id to transfer (default: the first dial-in caller)");
  app.add_option("--header", headers, "an extra SIP header for the REFER, NAME VALUE (repeatable)");
  app.add_option("--timeout", timeoutSeconds, "seconds to wait for a caller, and then for the outcome")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (auto why = daily::validateSipUri(to); !why.empty()) {
    std::cerr << "--to: " << why << "\n";
    return 2;
  }

  std::mutex mu;
  std::condition_variable changed;
  std::optional<std::string> caller = session.empty() ? std::nullopt : std::optional(session);
  std::optional<daily::Event> outcome;  // the final sip-refer-progress
  bool legStopped = false;

  daily::CallClient call;
  call.on("*", [&](const daily::Event& e) {
    std::lock_guard<std::mutex> lock(mu);
    std::cout << "[event] " << e.action << " " << e.payload.dump() << std::endl;
    if (e.action == "dialin-connected" && !caller) caller = e.payload["sessionId"].get<std::string>();
    if (e.action == "sip-refer-progress" && caller && e.payload["sessionId"] == *caller && e.payload["final"] == true)
      outcome = e;
    if ((e.action == "dialin-stopped" || e.action == "dialout-stopped") && caller && e.payload["sessionId"] == *caller)
      legStopped = true;
    changed.notify_all();
  });

  try {
    const auto participants = call.join({.url = url, .token = token, .userName = "sip-refer-bot"}).get();
    std::lock_guard<std::mutex> lock(mu);
    for (const auto& [id, p] : participants.items())  // a caller that dialed in before we joined
      if (!caller && p.value("participantType", "") == "sip-dial-in") caller = p["session_id"].get<std::string>();
  } catch (const daily::Error& e) {
    std::cerr << "join failed (" << daily::toString(e.code()) << "): " << e.what() << "\n";
    return 3;
  }

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeoutSeconds);
  std::string sessionId;
  {
    std::unique_lock<std::mutex> lock(mu);
    if (!changed.wait_until(lock, deadline, [&] { return caller.has_value(); })) {
      std::cerr << "no SIP caller dialed in within " << timeoutSeconds << " s\n";
      return 3;
    }
    sessionId = *caller;
  }

  std::cout << "[bot] referring " << sessionId << " to " << to << std::endl;
  try {
    call.sipRefer({.sessionId = sessionId, .toEndPoint = to, .sipHeaders = headers}).get();
    std::cout << "[bot] REFER accepted" << std::endl;
  } catch (const daily::Error& e) {
    std::cout << "[bot] REFER failed: " << daily::toString(e.code()) << ": " << e.what();
    if (e.sipStatus()) std::cout << " (SIP " << e.sipStatus() << ")";
    std::cout << std::endl;
    return e.code() == daily::ErrorCode::SipRejected ? 1 : 3;
  }

  std::unique_lock<std::mutex> lock(mu);
  const auto outcomeDeadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeoutSeconds);
  changed.wait_until(lock, outcomeDeadline, [&] {
    return outcome && (outcome->payload["status"] != "transferred" || legStopped);
  });
  if (!outcome) {
    std::cout << "[bot] no final transfer report within " << timeoutSeconds << " s" << std::endl;
    return 3;
  }
  const bool transferred = outcome->payload["status"] == "transferred" && legStopped;
  std::cout << "[bot] outcome: " << outcome->payload["status"].get<std::string>() << " (SIP "
            << outcome->payload["sipStatus"] << ")" << (transferred ? ", the gateway has left the call" : "")
            << std::endl;
  lock.unlock();
  call.leave().get();
  return transferred ? 0 : 1;
}
