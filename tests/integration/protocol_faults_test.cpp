// Malformed, oversized and unknown frames in both directions, and a server that misbehaves on purpose.
// Uses websocketpp directly, so this file is C++17 like the library.

#include "common/protocol.hpp"
#include "devserver_fixture.hpp"
#include "events.hpp"
#include "process.hpp"

#include <daily/daily.hpp>

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <websocketpp/client.hpp>
#include <websocketpp/config/asio_no_tls.hpp>
#include <websocketpp/config/asio_no_tls_client.hpp>
#include <websocketpp/server.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace daily::test {
namespace {

using nlohmann::json;
using WsServer = websocketpp::server<websocketpp::config::asio>;
using WsClient = websocketpp::client<websocketpp::config::asio_client>;

CallClientOptions withTimeout(std::chrono::milliseconds timeout) {
  CallClientOptions options;
  options.requestTimeout = timeout;
  return options;
}

// A websocket server whose answers the test scripts: onFrame(server, hdl, decoded request).
class FakeServer {
 public:
  using Script = std::function<void(FakeServer&, websocketpp::connection_hdl, const protocol::Frame&)>;

  explicit FakeServer(Script script) : script_(std::move(script)) {
    ws_.clear_access_channels(websocketpp::log::alevel::all);
    ws_.clear_error_channels(websocketpp::log::elevel::all);
    ws_.init_asio();
    ws_.set_message_handler([this](websocketpp::connection_hdl h, WsServer::message_ptr m) {
      auto f = protocol::decodeFrame(m->get_payload(), nullptr);
      if (f) script_(*this, h, *f);
    });
    ws_.set_close_handler([this](websocketpp::connection_hdl) {
      std::lock_guard<std::mutex> lock(closedMu_);
      closedAt_ = std::chrono::steady_clock::now();
      closedCv_.notify_all();
    });
    ws_.listen(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    ws_.start_accept();
    asio::error_code ec;
    port_ = ws_.get_local_endpoint(ec).port();
    thread_ = std::thread([this] { ws_.run(); });
  }
  ~FakeServer() {
    ws_.stop();
    thread_.join();
  }
  std::string roomUrl() const { return "http://127.0.0.1:" + std::to_string(port_) + "/room"; }
  void send(websocketpp::connection_hdl h, const std::string& text,
            websocketpp::frame::opcode::value op = websocketpp::frame::opcode::text) {
    websocketpp::lib::error_code ec;
    ws_.send(h, text, op, ec);
  }
  // Sends frame(0) … frame(count - 1) from the server's thread, a thousand at a time, each batch queued behind the
  // writes the last one started, then calls done(). So what was sent before goes on the wire first and the flood
  // flows while it is still being queued, instead of waiting, whole, for a loop that takes seconds under TSan.
  void flood(websocketpp::connection_hdl h, int count, std::function<std::string(int)> frame,
             std::function<void()> done, int from = 0) {
    ws_.get_io_service().post([this, h, count, frame, done, from] {
      const int end = std::min(count, from + 1000);
      for (int i = from; i < end; ++i) send(h, frame(i));
      if (end == count) return done();
      flood(h, count, frame, done, end);
    });
  }
  void drop(websocketpp::connection_hdl h) {
    websocketpp::lib::error_code ec;
    ws_.get_con_from_hdl(h)->terminate(ec);
  }
  // Waits (up to timeout) until the client has stopped reading this connection: its kernel's buffer is full, it
  // advertises a zero window, and it still does when the kernel probes it (a client that reads, only slower than
  // the server writes, opens it again first). Returns the bytes the client's kernel has acknowledged by then (what
  // the client took in, whether or not its SDK has read it from the socket yet), or nothing when it kept reading.
  std::optional<std::uint64_t> waitUntilClientStopsReading(websocketpp::connection_hdl h,
                                                           std::chrono::milliseconds timeout) {
    const int fd = ws_.get_con_from_hdl(h)->get_raw_socket().native_handle();
    for (const auto deadline = std::chrono::steady_clock::now() + timeout; std::chrono::steady_clock::now() < deadline;
         std::this_thread::sleep_for(std::chrono::milliseconds(1))) {
      const TcpSendState state = tcpSendState(fd);
      if (state.peerWindow == 0 && state.zeroWindowProbes > 0) return state.bytesAcked;
    }
    return std::nullopt;
  }
  // Waits (up to timeout) until a connection has finished closing (its TCP connection gone); returns when.
  std::optional<std::chrono::steady_clock::time_point> waitClosed(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(closedMu_);
    closedCv_.wait_for(lock, timeout, [this] { return closedAt_.has_value(); });
    return closedAt_;
  }
  static json joinResult(bool owner) {
    return {{"local", {{"session_id", "me"}, {"user_name", "bot"}, {"owner", owner}}},
            {"participants", json::array()}};
  }

 private:
  Script script_;
  std::mutex closedMu_;
  std::condition_variable closedCv_;
  std::optional<std::chrono::steady_clock::time_point> closedAt_;
  WsServer ws_;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

TEST(ProtocolFaults, ARequestInFlightAtADropFailsWithConnectionLostAndIsNeverResent) {
  std::atomic<int> joins{0}, refers{0};
  FakeServer server([&](FakeServer& s, websocketpp::connection_hdl h, const protocol::Frame& f) {
    if (f.method == "join") {
      ++joins;
      return s.send(h, protocol::encodeResult(f.id, FakeServer::joinResult(true)));
    }
    if (f.method != "sipRefer") return;
    if (++refers == 1) return s.drop(h);  // the first never gets an answer: the server goes away instead
    s.send(h, protocol::encodeResult(f.id, json::object()));
  });
  CallClientOptions options = withTimeout(std::chrono::minutes(5));
  options.reconnectDelay = std::chrono::milliseconds(20);
  CallClient client(options);
  EventRecorder events(client);
  await(client.join(JoinOptions{server.roomUrl(), "", ""}));
  auto refer = client.sipRefer({"caller", "sip:support@127.0.0.1"});
  Error e = expectError([&] { await(std::move(refer), 10s); });
  EXPECT_EQ(e.code(), ErrorCode::ConnectionLost);
  auto connected = events.waitFor("network-connection", [](const Event& ev) { return ev.payload["event"] == "connected"; });
  ASSERT_TRUE(connected);
  EXPECT_EQ(connected->payload["type"], "signaling");
  EXPECT_EQ(client.meetingState(), "joined-meeting");
  // A ping through the new connection proves everything sent before it has arrived: the refer was not re-sent.
  await(client.sipRefer({"other", "sip:support@127.0.0.1"}));
  EXPECT_EQ(refers.load(), 2);  // the first (dropped) and the new one; never the first again
  EXPECT_EQ(joins.load(), 2);
}

TEST(ProtocolFaults, AServerThatNeverAnswersTimesOut) {
  FakeServer server([](FakeServer&, websocketpp::connection_hdl, const protocol::Frame&) {});
  CallClient client(withTimeout(std::chrono::milliseconds(300)));
  Error e = expectError([&] { await(client.join(JoinOptions{server.roomUrl(), "", ""})); });
  EXPECT_EQ(e.code(), ErrorCode::Timeout);
}

TEST(ProtocolFaults, AMalformedJoinAnswerIsServerError) {
  FakeServer server([](FakeServer& s, websocketpp::connection_hdl h, const protocol::Frame& f) {
    s.send(h, protocol::encodeResult(f.id, {{"local", "not an object"}}));
  });
  CallClient client;
  Error e = expectError([&] { await(client.join(JoinOptions{server.roomUrl(), "", ""})); });
  EXPECT_EQ(e.code(), ErrorCode::ServerError);
}

TEST(ProtocolFaults, MalformedFramesFromTheServerAreDroppedAndTheClientCarriesOn) {
  FakeServer server([](FakeServer& s, websocketpp::connection_hdl h, const protocol::Frame& f) {
    if (f.method != "join") return;
    s.send(h, "not json");
    s.send(h, "\x01\x02\x03", websocketpp::frame::opcode::binary);
    s.send(h, R"({"v":99,"type":"event","action":"participant-joined","payload":{}})");
    s.send(h, R"({"v":1,"type":"response","id":424242,"result":{}})");  // nobody asked
    s.send(h, R"({"v":1,"type":"request","id":1,"method":"evil"})");
    s.send(h, std::string(protocol::kMaxServerFrameBytes + 1, ' '));  // over the limit: the client closes the connection
  });
  CallClient client;
  EventRecorder events(client);
  Error e = expectError([&] { await(client.join(JoinOptions{server.roomUrl(), "", ""})); });
  EXPECT_EQ(e.code(), ErrorCode::ConnectionLost);  // the oversized frame ends the connection, nothing else does
}

TEST(ProtocolFaults, InvalidEventsAreRejectedAndValidOnesStillArrive) {
  FakeServer server([](FakeServer& s, websocketpp::connection_hdl h, const protocol::Frame& f) {
    if (f.method != "join") return;
    s.send(h, protocol::encodeResult(f.id, FakeServer::joinResult(false)));
    s.send(h, protocol::encodeEvent("participant-joined", {{"participant", "nope"}}));
    s.send(h, protocol::encodeEvent("participant-joined", {{"participant", {{"session_id", 5}}}}));
    s.send(h, protocol::encodeEvent("participant-left", json::object()));
    s.send(h, protocol::encodeEvent("participant-joined", {{"participant", {{"session_id", "good"}}}}));
  });
  CallClient client;
  EventRecorder events(client);
  await(client.join(JoinOptions{server.roomUrl(), "", ""}));
  auto joined = events.waitFor("participant-joined");
  ASSERT_TRUE(joined);
  EXPECT_EQ(joined->payload["participant"]["session_id"], "good");
  EXPECT_EQ(client.participants().size(), 2u);
  EXPECT_FALSE(events.seen("participant-left"));
}

// Responses are completed on the network thread, never queued behind handlers: a handler may wait on one, even
// for a response written in another key order, beginning as events begin.
TEST(ProtocolFaults, AResponseThatBeginsLikeAnEventStillResolvesAFutureAHandlerWaitsOn) {
  FakeServer server([](FakeServer& s, websocketpp::connection_hdl h, const protocol::Frame& f) {
    if (f.method == "join") {
      s.send(h, protocol::encodeResult(f.id, FakeServer::joinResult(true)));
      return s.send(h, protocol::encodeEvent("participant-joined", {{"participant", {{"session_id", "caller"}}}}));
    }
    if (f.method == "sipRefer")
      s.send(h, R"({"action":"ignored","id":)" + std::to_string(f.id) + R"(,"result":{},"type":"response","v":1})");
  });
  CallClient client(withTimeout(std::chrono::seconds(30)));
  std::promise<std::future_status> inHandler;
  client.once("participant-joined", [&](const Event&) {
    auto refer = client.sipRefer({"caller", "sip:agent@127.0.0.1"});
    inHandler.set_value(refer.wait_for(std::chrono::seconds(5)));
  });
  await(client.join(JoinOptions{server.roomUrl(), "", ""}));
  auto status = inHandler.get_future();
  ASSERT_EQ(status.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(status.get(), std::future_status::ready) << "the answer waited behind the handler waiting for it";
}

// Flow control: while a handler holds the dispatcher, the client stops reading once its backlog passes a bound,
// and TCP holds the rest of a flood in the server. A handler that then sends a request and waits for the answer
// (which the server queued behind the flood) still gets it, and every event is delivered, once, in order.
TEST(ProtocolFaults, AFloodWaitsInTheServerWhileAHandlerIsBusyAndAnAnswerStillGetsThrough) {
  constexpr int kEvents = 100000;  // about 13 MB of frames
  std::promise<websocketpp::connection_hdl> flooded;
  std::atomic<std::uint64_t> floodBytes{0};
  std::atomic<bool> joined{false};
  FakeServer server([&](FakeServer& s, websocketpp::connection_hdl h, const protocol::Frame& f) {
    if (f.method == "sipRefer") return s.send(h, protocol::encodeResult(f.id, json::object()));
    if (f.method != "join" || joined.exchange(true)) return;  // (a rejoin would be a failure of its own)
    s.send(h, protocol::encodeResult(f.id, FakeServer::joinResult(true)));
    s.flood(
        h, kEvents,
        [&](int i) {
          std::string frame = protocol::encodeEvent(
              "participant-updated", {{"participant", {{"session_id", "p"}, {"user_name", "flood"}, {"seq", i}}}});
          floodBytes += frame.size();
          return frame;
        },
        [&, h] { flooded.set_value(h); });
  });
  std::promise<void> handlerBusy, go, allDelivered;
  auto goAhead = go.get_future().share();
  std::promise<std::future_status> answered;
  int next = 0;  // (the dispatcher thread's)
  std::atomic<int> outOfOrder{0};
  CallClient client(withTimeout(std::chrono::seconds(90)));  // (after what its handler uses, destroyed before it)
  struct Release {  // a failed assertion still lets the handler go before the client is destroyed
    std::promise<void>& go;
    bool done = false;
    ~Release() {
      if (!done) go.set_value();
    }
  } release{go};
  client.on("participant-updated", [&](const Event& e) {
    if (e.payload["participant"]["seq"] != next) ++outOfOrder;
    if (++next == 1) {
      handlerBusy.set_value();
      goAhead.wait();
      auto refer = client.sipRefer({"p", "sip:agent@127.0.0.1"});  // its answer is behind the rest of the flood
      answered.set_value(refer.wait_for(std::chrono::seconds(60)));
    }
    if (next == kEvents) allDelivered.set_value();
  });
  await(client.join(JoinOptions{server.roomUrl(), "", ""}));
  ASSERT_EQ(handlerBusy.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  auto hdl = flooded.get_future();
  ASSERT_EQ(hdl.wait_for(std::chrono::seconds(60)), std::future_status::ready);
  const auto h = hdl.get();
  // The client stops taking in well short of the flood (without flow control it takes it all and never stops).
  const std::optional<std::uint64_t> acked = server.waitUntilClientStopsReading(h, 10s);
  EXPECT_TRUE(acked) << "the client kept reading while its handler was busy";
  EXPECT_LT(acked.value_or(floodBytes.load()), floodBytes.load() / 2) << "the client read the whole flood";
  go.set_value();
  release.done = true;
  auto status = answered.get_future();
  ASSERT_EQ(status.wait_for(std::chrono::seconds(70)), std::future_status::ready);
  EXPECT_EQ(status.get(), std::future_status::ready) << "the answer stayed behind a paused socket";
  ASSERT_EQ(allDelivered.get_future().wait_for(std::chrono::seconds(60)), std::future_status::ready);
  EXPECT_EQ(outOfOrder.load(), 0);
}

// A client destroyed while its reading is paused still ends the close handshake at once: it reads again, through
// what the server had queued, to the server's close frame, instead of waiting out the 5 s handshake timeout.
TEST(ProtocolFaults, AClientDestroyedWhileItsReadingIsPausedClosesAtOnce) {
  constexpr int kEvents = 50000;
  std::promise<websocketpp::connection_hdl> flooded;
  std::promise<void> left;
  FakeServer server([&](FakeServer& s, websocketpp::connection_hdl h, const protocol::Frame& f) {
    if (f.method == "leave") return left.set_value();
    if (f.method != "join") return;
    s.send(h, protocol::encodeResult(f.id, FakeServer::joinResult(true)));
    s.flood(
        h, kEvents,
        [](int i) {
          return protocol::encodeEvent("participant-updated", {{"participant", {{"session_id", "p"}, {"seq", i}}}});
        },
        [&, h] { flooded.set_value(h); });
  });
  std::promise<void> handlerBusy, go;
  auto goAhead = go.get_future().share();
  auto client = std::make_unique<CallClient>();
  client->once("participant-updated", [&](const Event&) {
    handlerBusy.set_value();
    goAhead.wait();
  });
  await(client->join(JoinOptions{server.roomUrl(), "", ""}));
  auto busy = handlerBusy.get_future();
  auto hdl = flooded.get_future();
  const bool ready = busy.wait_for(10s) == std::future_status::ready && hdl.wait_for(30s) == std::future_status::ready;
  if (!ready) go.set_value();
  ASSERT_TRUE(ready);
  const auto h = hdl.get();
  ASSERT_TRUE(server.waitUntilClientStopsReading(h, 10s)) << "its reading never paused";
  // The handler is let go once the destructor (which waits for it) has begun: the server has its leave, sent
  // after the client stopped delivering and before it closes the connection.
  std::thread releaser([&] {
    left.get_future().wait_for(10s);
    go.set_value();
  });
  const auto start = std::chrono::steady_clock::now();
  client.reset();
  releaser.join();
  const auto closed = server.waitClosed(10s);
  ASSERT_TRUE(closed);
  EXPECT_LT(std::chrono::duration_cast<std::chrono::milliseconds>(*closed - start).count(), 3000)
      << "ms: the close handshake waited for its timeout";
}

// Events are parsed and applied on the dispatcher thread, which a handler can keep busy; a response still
// applies every event the server sent before it, first, so a resolved future never sees an older participants().
TEST(ProtocolFaults, AResolvedFutureSeesEveryEventTheServerSentBeforeItsAnswer) {
  constexpr int kJoiners = 50;
  FakeServer server([](FakeServer& s, websocketpp::connection_hdl h, const protocol::Frame& f) {
    if (f.method == "join") {
      s.send(h, protocol::encodeResult(f.id, FakeServer::joinResult(true)));
      return s.send(h, protocol::encodeEvent("participant-joined", {{"participant", {{"session_id", "first"}}}}));
    }
    if (f.method != "sipRefer") return;
    for (int i = 0; i < kJoiners; ++i)
      s.send(h, protocol::encodeEvent("participant-joined", {{"participant", {{"session_id", "p" + std::to_string(i)}}}}));
    s.send(h, protocol::encodeResult(f.id, json::object()));
  });
  CallClient client(withTimeout(std::chrono::seconds(30)));
  std::promise<void> handlerBusy, release, allDelivered;
  auto released = release.get_future().share();
  std::atomic<int> delivered{0};
  std::mutex mu;
  std::vector<std::string> order;
  client.on("participant-joined", [&](const Event& e) {
    {
      std::lock_guard<std::mutex> lock(mu);
      order.push_back(e.payload["participant"]["session_id"].get<std::string>());
    }
    const int n = ++delivered;
    if (n == 1) {
      handlerBusy.set_value();
      released.wait();  // holds the dispatcher: nothing queued behind this handler is parsed or applied meanwhile
    }
    if (n == 1 + kJoiners) allDelivered.set_value();
  });
  await(client.join(JoinOptions{server.roomUrl(), "", ""}));
  ASSERT_EQ(handlerBusy.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  await(client.sipRefer({"first", "sip:agent@127.0.0.1"}));
  EXPECT_EQ(client.participants().size(), 2u + kJoiners) << "the answer overtook the events sent before it";
  EXPECT_EQ(delivered.load(), 1);  // the handler is still busy with the first one
  release.set_value();
  // ... and every event is still delivered, once, in order, after it.
  ASSERT_EQ(allDelivered.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(delivered.load(), 1 + kJoiners);
  std::vector<std::string> expected{"first"};
  for (int i = 0; i < kJoiners; ++i) expected.push_back("p" + std::to_string(i));
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(order, expected);
}

// A raw websocket client talking to the real devserver.
class RawClient {
 public:
  explicit RawClient(const std::string& url) {
    ws_.clear_access_channels(websocketpp::log::alevel::all);
    ws_.clear_error_channels(websocketpp::log::elevel::all);
    ws_.init_asio();
    ws_.set_message_handler([this](websocketpp::connection_hdl, WsClient::message_ptr m) {
      json frame = json::parse(m->get_payload(), nullptr, false);  // once, here, and outside the lock
      std::lock_guard<std::mutex> lock(mu_);
      frames_.push_back(std::move(frame));
      cv_.notify_all();
    });
    ws_.set_close_handler([this](websocketpp::connection_hdl h) {
      std::lock_guard<std::mutex> lock(mu_);
      closeCode_ = ws_.get_con_from_hdl(h)->get_remote_close_code();
      closed_ = true;
      cv_.notify_all();
    });
    ws_.set_open_handler([this](websocketpp::connection_hdl) {
      std::lock_guard<std::mutex> lock(mu_);
      open_ = true;
      cv_.notify_all();
    });
    websocketpp::lib::error_code ec;
    con_ = ws_.get_connection(url, ec);
    ws_.connect(con_);
    thread_ = std::thread([this] { ws_.run(); });
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, 5s, [&] { return open_ || closed_; });
  }
  ~RawClient() {
    // Not con_->terminate() from here: a connection belongs to its io thread (TSan caught the race). Stopping the
    // io loop is thread-safe; the socket closes when the connection is destroyed.
    ws_.stop();
    thread_.join();
  }
  void send(const std::string& text) { con_->send(text, websocketpp::frame::opcode::text); }
  std::optional<json> waitFrame(const std::function<bool(const json&)>& pred,
                                std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    // Each frame is looked at once per call, not again at every wake-up: a flood of thousands of answers made
    // this quadratic, slow enough under TSan to miss its timeout when the machine was slow.
    std::unique_lock<std::mutex> lock(mu_);
    std::optional<json> found;
    std::size_t next = 0;
    cv_.wait_for(lock, timeout, [&] {
      for (; next < frames_.size(); ++next) {
        if (!frames_[next].is_discarded() && pred(frames_[next])) {
          found = frames_[next];
          return true;
        }
      }
      return false;
    });
    return found;
  }
  bool waitClosed() {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, 5s, [&] { return closed_; });
  }
  int closeCode() const { return closeCode_; }

 private:
  WsClient ws_;
  WsClient::connection_ptr con_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<json> frames_;  // as parsed; a frame that is not JSON is kept as a discarded value
  bool open_ = false;
  bool closed_ = false;
  int closeCode_ = 0;
};

TEST(ProtocolFaults, TheDevserverAnswersBadFramesAndKeepsServing) {
  InProcessServer server;
  const json room = server.createRoom({{"name", "robust"}});
  const std::string wsUrl = "ws" + server.httpUrl().substr(4) + "/ws";
  {
    RawClient raw(wsUrl);
    raw.send("not json");
    EXPECT_TRUE(raw.waitFrame([](const json& j) { return j.value("action", "") == "nonfatal-error"; }));
    raw.send(R"({"v":1,"type":"request","id":5,"method":"launchMissiles"})");
    auto unknown = raw.waitFrame([](const json& j) { return j.value("id", 0) == 5; });
    ASSERT_TRUE(unknown);
    EXPECT_EQ((*unknown)["error"]["code"], "invalid-argument");
    raw.send(R"({"v":1,"type":"request","id":6,"method":"sipRefer","params":{"sessionId":"x","toEndPoint":"sip:a@b"}})");
    auto notJoined = raw.waitFrame([](const json& j) { return j.value("id", 0) == 6; });
    ASSERT_TRUE(notJoined);
    EXPECT_EQ((*notJoined)["error"]["code"], "not-joined");
    raw.send(R"({"v":1,"type":"request","id":7,"method":"join","params":{"room":42}})");
    auto badJoin = raw.waitFrame([](const json& j) { return j.value("id", 0) == 7; });
    ASSERT_TRUE(badJoin);
    EXPECT_EQ((*badJoin)["error"]["code"], "invalid-argument");
    raw.send(R"({"v":1,"type":"event","action":"participant-joined","payload":{}})");  // clients send requests only
    raw.send(std::string(200, '[') + std::string(200, ']'));
  }
  {
    RawClient raw(wsUrl);
    raw.send(std::string(protocol::kMaxFrameBytes + 10, 'x'));
    EXPECT_TRUE(raw.waitClosed());
    EXPECT_EQ(raw.closeCode(), websocketpp::close::status::message_too_big);
  }
  {
    RawClient raw(wsUrl);
    for (int i = 0; i < 12; ++i) raw.send("{");
    EXPECT_TRUE(raw.waitClosed());
    EXPECT_EQ(raw.closeCode(), websocketpp::close::status::policy_violation);
  }
  CallClient client;
  EXPECT_NO_THROW(await(client.join({room["url"].get<std::string>(), "", "after the abuse"})));
}

TEST(ProtocolFaults, TheDevserverChecksTelephonyPermissionsItselfAndNeverTrustsTheClient) {
  InProcessServer server;
  const json room = server.createRoom({{"name", "guarded"}, {"properties", {{"sip", {{"sip_mode", "dial-in"}}}}}});
  RawClient raw("ws" + server.httpUrl().substr(4) + "/ws");
  // A hand-written client that skips libdaily's checks: joined without a token, so neither owner nor admin.
  raw.send(protocol::encodeRequest(1, "join", {{"room", "guarded"}, {"userName", "mallory"}}));
  auto joined = raw.waitFrame([](const json& j) { return j.value("id", 0) == 1; });
  ASSERT_TRUE(joined);
  EXPECT_EQ((*joined)["result"]["local"]["owner"], false);
  const std::pair<const char*, json> attempts[] = {
      {"sipRefer", {{"sessionId", "x"}, {"toEndPoint", "sip:a@127.0.0.1"}}},
      {"sipCallTransfer", {{"sessionId", "x"}, {"toEndPoint", "sip:a@127.0.0.1"}}},
      {"startDialOut", {{"sipUri", "sip:a@127.0.0.1"}}},
      {"stopDialOut", {{"sessionId", "x"}}},
      {"sendDTMF", {{"sessionId", "x"}, {"tones", "1"}}},
      {"updateParticipants", {{"updates", {{"x", {{"eject", true}}}}}}},
  };
  std::uint64_t id = 10;
  for (const auto& [method, params] : attempts) {
    raw.send(protocol::encodeRequest(++id, method, params));
    auto answer = raw.waitFrame([&](const json& j) { return j.value("id", std::uint64_t{0}) == id; });
    ASSERT_TRUE(answer) << method;
    EXPECT_EQ((*answer)["error"]["code"], "permission-denied") << method;
  }
  // Claiming ownership in the join parameters changes nothing: only a verified token can.
  RawClient liar("ws" + server.httpUrl().substr(4) + "/ws");
  liar.send(protocol::encodeRequest(1, "join", {{"room", "guarded"}, {"owner", true}, {"isOwner", true}}));
  auto lied = liar.waitFrame([](const json& j) { return j.value("id", 0) == 1; });
  ASSERT_TRUE(lied);
  EXPECT_EQ((*lied)["result"]["local"]["owner"], false);
}

// sendAppMessage as a hand-written client sends it: the server checks the size, the data and the recipients itself,
// and stamps fromId with the sender's own session (a claimed fromId is not believed).
TEST(ProtocolFaults, TheDevserverChecksAppMessagesItself) {
  InProcessServer server;
  server.createRoom({{"name", "chat"}});
  RawClient raw("ws" + server.httpUrl().substr(4) + "/ws");
  RawClient peer("ws" + server.httpUrl().substr(4) + "/ws");
  peer.send(protocol::encodeRequest(1, "join", {{"room", "chat"}}));
  ASSERT_TRUE(peer.waitFrame([](const json& j) { return j.value("id", 0) == 1; }));
  raw.send(protocol::encodeRequest(2, "sendAppMessage", {{"data", 1}}));
  auto early = raw.waitFrame([](const json& j) { return j.value("id", 0) == 2; });
  ASSERT_TRUE(early);
  EXPECT_EQ((*early)["error"]["code"], "not-joined");
  raw.send(protocol::encodeRequest(3, "join", {{"room", "chat"}}));
  auto joined = raw.waitFrame([](const json& j) { return j.value("id", 0) == 3; });
  ASSERT_TRUE(joined);
  const std::string self = (*joined)["result"]["local"]["session_id"];
  const std::pair<int, json> refused[] = {
      {4, {{"to", "*"}}},                                          // no data
      {5, {{"data", std::string(5000, 'x')}}},                    // over 4 KB
      {6, {{"data", 1}, {"to", json::array({"ok", 7})}}},         // a recipient that is not a session id
      {7, {{"data", 1}, {"to", ""}}},
  };
  for (const auto& [id, params] : refused) {
    raw.send(protocol::encodeRequest(id, "sendAppMessage", params));
    auto answer = raw.waitFrame([id = id](const json& j) { return j.value("id", 0) == id; });
    ASSERT_TRUE(answer) << params.dump();
    EXPECT_EQ((*answer)["error"]["code"], "invalid-argument") << params.dump();
  }
  raw.send(protocol::encodeRequest(8, "sendAppMessage", {{"data", {{"n", 8}}}, {"fromId", "somebody-else"}}));
  auto message = peer.waitFrame([](const json& j) { return j.value("action", "") == "app-message"; });
  ASSERT_TRUE(message);
  EXPECT_EQ((*message)["payload"]["fromId"], self);
  EXPECT_EQ((*message)["payload"]["data"], json({{"n", 8}}));
}

TEST(ProtocolFaults, AnOwnerStillCannotInjectSipHeadersPastTheServer) {
  InProcessServer server;
  server.createRoom({{"name", "guarded"}});
  RawClient raw("ws" + server.httpUrl().substr(4) + "/ws");
  raw.send(protocol::encodeRequest(1, "join", {{"room", "guarded"}, {"token", server.token({{"is_owner", true}})}}));
  ASSERT_TRUE(raw.waitFrame([](const json& j) { return j.value("id", 0) == 1; }));
  const json attempts[] = {
      {{"sessionId", "x"}, {"toEndPoint", "sip:a@127.0.0.1\r\nVia: evil"}},
      {{"sessionId", "x"}, {"toEndPoint", "sip:a@127.0.0.1>"}},
      {{"sessionId", "x"}, {"toEndPoint", 42}},
      {{"sessionId", "x"}, {"toEndPoint", "sip:a@127.0.0.1"}, {"sipHeaders", {{"X-A", "1\r\nVia: evil"}}}},
      {{"sessionId", "x"}, {"toEndPoint", "sip:a@127.0.0.1"}, {"sipHeaders", {{"Refer-To", "<sip:b@c>"}}}},
      {{"sessionId", "x"}, {"toEndPoint", "sip:a@127.0.0.1"}, {"sipHeaders", {{"X-A", 1}}}},
  };
  std::uint64_t id = 1;
  for (const auto& params : attempts) {
    raw.send(protocol::encodeRequest(++id, "sipRefer", params));
    auto answer = raw.waitFrame([&](const json& j) { return j.value("id", std::uint64_t{0}) == id; });
    ASSERT_TRUE(answer) << params.dump();
    EXPECT_EQ((*answer)["error"]["code"], "invalid-argument") << params.dump();
  }
}


TEST(ProtocolFaults, AFloodOfJoinsFromOneClientIsAnsweredAndChangesNothing) {
  InProcessServer server;
  const json room = server.createRoom({{"name", "flooded"}});
  RawClient raw("ws" + server.httpUrl().substr(4) + "/ws");
  constexpr int kJoins = 5000;
  for (int i = 1; i <= kJoins; ++i)
    raw.send(protocol::encodeRequest(static_cast<std::uint64_t>(i), "join", {{"room", "flooded"}, {"userName", "flood"}}));
  // Every request is answered, in order: the first joins, every other one is refused.
  auto last = raw.waitFrame([](const json& j) { return j.value("id", 0) == kJoins; }, 30s);
  ASSERT_TRUE(last);
  EXPECT_EQ((*last)["error"]["code"], "invalid-argument");
  auto first = raw.waitFrame([](const json& j) { return j.value("id", 0) == 1; });
  ASSERT_TRUE(first);
  EXPECT_TRUE(first->contains("result"));
  // The room holds one participant for the flooding connection, and a newcomer is served at once.
  CallClient newcomer;
  const json joined = await(newcomer.join({room["url"].get<std::string>(), "", "newcomer"}));
  EXPECT_EQ(joined.size(), 2u);
  EXPECT_EQ(server.rest("GET", "/v1/rooms/flooded/presence").body["total_count"], 2);
}

// A websocket server written by hand, to misbehave below websocketpp's level: it answers the handshake and the
// join, then answers the next request with the first bytes of a frame and closes the TCP connection.
class MidFrameServer {
 public:
  MidFrameServer() : acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { serve(); });
  }
  ~MidFrameServer() { thread_.join(); }
  std::string roomUrl() const { return "http://127.0.0.1:" + std::to_string(port_) + "/room"; }

 private:
  static std::string acceptKey(const std::string& key) {
    const std::string magic = key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(magic.data()), magic.size(), digest);
    std::string out(32, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), digest, SHA_DIGEST_LENGTH);
    out.resize(static_cast<std::size_t>(n));
    return out;
  }

  // One client frame (masked, as clients must send them), unmasked.
  std::string readFrame(asio::ip::tcp::socket& s) {
    unsigned char head[2];
    asio::read(s, asio::buffer(head));
    std::uint64_t length = head[1] & 0x7f;
    if (length == 126) {
      unsigned char ext[2];
      asio::read(s, asio::buffer(ext));
      length = (ext[0] << 8) | ext[1];
    } else if (length == 127) {
      unsigned char ext[8];
      asio::read(s, asio::buffer(ext));
      length = 0;
      for (unsigned char b : ext) length = (length << 8) | b;
    }
    unsigned char mask[4];
    asio::read(s, asio::buffer(mask));
    std::string payload(length, '\0');
    asio::read(s, asio::buffer(payload));
    for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(payload[i] ^ mask[i % 4]);
    return payload;
  }

  static std::string textFrame(const std::string& payload) {
    std::string frame{'\x81'};
    if (payload.size() < 126) {
      frame += static_cast<char>(payload.size());
    } else {
      frame += static_cast<char>(126);
      frame += static_cast<char>((payload.size() >> 8) & 0xff);
      frame += static_cast<char>(payload.size() & 0xff);
    }
    return frame + payload;
  }

  void serve() {
    asio::ip::tcp::socket s(io_);
    acceptor_.accept(s);
    asio::streambuf request;
    asio::read_until(s, request, "\r\n\r\n");
    std::string headers(asio::buffers_begin(request.data()), asio::buffers_end(request.data()));
    const std::size_t at = headers.find("Sec-WebSocket-Key: ");
    const std::string key = headers.substr(at + 19, headers.find("\r\n", at) - at - 19);
    asio::write(s, asio::buffer("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                "Sec-WebSocket-Accept: " + acceptKey(key) + "\r\n\r\n"));
    auto join = protocol::decodeFrame(readFrame(s), nullptr);
    asio::write(s, asio::buffer(textFrame(protocol::encodeResult(join->id, FakeServer::joinResult(true)))));
    auto next = protocol::decodeFrame(readFrame(s), nullptr);
    const std::string answer = textFrame(protocol::encodeResult(next->id, json::object()));
    asio::write(s, asio::buffer(answer.substr(0, answer.size() / 2)));  // half a frame...
    s.close();                                                           // ... and the connection is gone
  }

  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

TEST(ProtocolFaults, AConnectionClosedMidFrameFailsThePendingRequestWithConnectionLost) {
  MidFrameServer server;
  CallClientOptions options;
  options.reconnect = false;  // nothing to reconnect to: the server served one connection
  CallClient client(options);
  EventRecorder events(client);
  await(client.join(JoinOptions{server.roomUrl(), "", ""}));
  Error e = expectError([&] { await(client.sipRefer({"caller", "sip:support@127.0.0.1"}), 10s); });
  EXPECT_EQ(e.code(), ErrorCode::ConnectionLost) << e.what();
  EXPECT_TRUE(events.waitFor("error"));
  EXPECT_EQ(client.meetingState(), "error");
}

}  // namespace
}  // namespace daily::test
