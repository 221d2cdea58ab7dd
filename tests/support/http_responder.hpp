#pragma once

// A small HTTP/1.1 server for tests: answers each request with the next scripted response (or 200 {} once the
// script is used up) and records what it received. Plays a flaky API for retry tests and a webhook receiver.

#include <asio.hpp>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace daily::test {

struct RecordedRequest {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // names lowercased
  std::string body;
};

struct ScriptedResponse {
  int status = 200;
  std::string body = "{}";
  std::map<std::string, std::string> headers{};
  bool hang = false;  // never answer
};

class HttpResponder {
 public:
  HttpResponder();
  ~HttpResponder();
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  /// Scripted answers, used in order.
  void script(std::vector<ScriptedResponse> responses);
  /// When set, answers every request whose script is used up with this status (e.g. 500 for a dead receiver).
  void setDefault(ScriptedResponse response);
  std::vector<RecordedRequest> requests() const;
  /// Waits until at least n requests matching pred arrived.
  bool waitFor(std::size_t n, const std::function<bool(const RecordedRequest&)>& pred = {},
               std::chrono::milliseconds timeout = std::chrono::seconds(15));

 private:
  void accept();
  void serve(std::shared_ptr<asio::ip::tcp::socket> socket);

  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  int port_ = 0;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<ScriptedResponse> script_;
  ScriptedResponse default_;
  std::vector<RecordedRequest> requests_;
  std::vector<std::shared_ptr<asio::ip::tcp::socket>> hung_;
  std::thread thread_;
};

}  // namespace daily::test
