#include <daily/call_client.hpp>
#include <daily/sip_uri.hpp>

#include "common/log.hpp"
#include "audio_source.hpp"
#include "common/protocol.hpp"
#include "media_thread.hpp"
#include "runtime.hpp"
#include "signaling_connection.hpp"

#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <unordered_set>

namespace daily {
namespace {

using nlohmann::json;
using detail::Runtime;

// The names on() takes: daily-js 0.92.2's DailyEvent union, in its order (tests/reference/daily-js-0.92.2.d.ts;
// DailyJsConformance.* checks this list against it), then dtmf-event (0.92.2 emits it, its union forgot it),
// then ours. Which of them the SDK ever delivers is in docs/protocol.md ("Event names").
constexpr std::string_view kKnownEvents[] = {
    "loading", "load-attempt-failed", "loaded", "started-camera", "camera-error", "joining-meeting",
    "joined-meeting", "left-meeting", "call-instance-destroyed", "participant-joined", "participant-updated",
    "participant-left", "participant-counts-updated", "track-started", "track-stopped", "recording-started",
    "recording-stopped", "recording-stats", "recording-error", "recording-upload-completed", "recording-data",
    "transcription-started", "transcription-stopped", "transcription-error", "app-message",
    "transcription-message", "local-screen-share-started", "local-screen-share-stopped",
    "local-screen-share-canceled", "active-speaker-change", "active-speaker-mode-change", "network-quality-change",
    "network-connection", "test-completed", "cpu-load-change", "face-counts-updated", "fullscreen",
    "exited-fullscreen", "error", "nonfatal-error", "click", "mousedown", "mouseup", "mouseover", "mousemove",
    "touchstart", "touchmove", "touchend", "live-streaming-started", "live-streaming-updated",
    "live-streaming-stopped", "live-streaming-error", "lang-updated", "remote-media-player-started",
    "remote-media-player-stopped", "remote-media-player-updated", "access-state-updated",
    "meeting-session-updated", "meeting-session-summary-updated", "meeting-session-state-updated",
    "waiting-participant-added", "waiting-participant-updated", "waiting-participant-removed", "theme-updated",
    "available-devices-updated", "receive-settings-updated", "input-settings-updated", "send-settings-updated",
    "local-audio-level", "remote-participants-audio-level", "show-local-video-changed", "selected-devices-updated",
    "custom-button-click", "sidebar-view-changed", "pip-started", "pip-stopped", "dialin-connected",
    "dialin-ready", "dialin-error", "dialin-stopped", "dialin-warning", "dialout-connected", "dialout-answered",
    "dialout-error", "dialout-stopped", "dialout-warning",
    "dtmf-event",
    "*", "sip-refer-progress", "sip-call-transfer-progress", "sip-inbound-refer-progress"};

bool isKnownEvent(std::string_view name) {
  static const std::unordered_set<std::string_view> known(std::begin(kKnownEvents), std::end(kKnownEvents));
  return known.count(name) != 0;
}

std::string nextCallClientId() {
  static std::atomic<std::uint64_t> counter{0};
  return "daily-cpp-" + std::to_string(++counter);
}

// Why value cannot be sent as what (empty when it can): over limit bytes as JSON, or not JSON at all.
std::string jsonSizeProblem(const json& value, std::size_t limit, const std::string& what) {
  try {
    if (value.dump().size() > limit) return what + " is over the " + std::to_string(limit / 1024) + " KB limit";
  } catch (const json::exception&) {
    return what + " cannot be sent as JSON (a string in it is not UTF-8)";
  }
  return {};
}

std::string userDataProblem(const json& userData) {
  return jsonSizeProblem(userData, protocol::kMaxUserDataBytes, "userData");
}

bool isOwnerOrAdmin(const json& participant) {
  if (participant.value("owner", false)) return true;
  auto perms = participant.find("permissions");
  if (perms == participant.end() || !perms->is_object()) return false;
  auto admin = perms->find("canAdmin");
  if (admin == perms->end()) return false;
  if (admin->is_boolean()) return admin->get<bool>();
  return admin->is_array() && !admin->empty();
}

// A participant object from the server: must be an object with a non-empty string session_id.
bool isParticipant(const json& p) {
  if (!p.is_object()) return false;
  auto id = p.find("session_id");
  return id != p.end() && id->is_string() && !id->get_ref<const std::string&>().empty();
}

template <class T>
std::future<T> failed(ErrorCode code, const std::string& message) {
  std::promise<T> p;
  p.set_exception(std::make_exception_ptr(Error(code, message)));
  return p.get_future();
}

}  // namespace

struct CallClient::Impl : std::enable_shared_from_this<Impl> {
  // Completes one request: exactly one of result / error is non-null.
  using Completion = std::function<void(const json* result, const Error* error)>;
  struct Pending {
    Completion complete;
    std::string method;
    std::chrono::steady_clock::time_point deadline;
  };
  struct Listener {
    std::string event;
    std::shared_ptr<const std::function<void(const Event&)>> handler;  // shared: delivery copies a pointer, not the closure
    bool once = false;
  };
  // Reconnecting: joined, but the connection dropped and the client is joining again (reported as joined).
  enum class State { New, Joining, Joined, Reconnecting, Left, Error };

  explicit Impl(CallClientOptions o) : options(std::move(o)), callClientId(nextCallClientId()) {}

  const CallClientOptions options;
  const std::string callClientId;
  std::atomic<bool> closed{false};  // set by ~CallClient: no handler starts afterwards

  mutable std::mutex mu;
  State state = State::New;
  std::shared_ptr<detail::SignalingConnection> conn;
  std::uint64_t connGeneration = 0;  // callbacks of an older connection are ignored
  std::uint64_t nextRequestId = 1;
  std::map<std::uint64_t, Pending> pending;
  json local;                                // our participant object, as the server sent it
  // session_id -> participant object. Immutable and shared: an event's participant is kept as it was delivered,
  // not copied (an update replaces the pointer).
  std::map<std::string, std::shared_ptr<const json>> remotes;
  std::size_t hiddenRemotes = 0;  // how many of remotes are hidden (isHidden): changed only with remotes
  std::map<ListenerId, Listener> listeners;

  // What the dispatcher thread will deliver for this client, in the order it is to be delivered: event frames from
  // the server as received (onMessage), parsed and applied just before delivery, and events the client raised
  // itself (emit), applied already. One dispatcher task at a time works through it (runInbox).
  struct Inbound {
    std::uint64_t generation = 0;
    std::string text;                    // an event frame from the server, until it is applied
    bool applied = false;                // then event is what to deliver (null: nothing)
    std::shared_ptr<const Event> event;
  };
  static constexpr int kInboxBatch = 64;  // deliveries per dispatcher task: other clients' events are not held up
  std::mutex applyMu;  // held while a queued frame is applied: one at a time, in order. Taken before inboxMu or mu.
  std::mutex inboxMu;  // guards inbox and inboxScheduled; a leaf: nothing else is locked while it is held
  std::deque<Inbound> inbox;
  bool inboxScheduled = false;  // a runInbox task is queued or running
  // Flow control: past kInboxHighWater queued items the network thread stops reading this client's socket (TCP
  // then holds the server back) until the dispatcher is down to kInboxLowWater. Never while a request waits for
  // its answer, so a handler that waits on a future cannot stall its own answer.
  static constexpr std::size_t kInboxHighWater = 1024;
  static constexpr std::size_t kInboxLowWater = 256;
  std::atomic<bool> readingPaused{false};
  ListenerId nextListenerId = 1;
  std::shared_ptr<std::promise<json>> joinPromise;  // join() in progress
  std::shared_ptr<std::promise<void>> leaving;       // leave() in progress
  std::vector<std::shared_ptr<std::promise<void>>> alsoLeaving;  // leave() again meanwhile: resolved with it
  std::unique_ptr<asio::steady_timer> sweeper;       // network thread only: fails requests past their deadline
  bool sweeping = false;
  // Audio (docs/protocol.md, "Audio"). Tracks the server has added, by name, their sources attached; renderers by
  // "<participant>|<audio source>", sent to the server on every (re)join. Both under mu.
  struct Track {
    std::shared_ptr<CustomAudioTrack> track;
    std::uint32_t sequence = 0;  // media thread only
  };
  std::map<std::string, std::shared_ptr<Track>> tracks;
  struct Renderer {
    std::string participantId;
    AudioRenderer callback;
    AudioRendererOptions options;
    std::vector<std::int16_t> buffer;  // media thread only
    std::atomic<bool> live{true};
  };
  std::map<std::string, std::shared_ptr<Renderer>> renderers;
  static constexpr std::size_t kMaxAudioBacklog = 256 * 1024;  // unsent bytes past which audio frames are dropped
  std::optional<detail::RoomUrl> url;                // what join() connected to, for reconnecting
  json joinParams;                                   // the join request, sent again on every reconnection
  std::unique_ptr<asio::steady_timer> reconnectTimer;  // network thread only
  std::chrono::steady_clock::time_point reconnectDeadline;
  int reconnectAttempts = 0;

  static const char* stateName(State s) {
    switch (s) {
      case State::New: return "new";
      case State::Joining: return "joining-meeting";
      case State::Joined:
      case State::Reconnecting: return "joined-meeting";
      case State::Left: return "left-meeting";
      case State::Error: return "error";
    }
    return "error";
  }

  // daily-js's participantCounts(): {present, hidden}, participants with and without presence (permissions.
  // hasPresence), the local one included, while in the meeting; zeros otherwise.
  // O(1): the remotes' hidden ones are counted as they come and go (a 1,000-person room applies ~1,000 events).
  struct Counts {
    std::size_t present = 0, hidden = 0;
    bool operator==(const Counts& o) const { return present == o.present && hidden == o.hidden; }
    json toJson() const { return {{"present", present}, {"hidden", hidden}}; }
  };
  Counts countsLocked() const {
    Counts c;
    if (state == State::Joined || state == State::Reconnecting) {
      c.hidden = hiddenRemotes;
      c.present = remotes.size() - hiddenRemotes;
      if (local.is_object()) ++(isHidden(local) ? c.hidden : c.present);
    }
    return c;
  }
  Counts announcedCounts;  // what the last participant-counts-updated carried

  // permissions.hasPresence false: in the meeting but not shown (daily-js's hidden participants).
  static bool isHidden(const json& participant) {
    auto perms = participant.find("permissions");
    if (perms == participant.end() || !perms->is_object()) return false;
    auto presence = perms->find("hasPresence");
    return presence != perms->end() && presence->is_boolean() && !presence->get<bool>();
  }
  void setRemotesLocked(std::map<std::string, std::shared_ptr<const json>> all) {
    remotes = std::move(all);
    hiddenRemotes = 0;
    for (const auto& [id, p] : remotes) hiddenRemotes += isHidden(*p) ? 1 : 0;
  }
  void clearRemotesLocked() { setRemotesLocked({}); }
  // participant-counts-updated {participantCounts}, when the counts differ from the ones last announced.
  void countsMayHaveChangedLocked() {
    const Counts counts = countsLocked();
    if (counts == announcedCounts) return;
    announcedCounts = counts;
    emit("participant-counts-updated", {{"participantCounts", counts.toJson()}});
  }

  json participantsLocked() const {
    json all = json::object();
    if (local.is_object()) all["local"] = local;
    for (const auto& [id, p] : remotes) all[id] = *p;
    return all;
  }

  // ---- events -------------------------------------------------------------------------------------------------

  // The event object handlers receive: the payload with daily-js's action and callClientId added.
  std::shared_ptr<const Event> makeEvent(std::string action, json payload) const {
    payload["action"] = action;
    payload["callClientId"] = callClientId;
    return std::make_shared<const Event>(Event{std::move(action), std::move(payload)});
  }

  // Queues an event for the dispatcher thread, after everything queued before it. Events must be queued in the
  // order their state changes happened: the network thread applies what the inbox holds (drainInbox) before it
  // changes state itself.
  void post(std::shared_ptr<const Event> event) { enqueue(Inbound{0, {}, true, std::move(event)}); }

  // Any thread. Starts a runInbox task unless one is queued or running: a burst of events costs one task.
  // Returns how many items the inbox holds.
  std::size_t enqueue(Inbound item) {
    bool start;
    std::size_t size;
    {
      std::lock_guard<std::mutex> lock(inboxMu);
      inbox.push_back(std::move(item));
      size = inbox.size();
      start = !std::exchange(inboxScheduled, true);
    }
    if (start) scheduleInbox();
    return size;
  }

  // Network thread: the inbox just grew to size.
  void maybePauseReading(std::uint64_t generation, std::size_t size) {
    if (size < kInboxHighWater || readingPaused.load(std::memory_order_relaxed)) return;
    std::lock_guard<std::mutex> lock(mu);
    if (generation != connGeneration || !conn || !pending.empty()) return;
    readingPaused = true;
    conn->pauseReading();
    bool low;  // the dispatcher may have caught up before it could see the pause
    {
      std::lock_guard<std::mutex> inboxLock(inboxMu);
      low = inbox.size() <= kInboxLowWater;
    }
    if (low) resumeReadingLocked();
  }

  // The caller holds mu.
  void resumeReadingLocked() {
    if (readingPaused.exchange(false) && conn) conn->resumeReading();
  }

  void scheduleInbox() {
    Runtime::instance().dispatcher().post(this, [weak = weak_from_this()] {
      if (auto self = weak.lock()) self->runInbox();
    });
  }

  void emit(std::string action, json payload) { post(makeEvent(std::move(action), std::move(payload))); }

  // On the dispatcher thread: calls each matching listener that is still registered at the moment of its call.
  // Listener ids only grow, so walking the map from the last id called finds every listener added before this
  // event (and none added by its handlers, as an EventEmitter does) and notices any an earlier handler removed.
  void deliver(const Event& event) {
    ListenerId after = 0;
    ListenerId end = 0;  // the first id handed out after delivery began
    for (;;) {
      if (closed.load()) return;
      std::shared_ptr<const std::function<void(const Event&)>> handler;
      {
        std::lock_guard<std::mutex> lock(mu);
        if (end == 0) end = nextListenerId;
        auto it = listeners.upper_bound(after);
        while (it != listeners.end() && it->first < end && it->second.event != event.action && it->second.event != "*")
          ++it;
        if (it == listeners.end() || it->first >= end) return;
        after = it->first;
        handler = it->second.handler;
        if (it->second.once) listeners.erase(it);
      }
      (*handler)(event);
    }
  }

  // ---- requests -----------------------------------------------------------------------------------------------

  // Sends a request on the open connection; the caller holds mu and has checked state.
  void sendLocked(const std::string& method, const json& params, Completion complete) {
    const std::uint64_t id = nextRequestId++;
    pending.emplace(id, Pending{std::move(complete), method, std::chrono::steady_clock::now() + options.requestTimeout});
    if (!sweeping) startSweeper();
    resumeReadingLocked();  // its answer must get through
    conn->send(protocol::encodeRequest(id, method, params));
  }

  // Request deadlines are checked by one timer per client on the network thread, a few times per timeout, instead
  // of a timer per request armed from the caller's thread (which would wake the network thread for every request).
  void startSweeper() {
    sweeping = true;
    asio::post(Runtime::instance().io(), [weak = weak_from_this()] {
      if (auto self = weak.lock()) self->sweep();
    });
  }

  void sweep() {
    const auto tick = std::clamp(options.requestTimeout / 4, std::chrono::milliseconds(10),
                                 std::chrono::milliseconds(1000));
    std::vector<Pending> expired;
    {
      std::lock_guard<std::mutex> lock(mu);
      const auto now = std::chrono::steady_clock::now();
      for (auto it = pending.begin(); it != pending.end();) {
        if (it->second.deadline <= now) {
          expired.push_back(std::move(it->second));
          it = pending.erase(it);
        } else {
          ++it;
        }
      }
      if (closed.load() || pending.empty()) {  // idle clients cost nothing; the next request starts it again
        sweeping = false;
      } else {
        if (!sweeper) sweeper = std::make_unique<asio::steady_timer>(Runtime::instance().io());
        sweeper->expires_after(tick);
        sweeper->async_wait([weak = weak_from_this()](const asio::error_code& ec) {
          if (auto self = weak.lock(); self && !ec) self->sweep();
        });
      }
    }
    for (auto& p : expired) {
      const Error timeout(ErrorCode::Timeout, "the server did not answer " + p.method + " in time");
      p.complete(nullptr, &timeout);
    }
  }

  void completeRequest(std::uint64_t id, const json* result, std::optional<Error> error) {
    Pending p;
    {
      std::lock_guard<std::mutex> lock(mu);
      auto it = pending.find(id);
      if (it == pending.end()) return;
      p = std::move(it->second);
      pending.erase(it);
    }
    if (error) p.complete(nullptr, &*error);
    else p.complete(result, nullptr);
    Runtime::instance().loop().answered();  // the caller may send its next request at once: be awake for it
  }

  // Fails every pending request; the caller must not hold mu.
  void failAll(std::map<std::uint64_t, Pending> doomed, const Error& error) {
    for (auto& [id, p] : doomed) p.complete(nullptr, &error);
  }

  // A request of a joined meeting: checks shared by every SIP method (and the requests any participant may
  // make: needsOwner false), then the request.
  template <class T>
  std::future<T> joinedRequest(const std::string& method, const json& params, const std::string& argumentError,
                               std::function<T(const json&)> convert, bool needsOwner = true) {
    auto promise = std::make_shared<std::promise<T>>();
    auto future = promise->get_future();
    std::lock_guard<std::mutex> lock(mu);
    if (state == State::Reconnecting) {
      promise->set_exception(std::make_exception_ptr(
          Error(ErrorCode::ConnectionLost, method + "(): the signaling connection is down; reconnecting")));
      return future;
    }
    if (state != State::Joined) {
      promise->set_exception(std::make_exception_ptr(Error(ErrorCode::NotJoined, method + "() needs a joined meeting")));
      return future;
    }
    if (!argumentError.empty()) {
      promise->set_exception(std::make_exception_ptr(Error(ErrorCode::InvalidArgument, method + "(): " + argumentError)));
      return future;
    }
    if (needsOwner && !isOwnerOrAdmin(local)) {
      promise->set_exception(std::make_exception_ptr(
          Error(ErrorCode::PermissionDenied, method + "() requires a meeting owner or admin token")));
      return future;
    }
    sendLocked(method, params, [promise, convert](const json* result, const Error* error) {
      if (error) return promise->set_exception(std::make_exception_ptr(*error));
      try {
        if constexpr (std::is_void_v<T>) {
          convert(*result);
          promise->set_value();
        } else {
          promise->set_value(convert(*result));
        }
      } catch (const Error& e) {
        promise->set_exception(std::make_exception_ptr(e));
      }
    });
    return future;
  }

  // setUserName/setUserData answered with our participant as the server now has it: it is ours from now on (and
  // what a rejoin asks for), and this client hears participant-updated for it, as daily-js reports local changes.
  void localUpdated(const json& result) {
    const auto p = result.find("participant");
    if (p == result.end() || !isParticipant(*p)) throw Error(ErrorCode::ServerError, "the answer carries no participant");
    std::lock_guard<std::mutex> lock(mu);
    if (state != State::Joined) return;
    local = *p;
    local["local"] = true;
    joinParams["userName"] = local.value("user_name", std::string());
    if (local.contains("userData")) joinParams["userData"] = local["userData"];
    else joinParams.erase("userData");
    emit("participant-updated", {{"participant", local}});
  }

  // ---- connection callbacks (network thread) ------------------------------------------------------------------

  // Opens a new signaling connection for a join or a rejoin; the caller holds mu. Callbacks of any older
  // connection are ignored from here on.
  void connectLocked() {
    const std::uint64_t generation = ++connGeneration;
    readingPaused = false;  // a new connection reads
    std::weak_ptr<Impl> weak = shared_from_this();
    detail::SignalingConnection::Handlers handlers;
    handlers.onOpen = [weak, generation] {
      if (auto self = weak.lock()) self->onOpen(generation);
    };
    handlers.onMessage = [weak, generation](std::string&& text) {
      if (auto self = weak.lock()) self->onMessage(generation, std::move(text));
    };
    handlers.onBinary = [weak](std::string&& bytes) {
      if (auto self = weak.lock()) self->onAudio(bytes);
    };
    handlers.onClosed = [weak, generation](const std::string& reason, bool retryable) {
      if (auto self = weak.lock()) self->onClosed(generation, reason, retryable);
    };
    conn = detail::SignalingConnection::open(*url, options, std::move(handlers));
  }

  void onOpen(std::uint64_t generation) {
    std::lock_guard<std::mutex> lock(mu);
    if (generation != connGeneration || (state != State::Joining && state != State::Reconnecting)) return;
    sendLocked("join", joinParams, [weak = weak_from_this()](const json* result, const Error* error) {
      if (auto self = weak.lock()) self->onJoinAnswer(result, error);
    });
  }

  // ---- reconnecting ---------------------------------------------------------------------------------------

  // The next attempt after a growing, jittered delay, or giving up once the window has passed. Holds mu.
  void scheduleReconnectLocked(const std::string& reason) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= reconnectDeadline) return giveUpLocked("could not reconnect to the server: " + reason);
    auto delay = options.reconnectDelay;
    for (int i = 0; i < reconnectAttempts && delay < options.reconnectMaxDelay; ++i) delay *= 2;
    delay = std::min(delay, options.reconnectMaxDelay);
    thread_local std::minstd_rand random{std::random_device{}()};
    delay = std::chrono::milliseconds(
        static_cast<long long>(delay.count() * std::uniform_real_distribution<double>(0.8, 1.2)(random)));
    delay = std::min<std::chrono::milliseconds>(
        delay, std::chrono::duration_cast<std::chrono::milliseconds>(reconnectDeadline - now));
    ++reconnectAttempts;
    DAILY_LOG(Info, "call-client", "reconnecting in " << delay.count() << " ms (attempt " << reconnectAttempts << ")");
    asio::post(Runtime::instance().io(), [weak = weak_from_this(), delay] {
      auto self = weak.lock();
      if (!self || self->closed.load()) return;
      if (!self->reconnectTimer) self->reconnectTimer = std::make_unique<asio::steady_timer>(Runtime::instance().io());
      self->reconnectTimer->expires_after(delay);
      self->reconnectTimer->async_wait([weak](const asio::error_code& ec) {
        auto me = weak.lock();
        if (ec || !me || me->closed.load()) return;
        std::lock_guard<std::mutex> lock(me->mu);
        if (me->state == State::Reconnecting && !me->conn) me->connectLocked();
      });
    });
  }

  void giveUpLocked(const std::string& why) {
    enterErrorLocked();
    emit("error", fatalError("connection-error", why, "reconnect"));
  }

  // The meeting ended in a fatal error: meetingState() is "error" and participants() empty before any handler
  // hears of it (daily-js's runtime does the same).
  void enterErrorLocked() {
    state = State::Error;
    clearRemotesLocked();
    local = json();
    announcedCounts = {};  // the next join announces its own
  }

  // daily-js's fatal error payload (DailyEventObjectFatalError): {errorMsg, error: {type, msg}}, and for a
  // connection-error (DailyFatalConnectionError) details: where it happened (on: "join" or "reconnect") and, as
  // sourceError, what the SDK saw.
  static json fatalError(const std::string& type, const std::string& msg, const char* on) {
    json error{{"type", type}, {"msg", msg}};
    if (type == "connection-error") error["details"] = {{"on", on}, {"sourceError", {{"message", msg}}}};
    return {{"errorMsg", msg}, {"error", std::move(error)}};
  }

  // The remote participants of a join answer, keyed by session_id.
  static std::map<std::string, std::shared_ptr<const json>> remotesOf(const json& result) {
    std::map<std::string, std::shared_ptr<const json>> all;
    for (const auto& p : result["participants"]) {
      if (!isParticipant(p)) continue;
      auto remote = std::make_shared<json>(p);
      (*remote)["local"] = false;
      all[(*remote)["session_id"].get<std::string>()] = std::move(remote);
    }
    return all;
  }

  // A successful rejoin: our participant and the room as the server now has them. Participants that left or
  // came while we were away are reported as such; the local participant has a new session_id.
  void rejoinedLocked(const json& result) {
    state = State::Joined;
    reconnectAttempts = 0;
    local = result["local"];
    local["local"] = true;
    auto now = remotesOf(result);
    for (const auto& [id, p] : remotes)
      if (!now.count(id)) emit("participant-left", {{"participant", *p}});
    for (const auto& [id, p] : now) {
      auto before = remotes.find(id);
      if (before == remotes.end()) emit("participant-joined", {{"participant", *p}});
      else if (*before->second != *p) emit("participant-updated", {{"participant", *p}});
    }
    setRemotesLocked(std::move(now));
    emit("participant-updated", {{"participant", local}});
    countsMayHaveChangedLocked();
    emit("network-connection", {{"type", "signaling"}, {"event", "connected"}});
    sendAudioSetupLocked(true);
  }

  // The join request's answer. When the join was abandoned meanwhile (leave(), a drop, destruction), whoever
  // abandoned it has already failed the join future, and this does nothing.
  void onJoinAnswer(const json* result, const Error* error) {
    if (!error && (!result->is_object() || !isParticipant(result->value("local", json())) ||
                   !result->value("participants", json()).is_array())) {
      DAILY_LOG(Warn, "call-client", "malformed join response from the server");
      Error bad(ErrorCode::ServerError, "the server sent a malformed join response");
      return onJoinAnswer(nullptr, &bad);
    }
    std::shared_ptr<std::promise<json>> joined;
    if (error) {
      std::shared_ptr<detail::SignalingConnection> old;
      {
        std::lock_guard<std::mutex> lock(mu);
        if (state == State::Reconnecting) {
          old = std::move(conn);
          ++connGeneration;
          // A lost connection or a slow server may do better next time; a refusal (the room is gone, the token
          // expired) will not.
          if (error->code() == ErrorCode::ConnectionLost || error->code() == ErrorCode::Timeout ||
              error->code() == ErrorCode::ServerError) {
            scheduleReconnectLocked(error->what());
          } else {
            enterErrorLocked();
            const std::string why = std::string("the server refused the rejoin: ") + error->what();
            emit("error", fatalError(fatalType(*error), why, "reconnect"));
          }
          if (old) old->close();
          return;
        }
        if (state != State::Joining) return;
        enterErrorLocked();
        old = std::move(conn);
        ++connGeneration;
        joined = std::move(joinPromise);
        emit("error", fatalError(fatalType(*error), error->what(), "join"));
      }
      if (old) old->close();
      // The join's Error carries the error event's type (errorType()), so that a bot can tell exp-token from
      // not-allowed without parsing a message.
      if (joined)
        joined->set_exception(std::make_exception_ptr(
            Error(error->code(), error->what(), error->sipStatus(), 0, fatalType(*error))));
      return;
    }
    json participants;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (state == State::Reconnecting) return rejoinedLocked(*result);
      if (state != State::Joining) return;
      state = State::Joined;
      joined = std::move(joinPromise);
      local = (*result)["local"];
      local["local"] = true;
      setRemotesLocked(remotesOf(*result));
      participants = participantsLocked();
      emit("joined-meeting", {{"participants", participants}});
      countsMayHaveChangedLocked();
      sendAudioSetupLocked(false);
    }
    if (joined) joined->set_value(std::move(participants));
  }

  // daily-js's DailyFatalErrorType for a refusal: the server's own when it gave one, else one by code.
  static std::string fatalType(const Error& e) {
    static constexpr std::string_view kFatalTypes[] = {"ejected", "nbf-room", "nbf-token", "exp-room", "exp-token",
                                                       "no-room", "meeting-full", "end-of-life", "not-allowed",
                                                       "connection-error"};
    for (auto type : kFatalTypes)
      if (type == e.errorType()) return e.errorType();
    switch (e.code()) {
      case ErrorCode::NotFound: return "no-room";
      case ErrorCode::PermissionDenied: return "not-allowed";
      case ErrorCode::ConnectionLost: return "connection-error";
      default: return "not-allowed";
    }
  }

  // A frame from the server, on the network thread. An event frame as our server encodes it (most of the traffic)
  // is queued for the dispatcher thread, which parses and applies it just before delivering it: parsing is most
  // of an event's cost, and the network thread is shared by every client of the process. Anything else (a
  // response, an event of another shape) first applies what is queued (drainInbox), here, so that a resolved
  // future never finds participants() behind the events the server sent before its answer, and events are still
  // delivered in the order they came.
  void onMessage(std::uint64_t generation, std::string&& text) {
    if (protocol::endsAsEvent(text) && text.size() <= protocol::kMaxServerFrameBytes) {
      maybePauseReading(generation, enqueue(Inbound{generation, std::move(text), false, nullptr}));
      return;
    }
    drainInbox();
    std::string why;
    auto frame = protocol::decodeFrame(text, &why, protocol::kMaxServerFrameBytes);
    if (!frame) {
      DAILY_LOG(Warn, "call-client", "rejected a frame from the server: " << why);
      return;
    }
    switch (frame->type) {
      case protocol::FrameType::Response: {
        {
          std::lock_guard<std::mutex> lock(mu);
          if (generation != connGeneration) return;
        }
        if (frame->error) completeRequest(frame->id, nullptr, protocol::toError(*frame->error));
        else completeRequest(frame->id, &frame->result, std::nullopt);
        break;
      }
      case protocol::FrameType::Event:
        if (auto event = onServerEvent(generation, std::move(frame->action), std::move(frame->payload)))
          post(std::move(event));
        break;
      case protocol::FrameType::Request:
        DAILY_LOG(Warn, "call-client", "ignored a request frame from the server (" << frame->method << ")");
        break;
    }
  }

  // On the dispatcher thread: applies (unless a drain has) and delivers what the inbox holds, in order, up to
  // kInboxBatch items; then hands the rest to a new task, behind other clients' work.
  void runInbox() {
    for (int delivered = 0;; ++delivered) {
      if (closed.load()) return;  // destroyed from a handler: nothing more is delivered
      std::shared_ptr<const Event> event;
      {
        std::lock_guard<std::mutex> applying(applyMu);
        Inbound item;
        bool resume;
        {
          std::lock_guard<std::mutex> lock(inboxMu);
          if (inbox.empty()) {
            inboxScheduled = false;
            return;
          }
          if (delivered == kInboxBatch) break;  // still scheduled: the next task goes on
          item = std::move(inbox.front());
          inbox.pop_front();
          resume = readingPaused.load() && inbox.size() <= kInboxLowWater;
        }
        if (resume) {
          std::lock_guard<std::mutex> lock(mu);
          resumeReadingLocked();
        }
        event = item.applied ? std::move(item.event) : applyQueuedEvent(item);
      }
      if (event) deliver(*event);
    }
    scheduleInbox();
  }

  // Applies every queued frame, in order, leaving each in the inbox for runInbox to deliver. Any thread; the caller
  // holds none of the client's locks. Only runInbox removes items, and it holds applyMu to, so the items seen here
  // stay put (a deque keeps its elements where they are when others are added at its end).
  void drainInbox() {
    std::lock_guard<std::mutex> applying(applyMu);
    std::vector<Inbound*> frames;
    {
      std::lock_guard<std::mutex> lock(inboxMu);
      for (Inbound& item : inbox)
        if (!item.applied) frames.push_back(&item);
    }
    for (Inbound* item : frames) {
      item->event = applyQueuedEvent(*item);
      item->applied = true;
      item->text = std::string();
    }
  }

  std::shared_ptr<const Event> applyQueuedEvent(const Inbound& item) {
    std::string why;
    auto frame = protocol::decodeEvent(item.text, &why, protocol::kMaxServerFrameBytes);
    if (frame && frame->type != protocol::FrameType::Event) why = "not an event";  // (endsAsEvent rules it out)
    if (!frame || !why.empty()) {
      DAILY_LOG(Warn, "call-client", "rejected a frame from the server: " << why);
      return nullptr;
    }
    return onServerEvent(item.generation, std::move(frame->action), std::move(frame->payload));
  }

  // Applies an event of the given connection to the client's state; returns what to deliver (null: nothing).
  std::shared_ptr<const Event> onServerEvent(std::uint64_t generation, std::string action, json payload) {
    const bool aboutParticipant =
        action == "participant-joined" || action == "participant-updated" || action == "participant-left";
    if (aboutParticipant) {
      auto it = payload.find("participant");
      if (it == payload.end() || !isParticipant(*it)) {
        DAILY_LOG(Warn, "call-client", "rejected a " << action << " event without a valid participant");
        return nullptr;
      }
      (*it)["local"] = false;
    }
    auto event = makeEvent(std::move(action), std::move(payload));
    std::lock_guard<std::mutex> lock(mu);
    if (generation != connGeneration || (state != State::Joined && state != State::Joining)) return nullptr;
    if (event->action == "error") {
      // The server ended our meeting (ejected: the room was deleted, ...). The client is out before its handlers
      // run; the connection is let go from the network thread (never from here: this may run inside a drain),
      // and nothing reconnects.
      enterErrorLocked();
      const std::string why = event->payload.value("errorMsg", std::string("the server ended the meeting"));
      asio::post(Runtime::instance().io(), [weak = weak_from_this(), generation, why] {
        auto self = weak.lock();
        if (!self) return;
        std::shared_ptr<detail::SignalingConnection> c;
        {
          std::lock_guard<std::mutex> l(self->mu);
          if (generation == self->connGeneration) c = self->conn;
        }
        if (c) c->close();
        self->onClosed(generation, why, false);
      });
      return event;
    }
    if (aboutParticipant) {
      const json& participant = event->payload["participant"];
      const std::string& id = participant["session_id"].get_ref<const std::string&>();
      if (id == local.value("session_id", std::string())) {
        // About us: the server changed our participant (an admin changed our permissions). It is never remote.
        if (event->action != "participant-updated") return nullptr;
        local = participant;
        local["local"] = true;
        countsMayHaveChangedLocked();  // (its hasPresence may have changed)
        return makeEvent("participant-updated", {{"participant", local}});
      }
      if (auto before = remotes.find(id); before != remotes.end()) {
        if (isHidden(*before->second)) --hiddenRemotes;
        remotes.erase(before);
      }
      if (event->action != "participant-left") {
        remotes[id] = std::shared_ptr<const json>(event, &participant);  // shares the event, copies nothing
        if (isHidden(participant)) ++hiddenRemotes;
      }
      countsMayHaveChangedLocked();
    }
    return event;
  }

  // The connection of this generation is gone (closed by the server, lost, or let go by leave()): fails what
  // was waiting on it, finishes a leave() in progress, and otherwise reports the loss as daily-js does.
  void onClosed(std::uint64_t generation, const std::string& reason, bool retryable) {
    drainInbox();  // what the server sent before it closed happened before the close
    std::map<std::uint64_t, Pending> doomed;
    std::shared_ptr<std::promise<void>> leavingPromise;
    std::vector<std::shared_ptr<std::promise<void>>> others;
    std::shared_ptr<std::promise<json>> joined;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (generation != connGeneration) return;
      ++connGeneration;
      conn.reset();
      doomed = std::move(pending);
      pending.clear();
      joined = std::move(joinPromise);
      leavingPromise = std::move(leaving);
      others = std::exchange(alsoLeaving, {});
      if (leavingPromise) {
        state = State::Left;
        clearRemotesLocked();
        announcedCounts = {};  // as after an error
        emit("left-meeting", json::object());
      } else if (state == State::Reconnecting) {
        scheduleReconnectLocked(reason);
      } else if (state == State::Joined && retryable && options.reconnect && !closed.load()) {
        state = State::Reconnecting;
        reconnectDeadline = std::chrono::steady_clock::now() + options.reconnectWindow;
        reconnectAttempts = 0;
        emit("network-connection", {{"type", "signaling"}, {"event", "interrupted"}});
        scheduleReconnectLocked(reason);
      } else if (state == State::Joining || state == State::Joined) {
        const char* on = state == State::Joining ? "join" : "reconnect";
        enterErrorLocked();
        emit("error", fatalError("connection-error", reason, on));
      }
    }
    DAILY_LOG(Info, "call-client", "signaling connection closed: " << reason);
    if (leavingPromise || !isInCall()) dropTracks();
    Error lost(ErrorCode::ConnectionLost, reason, 0, 0, "connection-error");
    failAll(std::move(doomed), lost);
    if (joined) joined->set_exception(std::make_exception_ptr(lost));
    if (leavingPromise) leavingPromise->set_value();
    for (auto& other : others) other->set_value();
  }

  // leave()'s request was answered (or failed): let the connection go and finish the leave.
  void finishLeave() {
    std::shared_ptr<detail::SignalingConnection> c;
    std::uint64_t generation;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (!leaving) return;
      c = conn;
      generation = connGeneration;
    }
    if (c) c->close();
    onClosed(generation, "left the meeting", false);
  }

  // ---- audio ----------------------------------------------------------------------------------------------------

  bool isInCall() {
    std::lock_guard<std::mutex> lock(mu);
    return state == State::Joined || state == State::Reconnecting;
  }

  static std::string rendererKey(const std::string& participant, const std::string& source) {
    return participant + "|" + source;
  }

  // Tells a (re)joined server of the tracks and renderers; the caller holds mu. After a reconnection the tracks
  // are added again (their sources stay attached); failures are logged (there is nobody to tell).
  void sendAudioSetupLocked(bool rejoin) {
    auto logFailure = [](const std::string& what) {
      return [what](const json*, const Error* error) {
        if (error) DAILY_LOG(Warn, "call-client", what << " failed: " << error->what());
      };
    };
    if (rejoin)
      for (const auto& [name, t] : tracks) {
        const auto& source = *t->track->source();
        sendLocked("addCustomAudioTrack", {{"trackName", name}, {"sampleRate", source.sampleRate()}, {"channels", source.channels()}},
                   logFailure("adding the custom audio track " + name + " again"));
      }
    for (const auto& [key, r] : renderers)
      sendLocked("setAudioRenderer", {{"participantId", r->participantId}, {"audioSource", r->options.audioSource},
                                      {"sampleRate", r->options.sampleRate}},
                 logFailure("the audio renderer of " + r->participantId));
  }

  // The call is over: every track's source stops (its pending writes resolve with what was sent).
  void dropTracks() {
    std::map<std::string, std::shared_ptr<Track>> dropped;
    {
      std::lock_guard<std::mutex> lock(mu);
      dropped = std::move(tracks);
      tracks.clear();
    }
    for (auto& [name, t] : dropped) t->track->source()->impl_->detach();
  }

  // No renderer runs again once this returns (a renderer calling it from its own callback finishes that call).
  void stopRenderers() {
    std::map<std::string, std::shared_ptr<Renderer>> stopped;
    {
      std::lock_guard<std::mutex> lock(mu);
      stopped = std::move(renderers);
      renderers.clear();
    }
    if (stopped.empty()) return;
    for (auto& [key, r] : stopped) r->live = false;
    detail::MediaThread::instance().drain();  // one that was running has finished
  }

  // 20 ms of a track's audio, from the media thread.
  void sendAudio(const std::string& name, Track& t, std::vector<std::int16_t>&& samples) {
    protocol::AudioFrame frame;
    frame.direction = protocol::AudioDirection::ToServer;
    frame.sequence = t.sequence++;
    frame.sampleRate = t.track->source()->sampleRate();
    frame.channels = t.track->source()->channels();
    frame.name = name;
    frame.samples = std::move(samples);
    std::shared_ptr<detail::SignalingConnection> c;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (state != State::Joined) return;  // reconnecting: this audio is lost
      c = conn;
    }
    if (c) c->sendBinary(protocol::encodeAudioFrame(frame), kMaxAudioBacklog);
  }

  // A participant's audio from the server (network thread): to its renderer, on the media thread.
  void onAudio(const std::string& bytes) {
    std::string why;
    auto frame = protocol::decodeAudioFrame(bytes, &why);
    if (!frame || frame->direction != protocol::AudioDirection::ToClient) {
      DAILY_LOG(Warn, "call-client", "dropped an audio frame from the server: " << (frame ? "it goes the wrong way" : why));
      return;
    }
    const auto slash = frame->name.find('/');
    const std::string participant = frame->name.substr(0, slash);
    const std::string source = slash == std::string::npos ? "microphone" : frame->name.substr(slash + 1);
    std::shared_ptr<Renderer> r;
    {
      std::lock_guard<std::mutex> lock(mu);
      auto it = renderers.find(rendererKey(participant, source));
      if (it == renderers.end()) return;
      r = it->second;
    }
    if (frame->sampleRate != r->options.sampleRate || frame->channels != 1) return;  // for an earlier renderer
    detail::MediaThread::instance().post([r, frame = std::move(*frame)]() mutable {
      if (!r->live) return;
      r->buffer.insert(r->buffer.end(), frame.samples.begin(), frame.samples.end());
      const auto chunk = static_cast<std::size_t>(r->options.sampleRate / 1000 * r->options.callbackInterval.count());
      while (r->live && r->buffer.size() >= chunk) {
        AudioData audio;
        audio.sampleRate = r->options.sampleRate;
        audio.numChannels = 1;
        audio.numAudioFrames = chunk;
        audio.audioFrames.assign(r->buffer.begin(), r->buffer.begin() + static_cast<std::ptrdiff_t>(chunk));
        r->buffer.erase(r->buffer.begin(), r->buffer.begin() + static_cast<std::ptrdiff_t>(chunk));
        try {
          r->callback(r->participantId, audio, r->options.audioSource);
        } catch (const std::exception& e) {
          DAILY_LOG(Warn, "call-client", "an audio renderer threw: " << e.what());
        }
      }
    });
  }

  // ---- shutdown -----------------------------------------------------------------------------------------------

  void shutdown() {
    closed.store(true);
    std::map<std::uint64_t, Pending> doomed;
    std::shared_ptr<detail::SignalingConnection> old;
    std::shared_ptr<std::promise<void>> leavingPromise;
    std::vector<std::shared_ptr<std::promise<void>>> others;
    std::shared_ptr<std::promise<json>> joined;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (conn && state == State::Joined) conn->send(protocol::encodeRequest(nextRequestId++, "leave", json::object()));
      old = std::move(conn);
      ++connGeneration;
      doomed = std::move(pending);
      pending.clear();
      leavingPromise = std::move(leaving);
      others = std::exchange(alsoLeaving, {});
      joined = std::move(joinPromise);
      if (state == State::Joining || state == State::Joined || state == State::Reconnecting) state = State::Left;
    }
    if (old) old->close();
    dropTracks();
    stopRenderers();
    // The sweeper's timer belongs to the network thread: cancel it there (it holds only a weak_ptr to us).
    asio::post(Runtime::instance().io(), [weak = weak_from_this()] {
      auto self = weak.lock();
      if (!self) return;
      if (self->sweeper) self->sweeper->cancel();
      if (self->reconnectTimer) self->reconnectTimer->cancel();
    });
    Error destroyed(ErrorCode::ConnectionLost, "the CallClient was destroyed");
    failAll(std::move(doomed), destroyed);
    if (joined) joined->set_exception(std::make_exception_ptr(destroyed));
    if (leavingPromise) leavingPromise->set_value();
    for (auto& other : others) other->set_value();
    Runtime::instance().dispatcher().waitIdle(this);
  }
};

CallClient::CallClient() : CallClient(CallClientOptions{}) {}

CallClient::CallClient(CallClientOptions options) : impl_(std::make_shared<Impl>(std::move(options))) {}

CallClient::~CallClient() {
  if (impl_) impl_->shutdown();
}

const std::string& CallClient::callClientId() const { return impl_->callClientId; }

std::future<nlohmann::json> CallClient::join(JoinOptions options) {
  std::string why;
  auto url = detail::parseRoomUrl(options.url, &why);
  if (!url) return failed<json>(ErrorCode::InvalidArgument, "invalid room URL '" + options.url + "': " + why);
  if (options.userName.size() > protocol::kMaxUserNameBytes)
    return failed<json>(ErrorCode::InvalidArgument, "userName is longer than 256 bytes");
  if (const std::string problem = userDataProblem(options.userData); !problem.empty())
    return failed<json>(ErrorCode::InvalidArgument, problem);
  if (options.token.size() > 8192) return failed<json>(ErrorCode::InvalidArgument, "token is longer than 8192 bytes");

  auto joined = std::make_shared<std::promise<json>>();
  auto future = joined->get_future();
  Impl& impl = *impl_;
  {
    std::lock_guard<std::mutex> lock(impl.mu);
    if (impl.state == Impl::State::Joining || impl.state == Impl::State::Joined)
      return failed<json>(ErrorCode::InvalidArgument, "join() called while already joining or joined; leave() first");
    impl.state = Impl::State::Joining;
    impl.joinPromise = joined;
    impl.local = json();
    impl.clearRemotesLocked();
    impl.url = std::move(url);
    impl.joinParams = json{{"room", impl.url->roomName}, {"userName", options.userName}};
    if (!options.token.empty()) impl.joinParams["token"] = options.token;
    if (!options.userData.is_null()) impl.joinParams["userData"] = std::move(options.userData);
    impl.emit("joining-meeting", json::object());
    impl.connectLocked();
  }
  return future;
}

std::future<void> CallClient::leave() {
  Impl& impl = *impl_;
  auto promise = std::make_shared<std::promise<void>>();
  auto future = promise->get_future();
  {
    std::lock_guard<std::mutex> lock(impl.mu);
    if (impl.leaving) {  // resolves with the leave under way
      impl.alsoLeaving.push_back(std::move(promise));
      return future;
    }
    if (impl.state == Impl::State::Joined) {
      impl.leaving = promise;
      // The server answers, then the client closes; onClosed finishes the leave either way.
      std::weak_ptr<Impl> weak = impl_;
      impl.sendLocked("leave", json::object(), [weak](const json*, const Error*) {
        if (auto self = weak.lock()) self->finishLeave();
      });
      return future;
    }
    if (impl.state != Impl::State::Joining && impl.state != Impl::State::Reconnecting) {
      // "new", "left-meeting", "error": there is no meeting, and daily-js's leave() then does nothing.
      promise->set_value();
      return future;
    }
    // Leaving while the join (or a rejoin) is in flight: abandon the connection; a join future fails with
    // ConnectionLost.
    impl.leaving = promise;
  }
  impl.finishLeave();
  return future;
}

std::string CallClient::meetingState() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return Impl::stateName(impl_->state);
}

nlohmann::json CallClient::participantCounts() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->countsLocked().toJson();
}

nlohmann::json CallClient::participants() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->participantsLocked();
}

ListenerId CallClient::on(const std::string& event, std::function<void(const Event&)> handler) {
  if (!isKnownEvent(event)) throw Error(ErrorCode::InvalidArgument, "on(): unknown event name '" + event + "'");
  if (!handler) throw Error(ErrorCode::InvalidArgument, "on(): empty handler");
  std::lock_guard<std::mutex> lock(impl_->mu);
  const ListenerId id = impl_->nextListenerId++;
  impl_->listeners.emplace(
      id, Impl::Listener{event, std::make_shared<const std::function<void(const Event&)>>(std::move(handler)), false});
  return id;
}

ListenerId CallClient::once(const std::string& event, std::function<void(const Event&)> handler) {
  const ListenerId id = on(event, std::move(handler));
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->listeners[id].once = true;
  return id;
}

void CallClient::off(ListenerId id) {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->listeners.erase(id);
  }
  Runtime::instance().dispatcher().waitIdle(impl_.get());
}

std::future<void> CallClient::sipRefer(SipReferOptions options) {
  std::string why;
  if (options.sessionId.empty()) why = "sessionId is empty";
  else if (!options.replacesSessionId.empty() && !options.toEndPoint.empty())
    why = "give toEndPoint or replacesSessionId, not both";
  else if (options.replacesSessionId == options.sessionId) why = "replacesSessionId is the session being transferred";
  else if (options.replacesSessionId.empty())
    if (auto e = validateSipUri(options.toEndPoint); !e.empty()) why = "toEndPoint '" + options.toEndPoint + "': " + e;
  json headers = json::object();
  for (const auto& [name, value] : options.sipHeaders) {
    if (!why.empty()) break;
    why = validateSipHeader(name, value);
    headers[name] = value;
  }
  json params{{"sessionId", options.sessionId}, {"toEndPoint", options.toEndPoint}, {"sipHeaders", headers}};
  if (!options.replacesSessionId.empty()) params["replacesSessionId"] = options.replacesSessionId;
  return impl_->joinedRequest<void>("sipRefer", std::move(params), why, [](const json&) {});
}

std::future<void> CallClient::sipCallTransfer(SipCallTransferOptions options) {
  std::string why;
  if (options.sessionId.empty()) why = "sessionId is empty";
  else if (auto e = validateSipUri(options.toEndPoint); !e.empty()) why = "toEndPoint '" + options.toEndPoint + "': " + e;
  return impl_->joinedRequest<void>("sipCallTransfer",
                                {{"sessionId", options.sessionId}, {"toEndPoint", options.toEndPoint}}, why,
                                [](const json&) {});
}

std::future<DialOutSession> CallClient::startDialOut(StartDialOutOptions options) {
  std::string why;
  json params = json::object();
  if (options.sipUri.empty() == options.phoneNumber.empty()) {
    why = "give exactly one of sipUri and phoneNumber";
  } else if (!options.sipUri.empty()) {
    if (auto e = validateSipUri(options.sipUri); !e.empty()) why = "sipUri '" + options.sipUri + "': " + e;
    params["sipUri"] = options.sipUri;
  } else {
    const std::string& n = options.phoneNumber;
    const bool e164 = n.size() >= 3 && n.size() <= 16 && n[0] == '+' &&
                      n.find_first_not_of("0123456789", 1) == std::string::npos;
    if (!e164) why = "phoneNumber must be E.164, e.g. +14155550100";
    params["phoneNumber"] = n;
  }
  if (why.empty()) {
    if (auto e = validateSipHeader("X-Display-Name", options.displayName); !e.empty()) why = "displayName: " + e;
    else if (options.displayName.find_first_of("\"\\<>") != std::string::npos)
      why = "displayName must not contain quotes, backslashes or '<' '>'";
    else if (options.userId.size() > 36) why = "userId is longer than 36 characters";
    else if (auto e2 = validateSipHeader("X-User-Id", options.userId); !e2.empty()) why = "userId: " + e2;
    else if (!options.callerId.empty() && options.phoneNumber.empty()) why = "callerId is only valid with phoneNumber";
  }
  if (!options.displayName.empty()) params["displayName"] = options.displayName;
  if (!options.userId.empty()) params["userId"] = options.userId;
  if (options.video) params["video"] = *options.video;
  if (!options.callerId.empty()) params["callerId"] = options.callerId;
  return impl_->joinedRequest<DialOutSession>("startDialOut", params, why, [](const json& result) {
    auto session = result.find("session");
    if (session == result.end() || !session->is_object() || !session->value("sessionId", json()).is_string())
      throw Error(ErrorCode::ServerError, "startDialOut: the server's answer has no session");
    return DialOutSession{(*session)["sessionId"].get<std::string>()};
  });
}

std::future<void> CallClient::sendAppMessage(nlohmann::json data, std::string to) {
  return sendAppMessage(std::move(data), std::vector<std::string>{std::move(to)});
}

std::future<void> CallClient::sendAppMessage(nlohmann::json data, std::vector<std::string> to) {
  std::string why;
  if (to.empty()) why = "there is no recipient";
  for (const auto& id : to)
    if (why.empty() && (id.empty() || (id == "*" && to.size() > 1)))
      why = "a recipient must be \"*\" (alone) or a session_id";
  if (why.empty()) why = jsonSizeProblem(data, protocol::kMaxAppMessageBytes, "data");
  json recipients = to.size() == 1 ? json(to.front()) : json(to);
  return impl_->joinedRequest<void>("sendAppMessage", {{"data", std::move(data)}, {"to", std::move(recipients)}}, why,
                                [](const json&) {}, /*needsOwner=*/false);
}

std::future<void> CallClient::setUserName(std::string userName) {
  const std::string why = userName.size() > protocol::kMaxUserNameBytes ? "userName is longer than 256 bytes" : "";
  std::weak_ptr<Impl> weak = impl_;
  return impl_->joinedRequest<void>(
      "setUserName", {{"userName", std::move(userName)}}, why,
      [weak](const json& result) {
        if (auto self = weak.lock()) self->localUpdated(result);
      },
      /*needsOwner=*/false);
}

std::future<void> CallClient::setUserData(nlohmann::json userData) {
  const std::string why = userData.is_null() ? "" : userDataProblem(userData);
  std::weak_ptr<Impl> weak = impl_;
  return impl_->joinedRequest<void>(
      "setUserData", {{"userData", std::move(userData)}}, why,
      [weak](const json& result) {
        if (auto self = weak.lock()) self->localUpdated(result);
      },
      /*needsOwner=*/false);
}

std::future<void> CallClient::updateParticipant(std::string sessionId, nlohmann::json updates) {
  json all = json::object();
  all[std::move(sessionId)] = std::move(updates);
  return updateParticipants(std::move(all));
}

std::future<void> CallClient::updateParticipants(nlohmann::json updates) {
  const std::string why = protocol::participantUpdatesProblem(updates);
  return impl_->joinedRequest<void>("updateParticipants", {{"updates", std::move(updates)}}, why, [](const json&) {});
}

std::future<void> CallClient::stopDialOut(StopDialOutOptions options) {
  std::string why = options.sessionId.empty() ? "sessionId is empty" : "";
  return impl_->joinedRequest<void>("stopDialOut", {{"sessionId", options.sessionId}}, why, [](const json&) {});
}

std::future<void> CallClient::addCustomAudioTrack(const std::string& trackName, std::shared_ptr<CustomAudioTrack> track) {
  if (!track) return failed<void>(ErrorCode::InvalidArgument, "addCustomAudioTrack(): track is null");
  if (!protocol::validTrackName(trackName))
    return failed<void>(ErrorCode::InvalidArgument,
                        std::string("addCustomAudioTrack(): trackName must be ") + protocol::kTrackNameRule);
  auto promise = std::make_shared<std::promise<void>>();
  auto future = promise->get_future();
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (impl_->state != Impl::State::Joined)
    return failed<void>(ErrorCode::NotJoined, "addCustomAudioTrack() needs a joined meeting");
  if (impl_->tracks.count(trackName))
    return failed<void>(ErrorCode::InvalidArgument, "addCustomAudioTrack(): there is a track " + trackName + " already");
  const auto& source = *track->source();
  impl_->sendLocked(
      "addCustomAudioTrack", {{"trackName", trackName}, {"sampleRate", source.sampleRate()}, {"channels", source.channels()}},
      [weak = std::weak_ptr<Impl>(impl_), promise, trackName, track](const json*, const Error* error) {
        if (error) return promise->set_exception(std::make_exception_ptr(*error));
        auto self = weak.lock();
        if (!self) return promise->set_exception(std::make_exception_ptr(Error(ErrorCode::ConnectionLost, "the CallClient was destroyed")));
        auto entry = std::make_shared<Impl::Track>();
        entry->track = track;
        const bool attached = track->source()->impl_->attach(
            [weakSelf = weak, trackName, weakEntry = std::weak_ptr<Impl::Track>(entry)](std::vector<std::int16_t>&& frame) {
              auto owner = weakSelf.lock();
              auto t = weakEntry.lock();
              if (owner && t) owner->sendAudio(trackName, *t, std::move(frame));
            });
        if (!attached) {
          std::lock_guard<std::mutex> lock(self->mu);
          if (self->conn) self->sendLocked("removeCustomAudioTrack", {{"trackName", trackName}}, [](const json*, const Error*) {});
          return promise->set_exception(std::make_exception_ptr(
              Error(ErrorCode::InvalidArgument, "addCustomAudioTrack(): the track's source is attached to another track")));
        }
        {
          std::lock_guard<std::mutex> lock(self->mu);
          self->tracks[trackName] = entry;
        }
        promise->set_value();
      });
  return future;
}

std::future<void> CallClient::removeCustomAudioTrack(const std::string& trackName) {
  std::shared_ptr<Impl::Track> removed;
  auto promise = std::make_shared<std::promise<void>>();
  auto future = promise->get_future();
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (impl_->state != Impl::State::Joined)
      return failed<void>(ErrorCode::NotJoined, "removeCustomAudioTrack() needs a joined meeting");
    auto it = impl_->tracks.find(trackName);
    if (it == impl_->tracks.end())
      return failed<void>(ErrorCode::NotFound, "removeCustomAudioTrack(): no track " + trackName);
    removed = it->second;
    impl_->tracks.erase(it);
    impl_->sendLocked("removeCustomAudioTrack", {{"trackName", trackName}}, [promise](const json*, const Error* error) {
      if (error) return promise->set_exception(std::make_exception_ptr(*error));
      promise->set_value();
    });
  }
  removed->track->source()->impl_->detach();
  return future;
}

void CallClient::setAudioRenderer(const std::string& participantId, AudioRenderer callback, AudioRendererOptions options) {
  const auto interval = options.callbackInterval.count();
  if (participantId.empty()) throw Error(ErrorCode::InvalidArgument, "setAudioRenderer(): participantId is empty");
  if (options.audioSource.empty()) throw Error(ErrorCode::InvalidArgument, "setAudioRenderer(): audioSource is empty");
  if (!protocol::supportedAudioRate(options.sampleRate))
    throw Error(ErrorCode::InvalidArgument, "setAudioRenderer(): sampleRate must be 8000, 16000, 24000 or 48000");
  if (interval < 10 || interval > 1000 || interval % 10 != 0)
    throw Error(ErrorCode::InvalidArgument, "setAudioRenderer(): callbackInterval must be 10 ms to 1 s, in steps of 10 ms");
  const std::string key = Impl::rendererKey(participantId, options.audioSource);
  bool replaced = false;
  // Runs last, after the lock is released: a replaced or removed callback that was running has finished.
  struct DrainOnReturn {
    const bool& needed;
    ~DrainOnReturn() { if (needed) detail::MediaThread::instance().drain(); }
  } drainOnReturn{replaced};
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (auto old = impl_->renderers.find(key); old != impl_->renderers.end()) {
    old->second->live = false;
    impl_->renderers.erase(old);
    replaced = true;
  }
  const bool joined = impl_->state == Impl::State::Joined && impl_->conn;
  auto logFailure = [participantId](const json*, const Error* error) {
    if (error) DAILY_LOG(Warn, "call-client", "the audio renderer of " << participantId << " failed: " << error->what());
  };
  if (!callback) {
    if (joined)
      impl_->sendLocked("removeAudioRenderer", {{"participantId", participantId}, {"audioSource", options.audioSource}}, logFailure);
    return;
  }
  auto r = std::make_shared<Impl::Renderer>();
  r->participantId = participantId;
  r->callback = std::move(callback);
  r->options = options;
  impl_->renderers[key] = r;
  if (joined)
    impl_->sendLocked("setAudioRenderer", {{"participantId", participantId}, {"audioSource", options.audioSource},
                                           {"sampleRate", options.sampleRate}},
                      logFailure);
}

std::future<void> CallClient::sendDTMF(SendDtmfOptions options) {
  std::string why;
  if (options.sessionId.empty()) why = "sessionId is empty";
  else if (options.tones.empty() || options.tones.size() > 20) why = "tones must be 1 to 20 characters";
  else if (options.tones.find_first_not_of("0123456789*#ABCDabcd") != std::string::npos)
    why = "tones may contain only 0-9, *, #, A-D";
  else if (!options.method.empty() && options.method != "sip-info" && options.method != "telephone-event" &&
           options.method != "auto")
    why = "method must be \"telephone-event\", \"sip-info\" or \"auto\"";
  else if (options.digitDuration && (options.digitDuration->count() < 50 || options.digitDuration->count() > 2000))
    why = "digitDuration must be 50 ms to 2 s";
  json params{{"sessionId", options.sessionId}, {"tones", options.tones},
              {"method", options.method.empty() ? "auto" : options.method}};
  if (options.digitDuration) params["digitDurationMs"] = options.digitDuration->count();
  return impl_->joinedRequest<void>("sendDTMF", params, why, [](const json&) {});
}

}  // namespace daily
