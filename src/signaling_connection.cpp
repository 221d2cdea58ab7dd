#include "signaling_connection.hpp"

#include "common/log.hpp"
#include "common/protocol.hpp"
#include "runtime.hpp"

#include <asio/post.hpp>
#include <asio/ssl/host_name_verification.hpp>
#include <asio/steady_timer.hpp>
#include <websocketpp/client.hpp>
#include <websocketpp/config/asio_client.hpp>
#include <websocketpp/config/asio_no_tls_client.hpp>

#include <chrono>
#include <mutex>
#include <utility>

namespace daily::detail {
namespace {

constexpr auto kKeepaliveInterval = std::chrono::seconds(15);
constexpr long kPongTimeoutMs = 10'000;

using PlainClient = websocketpp::client<websocketpp::config::asio_client>;
using TlsClient = websocketpp::client<websocketpp::config::asio_tls_client>;

// websocketpp asks the *endpoint's* TLS init handler for a context while get_connection() creates the
// connection, before a per-connection handler could be set. Each client has its own trust settings, so the
// connection being created names them here; connect() runs on the network thread, as get_connection() does.
struct TlsSettings {
  const CallClientOptions* options = nullptr;
  const std::string* host = nullptr;
  std::string* verifyError = nullptr;  // where the certificate check says why it refused
};
thread_local TlsSettings tlsForNewConnection;

std::shared_ptr<asio::ssl::context> clientTlsContext(const CallClientOptions& options, const std::string& host,
                                                     std::string* verifyError) {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                   asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
  if (options.verifyTls) {
    asio::error_code ec;
    if (options.caFile.empty()) ctx->set_default_verify_paths(ec);
    else ctx->load_verify_file(options.caFile, ec);
    if (ec) DAILY_LOG(Error, "signaling", "cannot load CA certificates: " << ec.message());
    ctx->set_verify_mode(asio::ssl::verify_peer);
    ctx->set_verify_callback([check = asio::ssl::host_name_verification(host), host, verifyError](
                                 bool preverified, asio::ssl::verify_context& vc) {
      const bool ok = check(preverified, vc);
      if (!ok && verifyError->empty()) {
        const int err = X509_STORE_CTX_get_error(vc.native_handle());
        *verifyError = err != X509_V_OK ? X509_verify_cert_error_string(err)
                                        : "the certificate is not for host " + host;
      }
      return ok;
    });
  } else {
    ctx->set_verify_mode(asio::ssl::verify_none);
  }
  return ctx;
}

template <class Client>
Client& endpoint() {
  // One endpoint per transport kind for the whole process, on the shared io_context; never destroyed (see Runtime).
  static Client* client = [] {
    auto* c = new Client();
    c->clear_access_channels(websocketpp::log::alevel::all);
    c->clear_error_channels(websocketpp::log::elevel::all);
    c->init_asio(&Runtime::instance().io());
    // Small frames go out at once: with Nagle's algorithm a frame written while an earlier one is unacknowledged
    // waits for that ACK, which the peer delays by up to 40 ms (seen as 41 ms stalls in a perf trace).
    c->set_tcp_pre_init_handler([c](websocketpp::connection_hdl hdl) {
      asio::error_code ec;
      if (auto con = c->get_con_from_hdl(hdl, ec)) con->get_raw_socket().set_option(asio::ip::tcp::no_delay(true), ec);
    });
    if constexpr (std::is_same_v<Client, TlsClient>) {
      c->set_tls_init_handler([](websocketpp::connection_hdl) -> std::shared_ptr<asio::ssl::context> {
        const TlsSettings settings = tlsForNewConnection;
        if (!settings.options) return nullptr;  // not ours: websocketpp fails the connection (invalid context)
        return clientTlsContext(*settings.options, *settings.host, settings.verifyError);
      });
    }
    return c;
  }();
  return *client;
}

template <class Client>
class WsConnection final : public SignalingConnection, public std::enable_shared_from_this<WsConnection<Client>> {
 public:
  WsConnection(Handlers handlers, CallClientOptions options, RoomUrl url)
      : handlers_(std::move(handlers)), options_(std::move(options)), url_(std::move(url)),
        keepalive_(Runtime::instance().io()) {}

  void start() {
    asio::post(Runtime::instance().io(), [self = this->shared_from_this()] { self->connect(); });
  }

  // From any thread: websocketpp's connection::send is thread-safe. It frames the message on the calling thread
  // and posts the write to the network thread, which therefore wakes for every request unless it is polling after
  // an answer (io_loop.hpp).
  void send(std::string text) override {
    typename Client::connection_ptr con;
    {
      std::lock_guard<std::mutex> lock(openMu_);
      con = open_;
    }
    if (!con) return;
    const websocketpp::lib::error_code ec = con->send(text, websocketpp::frame::opcode::text);
    if (ec) DAILY_LOG(Warn, "signaling", "send failed: " << ec.message());
  }

  void sendBinary(std::string bytes, std::size_t maxBacklog) override {
    typename Client::connection_ptr con;
    {
      std::lock_guard<std::mutex> lock(openMu_);
      con = open_;
    }
    if (!con || con->get_buffered_amount() > maxBacklog) return;
    const websocketpp::lib::error_code ec = con->send(bytes, websocketpp::frame::opcode::binary);
    if (ec) DAILY_LOG(Warn, "signaling", "send failed: " << ec.message());
  }

  // websocketpp's pause_reading and resume_reading post their work, and its resume starts a read whether or not
  // one is outstanding (two reads into one buffer). So the pause is taken inline, inside the message handler,
  // where websocketpp checks the flag before it reads again: when paused, no read is outstanding. The resume
  // comes later, from a posted handler, and only after a pause.
  void pauseReading() override {
    if (!con_ || readingPaused_) return;
    readingPaused_ = true;
    con_->handle_pause_reading();
  }

  void resumeReading() override {
    asio::post(Runtime::instance().io(), [self = this->shared_from_this()] { self->resumeReadingNow(); });
  }

  void close() override {
    {
      std::lock_guard<std::mutex> lock(openMu_);
      open_.reset();
    }
    asio::post(Runtime::instance().io(), [self = this->shared_from_this()] {
      self->handlers_ = {};
      self->keepalive_.cancel();
      if (!self->con_) return;
      websocketpp::lib::error_code ec;
      if (self->con_->get_state() == websocketpp::session::state::open) {
        // The server's close frame must be read for the close handshake to end before its 5 s timeout; what is
        // read before it goes nowhere (no handlers).
        self->resumeReadingNow();
        self->con_->close(websocketpp::close::status::normal, "client closed", ec);
      } else if (self->con_->get_state() == websocketpp::session::state::connecting) {
        self->con_->terminate(ec);
      }
    });
  }

 private:
  // Network thread: reads again if reading was paused and the connection is open.
  void resumeReadingNow() {
    if (!con_ || !std::exchange(readingPaused_, false)) return;
    if (con_->get_state() == websocketpp::session::state::open) con_->handle_resume_reading();
  }

  void connect() {
    websocketpp::lib::error_code ec;
    tlsForNewConnection = TlsSettings{&options_, &url_.host, &verifyError_};
    auto con = endpoint<Client>().get_connection(url_.signalingUrl, ec);
    tlsForNewConnection = TlsSettings{};
    if (ec) return closed("cannot connect to " + url_.signalingUrl + ": " + ec.message(), false);
    con_ = con;
    con->set_open_handshake_timeout(static_cast<long>(options_.connectTimeout.count()));
    con->set_max_message_size(protocol::kMaxServerFrameBytes);
    con->set_pong_timeout(kPongTimeoutMs);
    std::weak_ptr<WsConnection> weak = this->shared_from_this();
    con->set_open_handler([weak](websocketpp::connection_hdl) {
      if (auto self = weak.lock()) self->opened();
    });
    con->set_message_handler([weak](websocketpp::connection_hdl, typename Client::message_ptr message) {
      auto self = weak.lock();
      if (!self) return;
      if (message->get_opcode() != websocketpp::frame::opcode::text) {
        if (self->handlers_.onBinary) self->handlers_.onBinary(std::move(message->get_raw_payload()));
        return;
      }
      if (self->handlers_.onMessage) self->handlers_.onMessage(std::move(message->get_raw_payload()));
    });
    con->set_fail_handler([weak](websocketpp::connection_hdl) {
      auto self = weak.lock();
      if (!self) return;
      std::string why = self->con_->get_ec().message();
      if (!self->verifyError_.empty()) why += " (certificate refused: " + self->verifyError_ + ")";
      self->closed("cannot connect to " + self->url_.signalingUrl + ": " + why, true);
    });
    con->set_close_handler([weak](websocketpp::connection_hdl) {
      auto self = weak.lock();
      if (!self) return;
      namespace status = websocketpp::close::status;
      const auto code = self->con_->get_remote_close_code();
      std::string reason = "the server closed the connection";
      const bool lost = code == status::abnormal_close || code == status::no_status;
      if (lost) reason = "the connection to the server was lost";
      // A lost connection, or a server going away / restarting / overloaded, may come back; a server that
      // closed us on purpose (normal close, policy violation, message too big...) is not asked again.
      const bool retryable = lost || code == status::going_away || code == status::internal_endpoint_error ||
                             code == status::service_restart || code == status::try_again_later;
      if (!self->con_->get_remote_close_reason().empty()) reason += " (" + self->con_->get_remote_close_reason() + ")";
      DAILY_LOG(Info, "signaling", "closed: remote code " << self->con_->get_remote_close_code() << ", local code "
                                    << self->con_->get_local_close_code() << " (" << self->con_->get_local_close_reason()
                                    << "), " << self->con_->get_ec().message());
      self->closed(reason, retryable);
    });
    con->set_pong_timeout_handler([weak](websocketpp::connection_hdl, std::string) {
      auto self = weak.lock();
      if (!self) return;
      // Not reading (a handler keeps the client's backlog full) is not a dead connection: the pong may be there,
      // unread. The next keepalive after reading resumes asks again.
      if (self->readingPaused_) return;
      DAILY_LOG(Warn, "signaling", "keepalive pong timed out; dropping the connection");
      websocketpp::lib::error_code ignored;
      self->con_->terminate(ignored);
    });
    endpoint<Client>().connect(con);
  }

  void opened() {
    {
      std::lock_guard<std::mutex> lock(openMu_);
      open_ = con_;
    }
    scheduleKeepalive();
    if (handlers_.onOpen) handlers_.onOpen();
  }

  void scheduleKeepalive() {
    keepalive_.expires_after(kKeepaliveInterval);
    std::weak_ptr<WsConnection> weak = this->shared_from_this();
    keepalive_.async_wait([weak](const asio::error_code& ec) {
      auto self = weak.lock();
      if (ec || !self || !self->con_ || self->con_->get_state() != websocketpp::session::state::open) return;
      websocketpp::lib::error_code ignored;
      if (!self->readingPaused_) self->con_->ping("", ignored);  // (a pong cannot be read while paused)
      self->scheduleKeepalive();
    });
  }

  void closed(const std::string& reason, bool retryable) {
    {
      std::lock_guard<std::mutex> lock(openMu_);
      open_.reset();
    }
    keepalive_.cancel();
    auto onClosed = std::move(handlers_.onClosed);
    handlers_ = {};
    if (onClosed) onClosed(reason, retryable);
  }

  Handlers handlers_;
  CallClientOptions options_;
  RoomUrl url_;
  typename Client::connection_ptr con_;  // network thread only
  std::mutex openMu_;
  typename Client::connection_ptr open_;  // con_ while it is open: what send() writes to, from any thread
  asio::steady_timer keepalive_;
  bool readingPaused_ = false;  // network thread only
  std::string verifyError_;  // written by the TLS handshake on the network thread, read there by the fail handler
};

template <class Client>
std::shared_ptr<SignalingConnection> start(const RoomUrl& url, const CallClientOptions& options,
                                           SignalingConnection::Handlers handlers) {
  auto c = std::make_shared<WsConnection<Client>>(std::move(handlers), options, url);
  c->start();
  return c;
}

}  // namespace

std::shared_ptr<SignalingConnection> SignalingConnection::open(const RoomUrl& url, const CallClientOptions& options,
                                                               Handlers handlers) {
  return url.secure ? start<TlsClient>(url, options, std::move(handlers))
                    : start<PlainClient>(url, options, std::move(handlers));
}

}  // namespace daily::detail
