#include "media/engine.hpp"

#include "common/log.hpp"
#include "media/jitter.hpp"
#include "media/resampler.hpp"
#include "media/rtp.hpp"
#include "media/srtp.hpp"

#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include <algorithm>
#include <array>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

namespace daily::devserver::media {
namespace {

using Clock = std::chrono::steady_clock;
using udp = asio::ip::udp;

constexpr auto kTick = std::chrono::milliseconds(20);
// A stream may move to another address or SSRC (a re-INVITE, a transfer on the far side) once the one it had has
// been quiet this long; before that, packets from elsewhere are dropped (RTP bleed, stray senders).
constexpr auto kRelatchAfter = std::chrono::milliseconds(500);
// Key presses reported per session per second at most: no keypad comes near; a flood is dropped and counted.
constexpr std::size_t kDtmfPerSecond = 20;
constexpr std::size_t kClosedKept = 1024;  // closed sessions whose counters are still answered
// RFC 4733 2.5.1.4: an event's end is sent three times; a pause follows each tone before the next.
constexpr int kEndRepeats = 3;
constexpr int kInterDigitTicks = 5;  // 100 ms

struct Stats {
  std::atomic<std::uint64_t> packetsReceived{0}, packetsSent{0}, bytesReceived{0}, bytesSent{0}, malformed{0},
      unauthenticated{0}, wrongSource{0}, late{0}, duplicates{0}, reordered{0}, concealed{0}, dtmfReceived{0}, dtmfDropped{0};
  std::atomic<bool> srtp{false};
  std::atomic<bool> closed{false};
  MediaCounters snapshot() const {
    MediaCounters c;
    c.packetsReceived = packetsReceived;
    c.packetsSent = packetsSent;
    c.bytesReceived = bytesReceived;
    c.bytesSent = bytesSent;
    c.malformed = malformed;
    c.unauthenticated = unauthenticated;
    c.wrongSource = wrongSource;
    c.late = late;
    c.duplicates = duplicates;
    c.reordered = reordered;
    c.concealed = concealed;
    c.dtmfReceived = dtmfReceived;
    c.dtmfDropped = dtmfDropped;
    c.srtp = srtp;
    c.closed = closed;
    return c;
  }
};

// An outgoing RFC 4733 event, and how far it has gone.
struct OutgoingTone {
  int event = 0;
  std::uint32_t length = 0;     // in samples
  std::uint32_t timestamp = 0;  // its start: set when its first packet goes
  std::uint32_t sent = 0;       // samples of it covered so far
  int endsSent = 0;
  int pauseTicks = kInterDigitTicks;
  bool started = false;
  std::function<void(bool)> done;  // on the last tone of a sendDtmf
};

constexpr std::size_t kTrackKept = kSampleRate;       // a track's queue: a second at most
constexpr std::size_t kTrackPrime = 2 * kFrameSamples;  // it plays once 40 ms are queued (TCP comes in bursts)

struct Session {
  using SessionId = Engine::SessionId;
  Session(asio::io_context& io, std::shared_ptr<Stats> s, std::size_t delay)
      : socket(io), stats(std::move(s)), jitter(delay) {}
  SessionId id = 0;
  std::string label;
  // A bot's track (no socket): its audio at 8 kHz, mono, waiting to be played, and what brings it there.
  bool track = false;
  int trackChannels = 1;
  std::unique_ptr<Resampler> toEngine;
  std::deque<std::int16_t> queued;
  bool primed = false;
  int waited = 0;  // ticks the queue has held audio without playing it
  udp::socket socket;
  std::array<char, 2048> buffer{};
  udp::endpoint sender;
  std::shared_ptr<Stats> stats;
  bool configured = false;
  Negotiated stream;
  std::unique_ptr<SrtpSession> srtp;  // when the call negotiated SRTP
  std::optional<udp::endpoint> described;  // from the SDP
  std::optional<udp::endpoint> latched;    // where its RTP really comes from (symmetric RTP)
  std::uint32_t ssrc = 0;
  Clock::time_point lastPacket{};          // of the latched stream, or when the session was configured
  bool timedOut = false;
  JitterBuffer jitter;
  std::array<std::int16_t, kFrameSamples> frame{};
  bool active = false;  // frame holds audio this tick
  std::string group;
  // Sending.
  std::uint32_t ourSsrc = 0;
  std::uint16_t sequence = 0;
  std::uint32_t timestamp = 0;
  bool first = true;
  std::vector<std::uint8_t> packet;
  // DTMF.
  bool haveEvent = false;
  std::uint32_t eventTimestamp = 0;  // the last key press: its timestamp and event code
  int eventCode = -1;
  std::deque<Clock::time_point> recentPresses;
  std::deque<OutgoingTone> tones;

  // Whatever waits on tones not sent hears they never will be.
  void abandonTones() {
    auto pending = std::move(tones);
    tones.clear();
    for (auto& t : pending)
      if (t.done) t.done(false);
  }

  std::optional<udp::endpoint> destination() const { return latched ? latched : described; }
  // A tone is on the wire (its updates or its ends): no audio goes meanwhile (RFC 4733 2.5.1.3).
  bool toneOn() const { return !tones.empty() && tones.front().endsSent < kEndRepeats; }
};

}  // namespace

struct Engine::Impl {
  Impl(EngineOptions o, Events e) : options(std::move(o)), events(std::move(e)), tick(io) {
    std::random_device random;
    rng.seed(random());
    cursor = firstPort() + static_cast<std::uint32_t>(random() % std::max<std::uint32_t>(portCount(), 1)) * 2;
  }

  EngineOptions options;
  Events events;
  asio::io_context io{1};
  asio::steady_timer tick;
  Clock::time_point nextTick;
  std::thread thread;
  std::mt19937 rng;  // media thread only

  // Any thread, under the mutex: the port cursor, ids, and counters by label.
  mutable std::mutex mutex;
  std::uint32_t cursor = 0;
  SessionId nextId = 1;
  std::map<std::string, std::shared_ptr<Stats>> labels;
  std::map<SessionId, std::shared_ptr<Stats>> openStats;  // closed at once by close(), before the media thread hears
  std::deque<std::string> closedLabels;
  bool stopped = false;

  // Media thread only.
  std::map<SessionId, std::shared_ptr<Session>> sessions;
  std::map<std::string, Session*> byLabel;
  struct Subscription {
    std::string label;
    std::unique_ptr<Resampler> resampler;  // null at 8 kHz
    Sink sink;
    std::vector<std::int16_t> out;
  };
  std::map<std::uint64_t, Subscription> subscriptions;
  std::atomic<std::uint64_t> nextSubscription{1};
  std::map<std::string, std::vector<Session*>> groups;
  std::vector<std::int32_t> sum = std::vector<std::int32_t>(kFrameSamples);
  std::array<std::int16_t, kFrameSamples> mixed{};
  std::array<std::uint8_t, kFrameSamples> encoded{};

  std::uint32_t firstPort() const { return options.firstPort + (options.firstPort % 2); }
  std::uint32_t portCount() const {
    return options.lastPort >= firstPort() ? (options.lastPort - firstPort()) / 2 + 1 : 0;
  }
  std::size_t delaySamples() const {
    return static_cast<std::size_t>(options.jitterDelay.count()) * kSampleRate / 1000;
  }

  void start() {
    if (portCount() == 0)
      throw std::invalid_argument("the RTP port range " + std::to_string(options.firstPort) + "-" +
                                  std::to_string(options.lastPort) + " has no even port");
    nextTick = Clock::now() + kTick;
    scheduleTick();
    thread = std::thread([this] { io.run(); });
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (stopped) return;
      stopped = true;
    }
    io.stop();
    if (thread.joinable()) thread.join();
    for (auto& [id, s] : sessions) {
      s->stats->closed = true;
      s->abandonTones();
    }
    sessions.clear();
    groups.clear();
  }

  std::optional<Opened> open(const std::string& label) {
    const auto address = asio::ip::make_address(options.host);
    auto stats = std::make_shared<Stats>();
    auto session = std::make_shared<Session>(io, stats, delaySamples());
    session->socket.open(address.is_v6() ? udp::v6() : udp::v4());
    std::uint16_t port = 0;
    SessionId id = 0;
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (stopped) return std::nullopt;
      const std::uint32_t count = portCount();
      for (std::uint32_t tried = 0; tried < count && port == 0; ++tried) {
        const std::uint32_t candidate = cursor;
        cursor = cursor + 2 > options.lastPort ? firstPort() : cursor + 2;
        asio::error_code ec;
        session->socket.bind(udp::endpoint(address, static_cast<std::uint16_t>(candidate)), ec);
        if (!ec) port = static_cast<std::uint16_t>(candidate);
      }
      if (port == 0) return std::nullopt;
      id = nextId++;
      labels[label] = stats;
      openStats[id] = stats;
    }
    session->socket.non_blocking(true);
    session->id = id;
    session->label = label;
    asio::post(io, [this, id, session] {
      session->ourSsrc = static_cast<std::uint32_t>(rng());
      session->sequence = static_cast<std::uint16_t>(rng());
      session->timestamp = static_cast<std::uint32_t>(rng());
      sessions[id] = session;
      byLabel[session->label] = session.get();
      receive(session);
    });
    return Opened{id, port};
  }

  std::optional<SessionId> openTrack(const std::string& label, int sampleRate, int channels) {
    if (channels < 1 || channels > 2) throw std::invalid_argument("a track has 1 or 2 channels");
    if (sampleRate < 8000 || sampleRate > 48000) throw std::invalid_argument("a track's rate is 8000 to 48000 Hz");
    auto stats = std::make_shared<Stats>();
    auto session = std::make_shared<Session>(io, stats, delaySamples());
    session->track = true;
    session->trackChannels = channels;
    if (sampleRate != kSampleRate) session->toEngine = std::make_unique<Resampler>(sampleRate, kSampleRate);
    session->configured = true;
    session->stream.send = false;    // a track is heard, it does not listen
    session->stream.receive = false; // and it never times out
    session->label = label;
    SessionId id = 0;
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (stopped) return std::nullopt;
      id = nextId++;
      labels[label] = stats;
      openStats[id] = stats;
    }
    session->id = id;
    asio::post(io, [this, id, session] {
      sessions[id] = session;
      byLabel[session->label] = session.get();
    });
    return id;
  }

  void pushAudio(SessionId id, std::vector<std::int16_t> samples) {
    asio::post(io, [this, id, samples = std::move(samples)]() mutable {
      Session* s = find(id);
      if (!s || !s->track) return;
      ++s->stats->packetsReceived;
      s->stats->bytesReceived += samples.size() * 2;
      if (s->trackChannels == 2) {
        for (std::size_t i = 0; 2 * i + 1 < samples.size(); ++i)
          samples[i] = static_cast<std::int16_t>((samples[2 * i] + samples[2 * i + 1]) / 2);
        samples.resize(samples.size() / 2);
      }
      std::vector<std::int16_t> converted;
      if (s->toEngine) s->toEngine->process(samples.data(), samples.size(), converted);
      const auto& audio = s->toEngine ? converted : samples;
      s->queued.insert(s->queued.end(), audio.begin(), audio.end());
      if (s->queued.size() > kTrackKept) {
        const std::size_t drop = s->queued.size() - kTrackKept;
        s->queued.erase(s->queued.begin(), s->queued.begin() + static_cast<std::ptrdiff_t>(drop));
        s->stats->late += drop / kFrameSamples + 1;
      }
    });
  }

  std::uint64_t subscribe(const std::string& label, int sampleRate, Sink sink) {
    if (sampleRate < 8000 || sampleRate > 48000) throw std::invalid_argument("a renderer's rate is 8000 to 48000 Hz");
    const std::uint64_t id = nextSubscription++;
    asio::post(io, [this, id, label, sampleRate, sink = std::move(sink)]() mutable {
      Subscription sub;
      sub.label = label;
      if (sampleRate != kSampleRate) sub.resampler = std::make_unique<Resampler>(kSampleRate, sampleRate);
      sub.sink = std::move(sink);
      subscriptions[id] = std::move(sub);
    });
    return id;
  }

  void unsubscribe(std::uint64_t id) {
    asio::post(io, [this, id] { subscriptions.erase(id); });
  }

  void relabel(SessionId id, const std::string& label) {
    asio::post(io, [this, id, label] {
      Session* s = find(id);
      if (!s) return;
      if (auto it = byLabel.find(s->label); it != byLabel.end() && it->second == s) byLabel.erase(it);
      s->label = label;
      byLabel[label] = s;
      std::lock_guard<std::mutex> lock(mutex);
      labels[label] = s->stats;
    });
  }

  Session* find(SessionId id) {
    auto it = sessions.find(id);
    return it == sessions.end() ? nullptr : it->second.get();
  }

  void configure(SessionId id, const Negotiated& stream) {
    asio::post(io, [this, id, stream] {
      Session* s = find(id);
      if (!s) return;
      const bool moved = !s->configured || stream.address != s->stream.address || stream.port != s->stream.port;
      if (!s->configured || stream.srtp != s->stream.srtp) {
        // New keys (or none): new contexts, whose replay windows start afresh.
        s->srtp.reset();
        if (stream.srtp) {
          try {
            s->srtp = std::make_unique<SrtpSession>(*stream.srtp);
          } catch (const std::exception& e) {
            DAILY_LOG(Warn, "media", "session " << id << ": " << e.what() << "; it sends and takes nothing");
            s->configured = false;
            return;
          }
        }
      }
      s->stream = stream;
      s->stats->srtp = s->srtp != nullptr;
      s->configured = true;
      s->described.reset();
      asio::error_code ec;
      const auto address = asio::ip::make_address(stream.address, ec);
      if (!ec && stream.port != 0) s->described = udp::endpoint(address, stream.port);
      // A new description may move the stream (a re-INVITE): latch again to whatever comes next.
      if (moved) s->latched.reset();
      s->lastPacket = Clock::now();
      s->timedOut = false;
    });
  }

  void join(SessionId id, const std::string& group) {
    asio::post(io, [this, id, group] {
      Session* s = find(id);
      if (!s) return;
      leaveGroup(*s);
      s->group = group;
      if (!group.empty()) groups[group].push_back(s);
    });
  }

  void leaveGroup(Session& s) {
    if (s.group.empty()) return;
    auto it = groups.find(s.group);
    if (it != groups.end()) {
      auto& members = it->second;
      members.erase(std::remove(members.begin(), members.end(), &s), members.end());
      if (members.empty()) groups.erase(it);
    }
    s.group.clear();
  }

  void close(SessionId id) {
    {
      // From here on the session sends and takes nothing, though the media thread closes its socket later.
      std::lock_guard<std::mutex> lock(mutex);
      if (auto it = openStats.find(id); it != openStats.end()) {
        it->second->closed = true;
        openStats.erase(it);
      }
    }
    asio::post(io, [this, id] {
      auto it = sessions.find(id);
      if (it == sessions.end()) return;
      auto session = it->second;
      sessions.erase(it);
      if (auto named = byLabel.find(session->label); named != byLabel.end() && named->second == session.get())
        byLabel.erase(named);
      leaveGroup(*session);
      asio::error_code ignored;
      session->socket.close(ignored);
      session->stats->closed = true;
      session->abandonTones();
      std::lock_guard<std::mutex> lock(mutex);
      for (auto& [label, stats] : labels)
        if (stats == session->stats) {
          closedLabels.push_back(label);
          break;
        }
      while (closedLabels.size() > kClosedKept) {
        auto old = labels.find(closedLabels.front());
        if (old != labels.end() && old->second->closed) labels.erase(old);
        closedLabels.pop_front();
      }
    });
  }

  void sendDtmf(SessionId id, std::string tones, std::chrono::milliseconds duration, std::function<void(bool)> done) {
    asio::post(io, [this, id, tones = std::move(tones), duration, done = std::move(done)]() mutable {
      Session* s = find(id);
      if (!s || !s->configured || s->stream.telephoneEvent < 0 || !s->stream.send) return done(false);
      const std::size_t before = s->tones.size();
      for (char tone : tones) {
        OutgoingTone t;
        t.event = dtmfEvent(tone);
        t.length = static_cast<std::uint32_t>(duration.count()) * kSampleRate / 1000;
        if (t.event >= 0) s->tones.push_back(t);
      }
      if (s->tones.size() == before) return done(true);
      s->tones.back().done = std::move(done);
    });
  }

  std::optional<MediaCounters> counters(const std::string& label) const {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = labels.find(label);
    if (it == labels.end()) return std::nullopt;
    return it->second->snapshot();
  }

  MediaCounters totals(std::size_t* open) const {
    std::lock_guard<std::mutex> lock(mutex);
    MediaCounters sum;
    std::size_t live = 0;
    for (const auto& [label, stats] : labels) {
      const auto c = stats->snapshot();
      sum.packetsReceived += c.packetsReceived;
      sum.packetsSent += c.packetsSent;
      sum.bytesReceived += c.bytesReceived;
      sum.bytesSent += c.bytesSent;
      sum.malformed += c.malformed;
      sum.wrongSource += c.wrongSource;
      sum.late += c.late;
      sum.duplicates += c.duplicates;
      sum.unauthenticated += c.unauthenticated;
      sum.reordered += c.reordered;
      sum.concealed += c.concealed;
      sum.dtmfReceived += c.dtmfReceived;
      sum.dtmfDropped += c.dtmfDropped;
      live += !c.closed;
    }
    if (open) *open = live;
    return sum;
  }

  // --- receiving ---

  void receive(const std::shared_ptr<Session>& session) {
    Session* s = session.get();
    s->socket.async_receive_from(asio::buffer(s->buffer), s->sender,
                                 [this, weak = std::weak_ptr<Session>(session)](const asio::error_code& ec, std::size_t n) {
                                   auto session = weak.lock();
                                   if (!session || ec == asio::error::operation_aborted || !session->socket.is_open())
                                     return;
                                   if (!ec) received(*session, n);
                                   receive(session);
                                 });
  }

  // SRTP first, when the call has it: what fails authentication is dropped before anything reads it.
  void received(Session& s, std::size_t size) {
    if (s.stats->closed) return;
    if (s.srtp) {
      const auto plainSize = s.srtp->unprotect(s.buffer.data(), size);
      if (!plainSize) return void(++s.stats->unauthenticated);
      size = *plainSize;
    }
    onDatagram(s, std::string_view(s.buffer.data(), size));
  }

  void onDatagram(Session& s, std::string_view datagram) {
    const auto packet = parseRtp(datagram);
    if (!packet) return void(++s.stats->malformed);
    const auto now = Clock::now();
    if (!s.configured) return;  // nothing negotiated yet (a callee sending before its 2xx is read): no format known
    if (!s.latched || *s.latched != s.sender || packet->ssrc != s.ssrc) {
      if (s.latched && now - s.lastPacket < kRelatchAfter) return void(++s.stats->wrongSource);
      if (s.latched && packet->ssrc != s.ssrc) s.jitter.reset();
      s.latched = s.sender;
      s.ssrc = packet->ssrc;
      s.haveEvent = false;
    }
    s.lastPacket = now;
    s.timedOut = false;
    if (packet->payloadType == s.stream.telephoneEvent) {
      ++s.stats->packetsReceived;
      s.stats->bytesReceived += datagram.size();
      return onTelephoneEvent(s, *packet, now);
    }
    if (packet->payloadType == kComfortNoisePayloadType) {
      ++s.stats->packetsReceived;
      s.stats->bytesReceived += datagram.size();
      return;
    }
    if (packet->payloadType != s.stream.payloadType || packet->payload.size() > s.buffer.size())
      return void(++s.stats->malformed);
    ++s.stats->packetsReceived;
    s.stats->bytesReceived += datagram.size();
    std::array<std::int16_t, 2048> samples{};
    const std::size_t count = packet->payload.size();
    decodeG711(s.stream.codec, reinterpret_cast<const std::uint8_t*>(packet->payload.data()), count, samples.data());
    s.jitter.put(packet->sequence, packet->timestamp, samples.data(), count);
    s.stats->late = s.jitter.counters().late;
    s.stats->duplicates = s.jitter.counters().duplicates;
    s.stats->reordered = s.jitter.counters().reordered;
  }

  // RFC 4733: one key press is one event timestamp, however many packets (updates, three ends, retransmissions)
  // carry it.
  void onTelephoneEvent(Session& s, const RtpPacket& packet, Clock::time_point now) {
    const auto event = parseTelephoneEvent(packet.payload);
    if (!event) return void(++s.stats->malformed);
    const char tone = dtmfTone(event->event);
    if (!tone) return;  // flash, and events that are not keys
    if (s.haveEvent && packet.timestamp == s.eventTimestamp && event->event == s.eventCode) return;
    s.haveEvent = true;
    s.eventTimestamp = packet.timestamp;
    s.eventCode = event->event;
    while (!s.recentPresses.empty() && now - s.recentPresses.front() >= std::chrono::seconds(1)) s.recentPresses.pop_front();
    if (s.recentPresses.size() >= kDtmfPerSecond) return void(++s.stats->dtmfDropped);
    s.recentPresses.push_back(now);
    ++s.stats->dtmfReceived;
    if (events.dtmf) events.dtmf(s.id, tone, event->volume);
  }

  // --- the clock ---

  void scheduleTick() {
    tick.expires_at(nextTick);
    tick.async_wait([this](const asio::error_code& ec) {
      if (ec) return;
      const auto now = Clock::now();
      nextTick += kTick;
      if (now - nextTick > 5 * kTick) nextTick = now + kTick;  // far behind (a stalled machine): don't burst
      onTick(now);
      scheduleTick();
    });
  }

  void onTick(Clock::time_point now) {
    for (auto& [id, s] : sessions) {
      if (s->track) {
        pullTrack(*s);
        continue;
      }
      s->active = s->configured && s->stream.receive && s->jitter.pull(s->frame.data(), kFrameSamples);
      const auto& jc = s->jitter.counters();
      s->stats->concealed = jc.concealed;
      if (options.rtpTimeout.count() > 0 && s->configured && s->stream.receive && !s->timedOut &&
          now - s->lastPacket >= options.rtpTimeout) {
        s->timedOut = true;
        if (events.timedOut) events.timedOut(id);
      }
    }
    for (auto& [name, members] : groups) mix(members);
    render();
    for (auto& [id, s] : sessions) {
      // Every session's clock runs whether or not it sends, so that its timestamps follow real time.
      if (!s->tones.empty()) sendTone(*s);
      s->timestamp += kFrameSamples;
    }
  }

  // A track plays what is queued once 40 ms are, or once what there is has waited 40 ms (a short write, the end
  // of a prompt); after an underrun, likewise.
  void pullTrack(Session& s) {
    if (!s.primed && !s.queued.empty() && (s.queued.size() >= kTrackPrime || ++s.waited >= 2)) s.primed = true;
    if (s.queued.empty()) s.waited = 0;
    s.active = s.primed && !s.queued.empty();
    if (!s.active) return void(s.primed = false);
    const std::size_t n = std::min(kFrameSamples, s.queued.size());
    std::copy(s.queued.begin(), s.queued.begin() + static_cast<std::ptrdiff_t>(n), s.frame.begin());
    std::fill(s.frame.begin() + static_cast<std::ptrdiff_t>(n), s.frame.end(), std::int16_t{0});
    s.queued.erase(s.queued.begin(), s.queued.begin() + static_cast<std::ptrdiff_t>(n));
  }

  // Each renderer gets its participant's 20 ms, at its rate.
  void render() {
    static const std::array<std::int16_t, kFrameSamples> silence{};
    for (auto& [id, sub] : subscriptions) {
      auto it = byLabel.find(sub.label);
      if (it == byLabel.end()) continue;
      const Session& source = *it->second;
      const std::int16_t* frame = source.active ? source.frame.data() : silence.data();
      if (!sub.resampler) {
        sub.sink(frame, kFrameSamples);
        continue;
      }
      sub.out.clear();
      sub.resampler->process(frame, kFrameSamples, sub.out);
      sub.sink(sub.out.data(), sub.out.size());
    }
  }

  // Mix-minus: each member hears the sum of the others.
  void mix(const std::vector<Session*>& members) {
    std::fill(sum.begin(), sum.end(), 0);
    for (const Session* m : members)
      if (m->active)
        for (std::size_t i = 0; i < kFrameSamples; ++i) sum[i] += m->frame[i];
    for (Session* m : members) {
      if (!m->configured || !m->stream.send || m->toneOn()) continue;
      for (std::size_t i = 0; i < kFrameSamples; ++i) {
        const std::int32_t v = sum[i] - (m->active ? m->frame[i] : 0);
        mixed[i] = static_cast<std::int16_t>(std::clamp<std::int32_t>(v, -32768, 32767));
      }
      encodeG711(m->stream.codec, mixed.data(), kFrameSamples, encoded.data());
      send(*m, m->stream.payloadType, std::exchange(m->first, false), m->timestamp, encoded.data(), kFrameSamples);
    }
  }

  void send(Session& s, int payloadType, bool marker, std::uint32_t timestamp, const std::uint8_t* payload,
            std::size_t size) {
    const auto to = s.destination();
    if (!to || s.stats->closed) return;
    s.packet.clear();
    writeRtp(s.packet, marker, payloadType, s.sequence++, timestamp, s.ourSsrc, payload, size);
    if (s.srtp && !s.srtp->protect(s.packet)) return;
    asio::error_code ec;
    const std::size_t n = s.socket.send_to(asio::buffer(s.packet), *to, 0, ec);
    if (ec) return;  // would block, or the peer's port is closed (ICMP): RTP is not retransmitted
    ++s.stats->packetsSent;
    s.stats->bytesSent += n;
  }

  // One 20 ms step of the first queued tone (RFC 4733 2.5: updates with a growing duration on one timestamp, the
  // end three times), then its pause, then the next.
  void sendTone(Session& s) {
    OutgoingTone& t = s.tones.front();
    if (t.endsSent < kEndRepeats) {
      const bool first = !t.started;
      if (first) {
        t.started = true;
        t.timestamp = s.timestamp;
      }
      t.sent = std::min(t.length, t.sent + static_cast<std::uint32_t>(kFrameSamples));
      const bool end = t.sent >= t.length;
      if (end) ++t.endsSent;
      std::vector<std::uint8_t> payload;
      writeTelephoneEvent(payload, TelephoneEvent{t.event, end, 10, static_cast<std::uint16_t>(std::min<std::uint32_t>(t.sent, 0xffff))});
      send(s, s.stream.telephoneEvent, first, t.timestamp, payload.data(), payload.size());
      return;
    }
    if (--t.pauseTicks > 0) return;
    auto done = std::move(t.done);
    s.tones.pop_front();
    if (done) done(true);
  }
};

Engine::Engine(EngineOptions options, Events events) : impl_(std::make_unique<Impl>(std::move(options), std::move(events))) {}
Engine::~Engine() { impl_->stop(); }
void Engine::start() { impl_->start(); }
void Engine::stop() { impl_->stop(); }
std::optional<Engine::Opened> Engine::open(const std::string& label) { return impl_->open(label); }
void Engine::configure(SessionId id, const Negotiated& stream) { impl_->configure(id, stream); }
void Engine::join(SessionId id, const std::string& group) { impl_->join(id, group); }
void Engine::close(SessionId id) { impl_->close(id); }
void Engine::sendDtmf(SessionId id, std::string tones, std::chrono::milliseconds duration, std::function<void(bool)> done) {
  impl_->sendDtmf(id, std::move(tones), duration, std::move(done));
}
std::optional<MediaCounters> Engine::counters(const std::string& label) const { return impl_->counters(label); }
MediaCounters Engine::totals(std::size_t* open) const { return impl_->totals(open); }
std::optional<Engine::SessionId> Engine::openTrack(const std::string& label, int sampleRate, int channels) {
  return impl_->openTrack(label, sampleRate, channels);
}
void Engine::pushAudio(SessionId id, std::vector<std::int16_t> samples) { impl_->pushAudio(id, std::move(samples)); }
std::uint64_t Engine::subscribe(const std::string& label, int sampleRate, Sink sink) {
  return impl_->subscribe(label, sampleRate, std::move(sink));
}
void Engine::unsubscribe(std::uint64_t subscription) { impl_->unsubscribe(subscription); }
void Engine::relabel(SessionId id, const std::string& label) { impl_->relabel(id, label); }

}  // namespace daily::devserver::media
