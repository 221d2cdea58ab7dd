#pragma once

// The devserver for tests: in-process (fast, the default) or as the real daily-devserver binary in a child
// process (for tests that kill it).

#include "devserver.hpp"
#include "http.hpp"

#include <nlohmann/json.hpp>

#include <memory>
#include <cstdint>
#include <string>
#include <utility>
#include <sys/types.h>

namespace daily::test {

inline constexpr const char* kApiKey = "test-api-key";

/// What a SIP caller dials to reach a room (a room object from REST): the user part of its
/// config.sip_uri.endpoint, an unguessable identifier (not the room's name). Throws when the room has no dial-in.
std::string dialInUser(const nlohmann::json& room);

/// The RTP ports of the devservers a test process starts: a block outside both the kernel's ephemeral range and
/// the 10000-20000 that sipp's media ports (freeMediaPort) come from, chosen by process id so that tests running
/// in parallel do not share one. Used unless the test asks for other ports.
std::pair<std::uint16_t, std::uint16_t> testRtpPorts();

/// What every devserver handle offers: its URLs and REST helpers.
class ServerHandle {
 public:
  virtual ~ServerHandle() = default;
  virtual std::string httpUrl() const = 0;
  virtual std::string sipHost() const = 0;
  virtual int sipPort() const = 0;

  /// POST /v1/rooms; returns the room object (throws when the server refuses).
  nlohmann::json createRoom(const nlohmann::json& body = nlohmann::json::object());
  /// POST /v1/meeting-tokens with these properties; returns the token.
  std::string token(const nlohmann::json& properties);
  HttpResult rest(const std::string& method, const std::string& path, const std::string& body = {},
                  const std::string& key = kApiKey);
};

class InProcessServer : public ServerHandle {
 public:
  explicit InProcessServer(devserver::Options options = {});
  std::string httpUrl() const override { return server_->httpUrl(); }
  std::string sipHost() const override { return server_->sipHost(); }
  int sipPort() const override { return server_->sipPort(); }
  int sipTcpPort() const { return server_->sipTcpPort(); }
  int sipTlsPort() const { return server_->sipTlsPort(); }
  std::optional<devserver::media::MediaCounters> mediaCounters(const std::string& sessionId) const {
    return server_->mediaCounters(sessionId);
  }
  devserver::media::MediaCounters mediaTotals(std::size_t* open = nullptr) const { return server_->mediaTotals(open); }

 private:
  std::unique_ptr<devserver::Devserver> server_;
};

/// The daily-devserver binary (DAILY_DEVSERVER_PATH) in a child process.
class ChildServer : public ServerHandle {
 public:
  explicit ChildServer(std::vector<std::string> extraArgs = {});
  ~ChildServer() override;
  std::string httpUrl() const override { return ready_["http_url"]; }
  std::string sipHost() const override { return ready_["sip_host"]; }
  int sipPort() const override { return ready_["sip_port"]; }
  /// The JSON line it printed when ready.
  const nlohmann::json& ready() const { return ready_; }
  /// SIGKILL, then reap.
  void kill();
  /// SIGSTOP, returning once it has stopped: the kernel still accepts connections and data, nothing answers.
  void freeze();

 private:
  pid_t pid_ = -1;
  bool frozen_ = false;  // stopped by freeze(): the destructor must wake it
  nlohmann::json ready_;
};

}  // namespace daily::test
