#pragma once

// The devserver's media engine: one RTP session per SIP leg, on a thread of its own with a 20 ms clock. Each
// session receives into a jitter buffer and sends from the mix of its group: a room's group mixes everyone but
// the listener (mix-minus), a bridge's group is its two legs. It knows nothing of SIP: the gateway opens a
// session when it writes an SDP, configures it from the offer/answer, puts it in a group, and closes it when the
// leg ends. Every method is safe from any thread and none waits for the media thread; the events it reports
// run on the media thread (the gateway posts them to its own).

#include "media/sdp.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace daily::devserver::media {

/// The group of a room's audio: everyone in it hears everyone else.
inline std::string roomGroup(const std::string& room) { return "room:" + room; }

struct EngineOptions {
  std::string host = "127.0.0.1";
  /// RTP ports: the even ones of [firstPort, lastPort] (RTCP, not served, would take the odd one above each).
  std::uint16_t firstPort = 10000;
  std::uint16_t lastPort = 20000;
  /// A session that should be receiving and has received nothing for this long is reported timed out; 0 = never.
  std::chrono::milliseconds rtpTimeout{0};
  /// How far behind the newest audio a jitter buffer plays.
  std::chrono::milliseconds jitterDelay{60};
};

/// What one session has done, since it was opened; kept for a while after it was closed.
struct MediaCounters {
  std::uint64_t packetsReceived = 0;   // RTP packets taken (audio, telephone-event, comfort noise)
  std::uint64_t packetsSent = 0;
  std::uint64_t bytesReceived = 0;     // whole datagrams
  std::uint64_t bytesSent = 0;
  std::uint64_t malformed = 0;         // not RTP, or a payload type not negotiated
  std::uint64_t unauthenticated = 0;   // SRTP calls: failed authentication or the replay check (or plain RTP)
  std::uint64_t wrongSource = 0;       // another address or SSRC than the stream's, while that stream was live
  std::uint64_t late = 0;              // jitter buffer: too late to play
  std::uint64_t duplicates = 0;
  std::uint64_t reordered = 0;         // arrived after a later packet (put in place when still in time)
  std::uint64_t concealed = 0;         // 20 ms frames made up for lost packets
  std::uint64_t dtmfReceived = 0;      // key presses reported
  std::uint64_t dtmfDropped = 0;       // key presses beyond the rate limit
  bool srtp = false;                   // what it negotiated last is SRTP
  bool closed = false;
};

class Engine {
 public:
  using SessionId = std::uint64_t;
  struct Events {
    /// A key press received as RFC 4733 telephone-events (once per press, however many packets carry it).
    std::function<void(SessionId, char tone, int volume)> dtmf;
    /// A receiving session heard nothing for rtpTimeout (reported once per silence).
    std::function<void(SessionId)> timedOut;
  };

  Engine(EngineOptions options, Events events);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  /// Starts the media thread. Throws std::invalid_argument for a port range without an even port.
  void start();
  /// Stops the thread and closes every session; no event is reported afterwards.
  void stop();

  struct Opened {
    SessionId id;
    std::uint16_t port;
  };
  /// Binds a session's socket (on the calling thread; the media thread starts reading it): nullopt when no port
  /// of the range is free. label names its counters (the leg's session id).
  std::optional<Opened> open(const std::string& label);
  /// What the offer/answer negotiated: where to send, in which format, which way.
  void configure(SessionId id, const Negotiated& stream);
  /// Moves the session into group (a room's or a bridge's name), or out of any with "". Outside a group a
  /// session still receives (and reports DTMF) but sends nothing but DTMF.
  void join(SessionId id, const std::string& group);
  /// Closes the socket: nothing more is sent or received.
  void close(SessionId id);
  /// Sends tones ('0'-'9', '*', '#', 'A'-'D') as RFC 4733 events, each lasting `duration`, then calls done on the
  /// media thread: true once the last end packet is sent, false when the session cannot send telephone-events or
  /// closes first.
  void sendDtmf(SessionId id, std::string tones, std::chrono::milliseconds duration, std::function<void(bool)> done);

  /// A bot's custom audio track: a session without a socket, fed by pushAudio with interleaved 16-bit audio at
  /// sampleRate (8000 to 48000) and channels (1 or 2), mixed into its group like a call's audio. nullopt when the
  /// engine is stopped. Throws std::invalid_argument for a rate or channel count it cannot take.
  std::optional<SessionId> openTrack(const std::string& label, int sampleRate, int channels);
  /// Queues a track's audio (at most a second is kept: a sender running ahead loses the oldest).
  void pushAudio(SessionId id, std::vector<std::int16_t> samples);

  /// Every 20 ms of the audio the session labelled `label` receives (silence while it is quiet; nothing while no
  /// session has that label), resampled to sampleRate, mono. The sink runs on the media thread.
  using Sink = std::function<void(const std::int16_t* samples, std::size_t count)>;
  std::uint64_t subscribe(const std::string& label, int sampleRate, Sink sink);
  void unsubscribe(std::uint64_t subscription);
  /// Gives a session another label (a call that took over another's participant).
  void relabel(SessionId id, const std::string& label);

  /// The counters of the session labelled so, open or recently closed.
  std::optional<MediaCounters> counters(const std::string& label) const;
  /// The sums of every session's counters (the open and the recently closed), and how many are open.
  MediaCounters totals(std::size_t* open = nullptr) const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace daily::devserver::media
