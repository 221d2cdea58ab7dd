#include "devserver_fixture.hpp"

#include <algorithm>
#include <tuple>

#include <csignal>
#include <cstdio>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace daily::test {

std::string dialInUser(const nlohmann::json& room) {
  const std::string endpoint = room.at("config").at("sip_uri").at("endpoint").get<std::string>();
  const std::size_t at = endpoint.find('@');
  if (endpoint.rfind("sip:", 0) != 0 || at == std::string::npos) throw std::runtime_error("not a dial-in URI: " + endpoint);
  return endpoint.substr(4, at - 4);
}

nlohmann::json ServerHandle::createRoom(const nlohmann::json& body) {
  auto r = rest("POST", "/v1/rooms", body.dump());
  if (r.status != 200) throw std::runtime_error("createRoom failed: " + r.body.dump());
  return r.body;
}

std::string ServerHandle::token(const nlohmann::json& properties) {
  auto r = rest("POST", "/v1/meeting-tokens", nlohmann::json{{"properties", properties}}.dump());
  if (r.status != 200) throw std::runtime_error("token failed: " + r.body.dump());
  return r.body["token"];
}

HttpResult ServerHandle::rest(const std::string& method, const std::string& path, const std::string& body,
                              const std::string& key) {
  return http(method, httpUrl() + path, key, body);
}

std::pair<std::uint16_t, std::uint16_t> testRtpPorts() {
  const auto first = static_cast<std::uint16_t>(61000 + (getpid() % 9) * 500);
  return {first, static_cast<std::uint16_t>(first + 499)};
}

InProcessServer::InProcessServer(devserver::Options options) {
  options.apiKey = kApiKey;
  if (options.rtpFirstPort == devserver::Options{}.rtpFirstPort && options.rtpLastPort == devserver::Options{}.rtpLastPort)
    std::tie(options.rtpFirstPort, options.rtpLastPort) = testRtpPorts();
  server_ = std::make_unique<devserver::Devserver>(options);
  server_->start();
}

ChildServer::ChildServer(std::vector<std::string> extraArgs) {
  int out[2];
  if (pipe(out) != 0) throw std::runtime_error("pipe failed");
  std::vector<std::string> args{DAILY_DEVSERVER_PATH, "--api-key", kApiKey, "--log-level", "warn"};
  if (std::find(extraArgs.begin(), extraArgs.end(), "--rtp-ports") == extraArgs.end()) {
    const auto [first, last] = testRtpPorts();
    args.insert(args.end(), {"--rtp-ports", std::to_string(first) + "-" + std::to_string(last)});
  }
  args.insert(args.end(), extraArgs.begin(), extraArgs.end());
  std::vector<char*> argv;  // made before fork(): the child of a multi-threaded process must not allocate
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    close(out[1]);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(out[1]);
  FILE* f = fdopen(out[0], "r");
  char line[1024];
  if (!f || !std::fgets(line, sizeof line, f)) {
    if (f) std::fclose(f);
    kill();
    throw std::runtime_error("daily-devserver did not print its ready line");
  }
  std::fclose(f);
  ready_ = nlohmann::json::parse(line);
  if (!ready_.value("ready", false)) throw std::runtime_error(std::string("unexpected ready line: ") + line);
}

ChildServer::~ChildServer() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    // A frozen server must wake up to take the SIGTERM. Only a frozen one: SIGCONT discards a pending SIGSTOP, and a
    // server already exiting under LeakSanitizer is being stopped by its leak checker's PTRACE_ATTACH, which then
    // waits for that stop forever (a hang seen in CI's ASan stage, 1 run in ~20 on a loaded machine).
    if (frozen_) ::kill(pid_, SIGCONT);
    waitpid(pid_, nullptr, 0);
  }
}

void ChildServer::freeze() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGSTOP);
  int status = 0;
  waitpid(pid_, &status, WUNTRACED);  // kill() returns before a process running on another core has stopped
  frozen_ = true;
}

void ChildServer::kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

}  // namespace daily::test
