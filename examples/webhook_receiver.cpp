// webhook_receiver: a small HTTP server that receives Daily webhooks, verifies each one's signature with
// daily::verifyWebhookSignature, and prints the call-transfer (and other) events it accepts.
//
//   webhook_receiver --port 8080 --secret "$WEBHOOK_HMAC"
//   daily webhooks create --url http://127.0.0.1:8080/daily --hmac "$WEBHOOK_HMAC"
//
// Answers 200 to a delivery whose signature checks out (and to Daily's verification POST), 401 otherwise.
// One request at a time, which is plenty for a webhook endpoint's traffic; put it behind a real web server
// (TLS!) in production.

#include <daily/daily.hpp>

#include <CLI/CLI.hpp>
#include <asio.hpp>

#include <iostream>
#include <map>

namespace {

struct Request {
  std::map<std::string, std::string> headers;  // lowercased names
  std::string body;
};

// Reads one HTTP/1.1 request (headers, then Content-Length bytes of body).
bool readRequest(asio::ip::tcp::socket& socket, Request& req) {
  asio::streambuf buffer;
  asio::error_code ec;
  const std::size_t headerBytes = asio::read_until(socket, buffer, "\r\n\r\n", ec);
  if (ec) return false;
  std::string head(asio::buffers_begin(buffer.data()), asio::buffers_begin(buffer.data()) + headerBytes);
  buffer.consume(headerBytes);
  std::size_t at = head.find("\r\n") + 2;
  while (at < head.size()) {
    const std::size_t end = head.find("\r\n", at);
    const std::string line = head.substr(at, end - at);
    if (const std::size_t colon = line.find(':'); colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      req.headers[name] = line.substr(line.find_first_not_of(' ', colon + 1));
    }
    at = end + 2;
  }
  const std::size_t length = req.headers.count("content-length") ? std::stoul(req.headers["content-length"]) : 0;
  if (length > 1024 * 1024) return false;
  req.body.assign(asio::buffers_begin(buffer.data()), asio::buffers_end(buffer.data()));
  if (req.body.size() < length) {
    std::string rest(length - req.body.size(), '\0');
    asio::read(socket, asio::buffer(rest), ec);
    if (ec) return false;
    req.body += rest;
  }
  req.body.resize(length);
  return true;
}

void respond(asio::ip::tcp::socket& socket, int status, const std::string& reason) {
  const std::string text = "HTTP/1.1 " + std::to_string(status) + " " + reason +
                           "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
  asio::error_code ignored;
  asio::write(socket, asio::buffer(text), ignored);
}

}  // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1", secret;
  unsigned short port = 8080;
  int count = 0;
  CLI::App app{"Receives Daily webhooks, verifies their signatures, and prints the events"};
  app.add_option("--host", host, "address to listen on")->capture_default_str();
  app.add_option("--port", port, "port to listen on (0 = any; the port is printed)")->capture_default_str();
  app.add_option("--secret", secret, "the webhook's hmac (BASE-64), as given to or returned by POST /webhooks")->required();
  app.add_option("--count", count, "exit after this many verified events (0 = run forever)");
  CLI11_PARSE(app, argc, argv);

  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address(host), port});
  std::cout << "listening on http://" << host << ":" << acceptor.local_endpoint().port() << std::endl;
  int verified = 0;
  while (count == 0 || verified < count) {
    asio::ip::tcp::socket socket(io);
    acceptor.accept(socket);
    Request req;
    if (!readRequest(socket, req)) {
      respond(socket, 400, "Bad Request");
      continue;
    }
    const std::string ts = req.headers["x-webhook-timestamp"], sig = req.headers["x-webhook-signature"];
    if (!daily::verifyWebhookSignature(secret, ts, req.body, sig)) {
      std::cout << "REFUSED a delivery with a bad or stale signature" << std::endl;
      respond(socket, 401, "Unauthorized");
      continue;
    }
    respond(socket, 200, "OK");
    if (req.body == R"({"test":"test"})") {
      std::cout << "verification POST answered" << std::endl;
      continue;
    }
    try {
      const daily::WebhookEvent e = daily::parseWebhookEvent(req.body);
      ++verified;
      if (e.type.rfind("calltransfer.", 0) == 0) {
        std::cout << e.type << "  session " << e.payload.value("session_id", "") << "  "
                  << e.payload.value("from_endpoint", "") << " -> " << e.payload.value("to_endpoint", "")
                  << (e.payload.value("is_sip_refer", false) ? "  (SIP REFER)" : "") << std::endl;
      } else {
        std::cout << e.type << "  " << e.payload.dump() << std::endl;
      }
    } catch (const daily::Error& e) {
      std::cout << "signed but malformed: " << e.what() << std::endl;
    }
  }
  return 0;
}
