#include "http_responder.hpp"

#include <algorithm>
#include <cctype>

namespace daily::test {

HttpResponder::HttpResponder() : acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
  port_ = acceptor_.local_endpoint().port();
  accept();
  thread_ = std::thread([this] { io_.run(); });
}

HttpResponder::~HttpResponder() {
  io_.stop();
  thread_.join();
}

void HttpResponder::script(std::vector<ScriptedResponse> responses) {
  std::lock_guard<std::mutex> lock(mu_);
  script_.assign(responses.begin(), responses.end());
}

void HttpResponder::setDefault(ScriptedResponse response) {
  std::lock_guard<std::mutex> lock(mu_);
  default_ = std::move(response);
}

std::vector<RecordedRequest> HttpResponder::requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

bool HttpResponder::waitFor(std::size_t n, const std::function<bool(const RecordedRequest&)>& pred,
                            std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout, [&] {
    return static_cast<std::size_t>(std::count_if(requests_.begin(), requests_.end(), [&](const RecordedRequest& r) {
             return !pred || pred(r);
           })) >= n;
  });
}

void HttpResponder::accept() {
  auto socket = std::make_shared<asio::ip::tcp::socket>(io_);
  acceptor_.async_accept(*socket, [this, socket](const asio::error_code& ec) {
    if (ec) return;
    serve(socket);
    accept();
  });
}

// One request per connection (the response says Connection: close), read asynchronously until complete.
void HttpResponder::serve(std::shared_ptr<asio::ip::tcp::socket> socket) {
  auto buffer = std::make_shared<std::string>();
  auto chunk = std::make_shared<std::array<char, 4096>>();
  auto readMore = std::make_shared<std::function<void()>>();
  *readMore = [this, socket, buffer, chunk, readMore] {
    socket->async_read_some(asio::buffer(*chunk), [this, socket, buffer, chunk, readMore](const asio::error_code& ec,
                                                                                         std::size_t n) {
      if (ec) return;
      buffer->append(chunk->data(), n);
      const std::size_t end = buffer->find("\r\n\r\n");
      if (end == std::string::npos) return (*readMore)();
      RecordedRequest req;
      std::size_t lineEnd = buffer->find("\r\n");
      const std::string requestLine = buffer->substr(0, lineEnd);
      req.method = requestLine.substr(0, requestLine.find(' '));
      req.target = requestLine.substr(req.method.size() + 1, requestLine.rfind(' ') - req.method.size() - 1);
      std::size_t at = lineEnd + 2;
      while (at < end) {
        const std::size_t next = buffer->find("\r\n", at);
        const std::string line = buffer->substr(at, next - at);
        const std::size_t colon = line.find(':');
        if (colon != std::string::npos) {
          std::string name = line.substr(0, colon);
          std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
          req.headers[name] = line.substr(line.find_first_not_of(' ', colon + 1));
        }
        at = next + 2;
      }
      const std::size_t length = req.headers.count("content-length") ? std::stoul(req.headers["content-length"]) : 0;
      if (buffer->size() < end + 4 + length) return (*readMore)();
      req.body = buffer->substr(end + 4, length);
      ScriptedResponse response;
      {
        std::lock_guard<std::mutex> lock(mu_);
        requests_.push_back(req);
        if (!script_.empty()) {
          response = script_.front();
          script_.pop_front();
        } else {
          response = default_;
        }
        if (response.hang) hung_.push_back(socket);
      }
      cv_.notify_all();
      *readMore = nullptr;  // break the self-reference
      if (response.hang) return;
      auto text = std::make_shared<std::string>("HTTP/1.1 " + std::to_string(response.status) + " Scripted\r\n");
      for (const auto& [k, v] : response.headers) *text += k + ": " + v + "\r\n";
      *text += "Content-Type: application/json\r\nContent-Length: " + std::to_string(response.body.size()) +
               "\r\nConnection: close\r\n\r\n" + response.body;
      asio::async_write(*socket, asio::buffer(*text), [socket, text](const asio::error_code&, std::size_t) {
        asio::error_code ignored;
        socket->shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
      });
    });
  };
  (*readMore)();
}

}  // namespace daily::test
