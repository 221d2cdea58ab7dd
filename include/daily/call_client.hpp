#pragma once

#include <daily/audio.hpp>
#include <daily/error.hpp>
#include <daily/event.hpp>
#include <daily/export.hpp>
#include <daily/options.hpp>

#include <nlohmann/json.hpp>

#include <functional>
#include <future>
#include <memory>
#include <string>
#include <vector>

namespace daily {

/// A call object, as daily-js's: joins one room over a signaling websocket, keeps its participants,
/// fires daily-js events, and drives the room's telephony (sipRefer and its siblings).
///
/// Threads: every method may be called from any thread, including from inside an event handler.
/// Handlers run on the SDK's dispatcher thread (shared by all clients in the process), never on the
/// network thread, one at a time and in the order the server sent the events.
/// Futures complete on the SDK's network thread; calling get() inside a handler is allowed.
/// Every future completes: with a value, or with daily::Error.
class DAILY_API CallClient {
 public:
  CallClient();
  explicit CallClient(CallClientOptions options);
  /// Leaves the room (best effort, without waiting for the server) and fails pending futures with
  /// ConnectionLost. Returns promptly; may be called from inside this client's own handler.
  ~CallClient();
  CallClient(const CallClient&) = delete;
  CallClient& operator=(const CallClient&) = delete;

  /// A process-unique id, carried as "callClientId" by every event, as daily-js does.
  const std::string& callClientId() const;

  /// Joins the room at options.url. Resolves with participants() once joined, as daily-js join().
  /// @throws Error (from get()) InvalidArgument for a malformed URL; NotFound for an unknown room;
  ///   PermissionDenied for a missing, bad, expired, not-yet-valid or foreign token; NotJoined when this client
  ///   already joined or is joining; ConnectionLost when the server cannot be reached or goes away; Timeout.
  [[nodiscard]] std::future<nlohmann::json> join(JoinOptions options);

  /// Leaves the room; resolves once the server confirmed (or the connection is gone), after left-meeting. As
  /// daily-js's leave(): with no meeting (in "new", "left-meeting" or "error") it does nothing and resolves at
  /// once, with no event; while joining it abandons the join (which fails with ConnectionLost); called again while
  /// a leave is under way, it resolves with that one. It never fails.
  [[nodiscard]] std::future<void> leave();

  /// "new", "joining-meeting", "joined-meeting", "left-meeting" or "error".
  std::string meetingState() const;

  /// {"local": {...}, "<session_id>": {...}} in daily-js's shape; {} before join.
  /// It includes every participant event delivered so far (a handler sees its own event applied) and, once one of
  /// this client's futures has completed with the server's answer, every event the server sent before that answer.
  nlohmann::json participants() const;
  /// daily-js's participantCounts(): {"present": N, "hidden": M}, the participants in the meeting with and
  /// without presence (permissions.hasPresence), this client included; zeros when not in a meeting. A change
  /// while in the meeting (the join included) fires participant-counts-updated {participantCounts}.
  nlohmann::json participantCounts() const;

  /// Adds a handler for one event name ("*" for every event): any name of daily-js 0.92.2's DailyEvent, dtmf-event,
  /// or one of daily-cpp's (sip-refer-progress, sip-call-transfer-progress, sip-inbound-refer-progress).
  /// docs/protocol.md ("Event names") says which of them are ever delivered.
  /// @throws Error InvalidArgument (at once) for any other name, or an empty handler.
  ListenerId on(const std::string& event, std::function<void(const Event&)> handler);
  /// As on(), but the handler is removed before its first call.
  ListenerId once(const std::string& event, std::function<void(const Event&)> handler);
  /// Removes a handler. Once off() returns the handler is not running and never runs again
  /// (unless off() was called from inside that very handler, which then finishes normally).
  void off(ListenerId id);

  /// Hands the SIP participant sessionId off to toEndPoint with a SIP REFER; the gateway leaves the call.
  /// Resolves when the SIP peer accepted the REFER (2xx). Progress arrives as "sip-refer-progress" events.
  /// @throws Error (from get()) NotJoined; InvalidArgument (empty sessionId, bad or header-injecting URI or
  ///   header; nothing is sent); PermissionDenied (not owner/admin; nothing is sent); NotFound (no such SIP
  ///   participant); SipRejected with sipStatus() (the peer refused the REFER); Timeout (no answer from the peer);
  ///   ConnectionLost.
  [[nodiscard]] std::future<void> sipRefer(SipReferOptions options);

  /// Transfers the SIP participant to toEndPoint with the gateway staying in the call.
  /// Resolves when toEndPoint answered. @throws Error as sipRefer().
  [[nodiscard]] std::future<void> sipCallTransfer(SipCallTransferOptions options);

  /// Dials out from the room; resolves with the new participant's session once the INVITE left.
  /// The call's progress arrives as dialout-connected / dialout-answered / dialout-error events.
  /// @throws Error (from get()) NotJoined, InvalidArgument, PermissionDenied, ConnectionLost.
  [[nodiscard]] std::future<DialOutSession> startDialOut(StartDialOutOptions options);

  /// daily-js's sendAppMessage(data, recipient): data (any JSON, at most 4 KB serialised) to every other
  /// participant ("*") or to one session_id, as their app-message event {data, fromId}. SIP participants receive
  /// none. A recipient not in the call gets nothing, and that is not an error (Daily does not store messages).
  /// Resolves once the server has relayed it.
  /// @throws Error (from get()) InvalidArgument (an empty recipient, data over 4 KB), NotJoined.
  [[nodiscard]] std::future<void> sendAppMessage(nlohmann::json data, std::string to = "*");
  /// As above, to several session_ids (daily-js takes an array too).
  [[nodiscard]] std::future<void> sendAppMessage(nlohmann::json data, std::vector<std::string> to);

  /// daily-js's updateParticipant(sessionId, updates): {"eject": true} hangs up a SIP participant's call or puts
  /// a client out of the meeting (its fatal error "ejected"); {"updatePermissions": {"hasPresence": …,
  /// "canAdmin": …}} changes what it may do (the participant hears participant-updated for its local participant,
  /// the others for it). Needs an owner, or a canAdmin that holds "participants"; the server checks that itself.
  /// daily-js's other fields (setAudio, setVideo, setScreenShare, setSubscribedTracks, styles) and the canSend
  /// and canReceive permissions are refused by name. Resolves once done (an ejected call has ended).
  /// @throws Error (from get()) InvalidArgument, NotFound (no such participant), PermissionDenied, NotJoined.
  [[nodiscard]] std::future<void> updateParticipant(std::string sessionId, nlohmann::json updates);
  /// As above, for several: {"<session_id>": {...}, ...}; all of it is checked before anything changes.
  [[nodiscard]] std::future<void> updateParticipants(nlohmann::json updates);

  /// daily-js's setUserName(): the name the others see from now on (at most 256 bytes). They get
  /// participant-updated, and so does this client, for its local participant, once the server has it.
  /// @throws Error (from get()) InvalidArgument, NotJoined.
  [[nodiscard]] std::future<void> setUserName(std::string userName);
  /// daily-js's setUserData(): any JSON (at most 4 KB serialised), the participant's userData from now on; as
  /// setUserName(), participant-updated here and for the others.
  /// @throws Error (from get()) InvalidArgument, NotJoined.
  [[nodiscard]] std::future<void> setUserData(nlohmann::json userData);

  /// Hangs up a dial-out leg (BYE, or CANCEL before answer). @throws Error NotFound for an unknown session.
  [[nodiscard]] std::future<void> stopDialOut(StopDialOutOptions options);

  /// Sends DTMF tones to a SIP participant: as RFC 4733 telephone-events in its audio, or in SIP INFOs
  /// (application/dtmf-relay), by options.method. Resolves once the last tone has been sent.
  /// @throws Error InvalidArgument for bad tones, a bad method, or telephone-event on a call that did not
  ///   negotiate it; NotFound, SipRejected, Timeout, as sipRefer().
  [[nodiscard]] std::future<void> sendDTMF(SendDtmfOptions options);

  /// Plays track's source into the room as this participant's audio track trackName (as daily-python's
  /// add_custom_audio_track): everyone else in the room hears it. Resolves once the server has added it; from
  /// then on the source's writeFrames() are sent, and the others see it in this participant's `tracks` as
  /// `tracks[trackName]`, state "playable" (as daily-js shows a custom track). The track is gone when the client
  /// leaves.
  /// @throws Error (from get()) NotJoined; InvalidArgument (no track, a trackName not of 1 to 64 of A-Z, a-z, 0-9,
  ///   '-', '_', '.', or one of daily-js's own track keys: audio, video, screenAudio, screenVideo, rmpAudio,
  ///   rmpVideo; a name in use; a source already attached elsewhere); ConnectionLost.
  [[nodiscard]] std::future<void> addCustomAudioTrack(const std::string& trackName, std::shared_ptr<CustomAudioTrack> track);
  /// Stops and removes a track; its source's pending writes resolve with what was sent of them.
  /// @throws Error (from get()) NotJoined, NotFound (no such track), ConnectionLost.
  [[nodiscard]] std::future<void> removeCustomAudioTrack(const std::string& trackName);

  /// Hands callback participantId's audio (options.audioSource of it), options.callbackInterval at a time, at
  /// options.sampleRate, mono, on the SDK's media thread (as daily-python's set_audio_renderer). A null callback
  /// removes the renderer. Set before join, it starts with the join; it survives reconnections. A bot that renders
  /// nothing is sent no audio. Once this returns, a replaced or removed callback is not running and never runs
  /// again (called from that callback itself, the callback's current call finishes first); likewise once the
  /// CallClient is destroyed, for all its renderers.
  /// @throws Error InvalidArgument (an empty participantId or audioSource, a rate other than 8000, 16000, 24000
  ///   or 48000, an interval outside 10 ms to 1 s or not a multiple of 10 ms).
  void setAudioRenderer(const std::string& participantId, AudioRenderer callback, AudioRendererOptions options = {});

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace daily
