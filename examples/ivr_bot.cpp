// ivr_bot: a phone menu. It joins a room as owner, answers the first dial-in caller with a prompt (a WAV file),
// waits for a key, says "transferring you" (another WAV), waits until that has been sent, then hands the caller to
// the SIP endpoint the key chose with sipRefer(), and reports the outcome.
//
//   ivr_bot --room-url http://127.0.0.1:4000/support --token "$OWNER_TOKEN"
//           --prompt press-1-or-2.wav --transferring transferring.wav
//           --route 1=sip:sales@127.0.0.1:5090 --route 2=sip:support@127.0.0.1:5092
//
// The WAV files are mono or stereo, 16-bit, at 8, 16, 24 or 48 kHz (read with libsndfile).
// Exit status: 0 transferred; 1 the transfer failed; 2 bad usage; 3 join failed, no caller, or no key in time.

#include <daily/daily.hpp>

#include <CLI/CLI.hpp>
#include <sndfile.h>

#include <condition_variable>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>

namespace {

struct Wav {
  int sampleRate = 0;
  int channels = 0;
  std::vector<std::int16_t> samples;
};

std::optional<Wav> readWav(const std::string& path) {
  SF_INFO info{};
  SNDFILE* file = sf_open(path.c_str(), SFM_READ, &info);
  if (!file) return std::nullopt;
  Wav wav{info.samplerate, info.channels, std::vector<std::int16_t>(static_cast<std::size_t>(info.frames * info.channels))};
  sf_readf_short(file, wav.samples.data(), info.frames);
  sf_close(file);
  return wav;
}

}  // namespace

int main(int argc, char** argv) {
  std::string url, token, promptFile, transferringFile;
  std::vector<std::string> routeArgs;         // KEY=URI
  std::map<std::string, std::string> routes;  // key -> SIP URI
  int timeoutSeconds = 30;
  CLI::App app{"Greets a dial-in caller, collects a key, and transfers the caller where the key says"};
  app.add_option("--room-url", url, "the room URL, as the REST API returns it")->required();
  app.add_option("--token", token, "an owner (or admin) meeting token for the room")->required();
  app.add_option("--prompt", promptFile, "the greeting, a WAV file")->required()->check(CLI::ExistingFile);
  app.add_option("--transferring", transferringFile, "what the caller hears before the transfer, a WAV file")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--route", routeArgs, "KEY=URI: where the key sends the caller (repeatable)")->required();
  app.add_option("--timeout", timeoutSeconds, "seconds to wait for a caller, for a key, and for the outcome")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  for (const auto& route : routeArgs) {
    const auto eq = route.find('=');
    if (eq == std::string::npos) {
      std::cerr << "--route: " << route << " is not KEY=URI\n";
      return 2;
    }
    routes[route.substr(0, eq)] = route.substr(eq + 1);
  }
  for (const auto& [key, to] : routes) {
    if (key.size() != 1 || std::string("0123456789*#").find(key) == std::string::npos) {
      std::cerr << "--route: " << key << " is not a key of a phone's keypad\n";
      return 2;
    }
    if (auto why = daily::validateSipUri(to); !why.empty()) {
      std::cerr << "--route " << key << ": " << why << "\n";
      return 2;
    }
  }
  const auto prompt = readWav(promptFile), transferring = readWav(transferringFile);
  if (!prompt || !transferring || prompt->sampleRate != transferring->sampleRate ||
      prompt->channels != transferring->channels) {
    std::cerr << "cannot read the WAV files, or they differ in rate or channels\n";
    return 2;
  }

  std::mutex mu;
  std::condition_variable changed;
  std::optional<std::string> caller;
  std::optional<std::string> key;
  std::optional<daily::Event> outcome;  // the final sip-refer-progress
  bool callerLeft = false;

  daily::CallClient call;
  call.on("*", [&](const daily::Event& e) {
    std::lock_guard<std::mutex> lock(mu);
    std::cout << "[event] " << e.action << " " << e.payload.dump() << std::endl;
    if (e.action == "dialin-connected" && !caller) caller = e.payload["sessionId"].get<std::string>();
    if (e.action == "dtmf-event" && caller && e.payload["sessionId"] == *caller && !key &&
        routes.count(e.payload["tone"].get<std::string>()))
      key = e.payload["tone"].get<std::string>();
    if (e.action == "sip-refer-progress" && caller && e.payload["sessionId"] == *caller && e.payload["final"] == true)
      outcome = e;
    if (e.action == "dialin-stopped" && caller && e.payload["sessionId"] == *caller) callerLeft = true;
    changed.notify_all();
  });

  try {
    call.join({.url = url, .token = token, .userName = "ivr"}).get();
  } catch (const daily::Error& e) {
    std::cerr << "join failed (" << daily::toString(e.code()) << "): " << e.what() << "\n";
    return 3;
  }
  const auto timeout = std::chrono::seconds(timeoutSeconds);
  std::string sessionId;
  {
    std::unique_lock<std::mutex> lock(mu);
    if (!changed.wait_for(lock, timeout, [&] { return caller.has_value(); })) {
      std::cerr << "no SIP caller dialed in within " << timeoutSeconds << " s\n";
      return 3;
    }
    sessionId = *caller;
  }

  // The bot's voice: one custom track, fed from the WAV files, paced at real time.
  auto voice = std::make_shared<daily::CustomAudioSource>(prompt->sampleRate, prompt->channels);
  call.addCustomAudioTrack("ivr", std::make_shared<daily::CustomAudioTrack>(voice)).get();
  std::cout << "[ivr] playing the prompt to " << sessionId << std::endl;
  voice->writeFrames(prompt->samples).get();
  std::cout << "[ivr] waiting for a key" << std::endl;
  std::string to;
  {
    std::unique_lock<std::mutex> lock(mu);
    if (!changed.wait_for(lock, timeout, [&] { return key.has_value() || callerLeft; }) || !key) {
      std::cerr << "no key pressed within " << timeoutSeconds << " s\n";
      return 3;
    }
    to = routes[*key];
  }
  std::cout << "[ivr] key " << *key << ": transferring to " << to << std::endl;
  voice->writeFrames(transferring->samples).get();  // resolves once all of it has been sent

  try {
    call.sipRefer({.sessionId = sessionId, .toEndPoint = to}).get();
  } catch (const daily::Error& e) {
    std::cout << "[ivr] REFER failed: " << daily::toString(e.code()) << ": " << e.what() << std::endl;
    return e.code() == daily::ErrorCode::SipRejected ? 1 : 3;
  }
  std::unique_lock<std::mutex> lock(mu);
  changed.wait_for(lock, timeout, [&] { return outcome && (outcome->payload["status"] != "transferred" || callerLeft); });
  if (!outcome) {
    std::cout << "[ivr] no final transfer report within " << timeoutSeconds << " s" << std::endl;
    return 3;
  }
  const bool transferred = outcome->payload["status"] == "transferred" && callerLeft;
  std::cout << "[ivr] outcome: " << outcome->payload["status"].get<std::string>() << " (SIP "
            << outcome->payload["sipStatus"] << ")" << std::endl;
  lock.unlock();
  call.leave().get();
  return transferred ? 0 : 1;
}
