#include "sip/tcp.hpp"

#include "common/log.hpp"

#include <asio/connect.hpp>
#include <asio/post.hpp>
#include <asio/ssl/host_name_verification.hpp>
#include <asio/ssl/stream.hpp>
#include <asio/write.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <array>
#include <deque>
#include <vector>

namespace daily::devserver::sip {

struct TcpTransport::Connection {
  Connection(asio::io_context& io, Timers& timers, FramingLimits limits)
      : socket(io), framer(limits), idle(timers), message(timers), stall(timers) {}
  struct Out {
    std::string wire;
    OnError onError;
  };
  // Calls f with the stream to read and write: the TLS stream over the socket, or the socket itself.
  template <class F>
  void withStream(F&& f) {
    if (tls) f(*tls);
    else f(socket);
  }

  std::uint64_t id = 0;
  asio::ip::tcp::socket socket;
  std::unique_ptr<asio::ssl::stream<asio::ip::tcp::socket&>> tls;
  asio::ip::tcp::endpoint remote;
  bool outgoing = false;
  bool connected = false;  // and, over TLS, its handshake done
  bool writing = false;
  bool closed = false;
  StreamFramer framer;
  std::array<char, 16384> buffer{};
  std::deque<Out> queue;
  std::size_t queuedBytes = 0;
  Timer idle;     // no traffic either way
  Timer message;  // a message begun but not ended; while connecting, the connect
  Timer stall;    // a write that makes no progress
};


TcpTransport::TcpTransport(asio::io_context& io, Timers& timers, TcpOptions options)
    : io_(io),
      timers_(timers),
      options_(std::move(options)),
      protocol_(options_.tls ? Protocol::Tls : Protocol::Tcp),
      acceptor_(io) {}

TcpTransport::~TcpTransport() { stop(); }

void TcpTransport::start(std::uint16_t port) {
  const auto address = asio::ip::make_address(options_.host);
  const asio::ip::tcp::endpoint at(address, port != 0 ? port : options_.port);
  try {
    acceptor_.open(at.protocol());
    acceptor_.set_option(asio::ip::tcp::acceptor::reuse_address(true));
    acceptor_.bind(at);
    acceptor_.listen();
  } catch (...) {
    asio::error_code ignored;
    acceptor_.close(ignored);
    throw;
  }
  boundPort_ = acceptor_.local_endpoint().port();
  running_ = true;
  accept();
}

void TcpTransport::stop() {
  running_ = false;
  asio::error_code ignored;
  acceptor_.close(ignored);
  std::vector<std::uint64_t> ids;
  for (const auto& [id, c] : connections_) ids.push_back(id);
  for (auto id : ids) close(id, "the gateway stopped");
}

std::string TcpTransport::localHostPort(Protocol) const { return hostPort(options_.host, boundPort_); }

Flow TcpTransport::flowOf(const Connection& c) const {
  return Flow{protocol_, c.remote.address(), c.remote.port(), c.id};
}

void TcpTransport::accept() {
  acceptor_.async_accept([this](const asio::error_code& ec, asio::ip::tcp::socket socket) {
    if (!running_) return;
    if (!ec) {
      asio::error_code remoteError;
      const auto remote = socket.remote_endpoint(remoteError);
      if (remoteError) {
        // it went away already
      } else if (connections_.size() >= options_.maxConnections) {
        DAILY_LOG(Warn, "sip", "refused a " << viaName(protocol_) << " connection from " << remote << ": "
                                             << options_.maxConnections << " connections are open");
      } else {
        auto c = std::make_shared<Connection>(io_, timers_, options_.limits);
        c->socket = std::move(socket);
        c->remote = remote;
        c->connected = !options_.tls;  // a TLS connection is once its handshake is done
        adopt(c);
        DAILY_LOG(Debug, "sip", viaName(protocol_) << " connection " << c->id << " from " << remote);
        if (options_.tls) {
          tune(*c);
          handshake(c);
        } else {
          read(c);
        }
      }
    }
    accept();
  });
}

// Options of a connected socket: no Nagle delay, and TCP_USER_TIMEOUT, so that the kernel gives up on a peer that
// leaves what was sent unacknowledged, or its window shut, for messageTimeout: one that vanished, and one that
// stopped reading while its answers still fit in the kernel's send buffer (where no write of ours could stall).
// The connection's read then fails, and it is closed.
void TcpTransport::tune(Connection& c) {
  asio::error_code ignored;
  c.socket.set_option(asio::ip::tcp::no_delay(true), ignored);
  const unsigned timeout = static_cast<unsigned>(options_.messageTimeout.count());
  ::setsockopt(c.socket.native_handle(), IPPROTO_TCP, TCP_USER_TIMEOUT, &timeout, sizeof timeout);
}

void TcpTransport::adopt(const std::shared_ptr<Connection>& c) {
  c->id = nextId_++;
  connections_[c->id] = c;
  byRemote_[{c->remote.address(), c->remote.port()}] = c->id;
  if (c->connected) tune(*c);
  touch(*c);
}

std::shared_ptr<TcpTransport::Connection> TcpTransport::open(const Flow& to) {
  if (connections_.size() >= options_.maxConnections) return nullptr;
  auto c = std::make_shared<Connection>(io_, timers_, options_.limits);
  c->remote = asio::ip::tcp::endpoint(to.address, to.port);
  c->outgoing = true;
  adopt(c);
  const std::uint64_t id = c->id;
  c->message.start(options_.messageTimeout, [this, id] { close(id, "the connection was not established in time"); });
  c->socket.async_connect(c->remote, [this, weak = std::weak_ptr<Connection>(c)](const asio::error_code& ec) {
    auto c = weak.lock();
    if (!c || c->closed) return;
    if (ec) return close(c->id, "could not connect: " + ec.message());
    tune(*c);
    DAILY_LOG(Debug, "sip", viaName(protocol_) << " connection " << c->id << " to " << c->remote);
    touch(*c);
    if (options_.tls) return handshake(c);
    c->connected = true;
    c->message.cancel();
    read(c);
    flush(c);
  });
  return c;
}

void TcpTransport::handshake(const std::shared_ptr<Connection>& c) {
  c->tls = std::make_unique<asio::ssl::stream<asio::ip::tcp::socket&>>(c->socket, *options_.tls);
  if (c->outgoing && options_.verifyPeers) {
    // The peer is named by its address until the gateway resolves names: its certificate must carry that IP.
    c->tls->set_verify_mode(asio::ssl::verify_peer);
    c->tls->set_verify_callback(asio::ssl::host_name_verification(c->remote.address().to_string()));
  }
  if (!c->message.pending()) {
    const std::uint64_t id = c->id;
    c->message.start(options_.messageTimeout, [this, id] { close(id, "the TLS handshake did not finish in time", true); });
  }
  const auto role = c->outgoing ? asio::ssl::stream_base::client : asio::ssl::stream_base::server;
  c->tls->async_handshake(role, [this, weak = std::weak_ptr<Connection>(c)](const asio::error_code& ec) {
    auto c = weak.lock();
    if (!c || c->closed) return;
    if (ec) {
      DAILY_LOG(Warn, "sip", "TLS handshake with " << c->remote << " failed: " << ec.message());
      return close(c->id, "TLS handshake failed: " + ec.message(), true);
    }
    c->connected = true;
    c->message.cancel();
    touch(*c);
    read(c);
    flush(c);
  });
}

Transport::Written TcpTransport::write(const std::string& wire, const Flow& to, std::string* error, OnError onError) {
  if (!running_) return Written::Closed;
  std::shared_ptr<Connection> c;
  if (auto it = connections_.find(to.connection); to.connection != 0 && it != connections_.end()) c = it->second;
  if (!c) {
    if (auto it = byRemote_.find({to.address, to.port}); it != byRemote_.end()) c = connections_.at(it->second);
  }
  if (!c) c = open(to);
  if (!c) {
    *error = "too many TCP connections are open";
    return Written::Failed;
  }
  enqueue(c, wire, std::move(onError));
  return Written::Sent;
}

void TcpTransport::enqueue(const std::shared_ptr<Connection>& c, std::string wire, OnError onError) {
  c->queuedBytes += wire.size();
  c->queue.push_back({std::move(wire), std::move(onError)});
  if (c->queuedBytes > options_.maxQueuedBytes)
    return close(c->id, "more than " + std::to_string(options_.maxQueuedBytes) + " bytes wait to be written: the "
                        "peer is not reading", true);
  flush(c);
}

void TcpTransport::flush(const std::shared_ptr<Connection>& c) {
  if (!c->connected || c->writing || c->closed || c->queue.empty()) return;
  c->writing = true;
  const std::uint64_t id = c->id;
  c->stall.start(options_.messageTimeout,
                 [this, id] { close(id, "a write made no progress: the peer stopped reading", true); });
  c->withStream([&](auto& stream) {
    asio::async_write(stream, asio::buffer(c->queue.front().wire), [this, c](const asio::error_code& ec, std::size_t) {
      c->writing = false;
      if (c->closed) return;
      c->stall.cancel();
      if (ec) return close(c->id, "write failed: " + ec.message());
      c->queuedBytes -= c->queue.front().wire.size();
      c->queue.pop_front();
      touch(*c);
      flush(c);
    });
  });
}

void TcpTransport::read(const std::shared_ptr<Connection>& c) {
  c->withStream([&](auto& stream) { stream.async_read_some(asio::buffer(c->buffer), [this, c](const asio::error_code& ec, std::size_t n) {
    if (c->closed) return;
    if (ec) return close(c->id, ec == asio::error::eof || ec == asio::ssl::error::stream_truncated ? "closed by the peer" : ec.message());
    c->framer.feed(std::string_view(c->buffer.data(), n));
    touch(*c);
    std::string message;
    for (;;) {
      const auto next = c->framer.next(&message);
      if (next == StreamFramer::Next::Message) {
        c->message.cancel();  // the next one gets its own messageTimeout
        deliver(message, flowOf(*c));
        if (c->closed) return;
        continue;
      }
      if (next == StreamFramer::Next::Ping) {
        enqueue(c, "\r\n", {});  // RFC 5626 4.4.1: the pong
        if (c->closed) return;
        continue;
      }
      if (next == StreamFramer::Next::Error) {
        DAILY_LOG(Warn, "sip", "dropped a " << viaName(protocol_) << " connection from " << c->remote << ": "
                                             << c->framer.error());
        return close(c->id, c->framer.error(), true);
      }
      break;
    }
    if (c->framer.midMessage() && !c->message.pending()) {
      const std::uint64_t id = c->id;
      c->message.start(options_.messageTimeout, [this, id] { close(id, "a message did not arrive whole in time", true); });
    }
    read(c);
  }); });
}

void TcpTransport::touch(Connection& c) {
  const std::uint64_t id = c.id;
  c.idle.start(options_.idleTimeout, [this, id] { close(id, "idle"); });
}

void TcpTransport::close(std::uint64_t id, const std::string& why, bool abort) {
  auto it = connections_.find(id);
  if (it == connections_.end()) return;
  auto c = it->second;  // alive until this returns
  connections_.erase(it);
  if (auto r = byRemote_.find({c->remote.address(), c->remote.port()}); r != byRemote_.end() && r->second == id)
    byRemote_.erase(r);
  c->closed = true;
  asio::error_code ignored;
  if (abort) c->socket.set_option(asio::socket_base::linger(true, 0), ignored);
  else c->socket.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  c->socket.close(ignored);
  c->idle.cancel();
  c->message.cancel();
  c->stall.cancel();
  DAILY_LOG(Info, "sip", viaName(protocol_) << " connection " << id << " with " << c->remote << " closed: " << why);
  // What was never written could not be delivered: its senders hear so now, each from its own handler.
  for (auto& out : c->queue) {
    if (out.onError) asio::post(io_, [onError = std::move(out.onError), why] { onError(why); });
  }
  c->queue.clear();
  c->queuedBytes = 0;
}

}  // namespace daily::devserver::sip
