#pragma once

// The signaling protocol shared by libdaily and daily-devserver; docs/protocol.md is its description.

#include <daily/error.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace daily::protocol {

inline constexpr int kVersion = 1;
/// The largest text frame the server accepts from a client; bigger ones close the connection with 1009.
inline constexpr std::size_t kMaxFrameBytes = 64 * 1024;
/// The largest text frame a client accepts from its server: a join answer lists every participant of the room
/// (about 500 bytes each), so it is larger, but still bounded.
inline constexpr std::size_t kMaxServerFrameBytes = 16 * 1024 * 1024;
/// The deepest JSON nesting either side accepts in a frame.
inline constexpr int kMaxJsonDepth = 32;
/// The most an app message's data may take, serialised as JSON (daily-js: "within the 4kb size limit").
inline constexpr std::size_t kMaxAppMessageBytes = 4096;
/// The longest user name, in bytes.
inline constexpr std::size_t kMaxUserNameBytes = 256;
/// The most a participant's userData may take, serialised as JSON (Daily's limit: 4096 bytes).
inline constexpr std::size_t kMaxUserDataBytes = 4096;

/// The path of the signaling websocket on the server.
inline constexpr std::string_view kSignalingPath = "/ws";

enum class FrameType { Request, Response, Event };

struct WireError {
  ErrorCode code = ErrorCode::ServerError;
  std::string message;
  int sipStatus = 0;
  /// daily-js's fatal error type where one applies ("exp-token", "no-room", ...); empty otherwise.
  std::string type;
};

/// One decoded frame. Which fields are set depends on type.
struct Frame {
  FrameType type = FrameType::Event;
  std::uint64_t id = 0;              // Request, Response
  std::string method;                // Request
  nlohmann::json params;             // Request (object)
  nlohmann::json result;             // Response on success
  std::optional<WireError> error;    // Response on failure
  std::string action;                // Event
  nlohmann::json payload;            // Event (object)
};

/// The wire name of an error code, e.g. "permission-denied".
std::string_view errorCodeName(ErrorCode code);
/// The error code of a wire name; nullopt for an unknown name.
std::optional<ErrorCode> errorCodeFromName(std::string_view name);

std::string encodeRequest(std::uint64_t id, std::string_view method, const nlohmann::json& params);
std::string encodeResult(std::uint64_t id, const nlohmann::json& result);
std::string encodeError(std::uint64_t id, const WireError& error);
std::string encodeEvent(std::string_view action, const nlohmann::json& payload);

/// Decodes and validates one text frame. On failure returns nullopt and sets *why.
/// Unknown fields are ignored; missing or mistyped required fields, a wrong version, oversized or
/// too deeply nested input are failures.
/// maxBytes: kMaxFrameBytes for what a client sent, kMaxServerFrameBytes for what a server sent.
std::optional<Frame> decodeFrame(std::string_view text, std::string* why, std::size_t maxBytes = kMaxFrameBytes);

/// True when text, if it is valid JSON, can only be an event frame: it ends as encodeEvent() ends every event
/// (`"type":"event","v":1}`, which are then the last members of the top-level object, and a duplicate key's
/// last value is the one that counts). Exact and cheap for frames from our own server, none of whose other
/// frames ends so; a frame it does not recognise may still be an event of another key order.
bool endsAsEvent(std::string_view text);

/// decodeFrame() for the frames endsAsEvent() recognises, and the same result for any text: a frame laid out as
/// encodeEvent() lays it out has only its payload parsed (a quarter less of the dispatcher's CPU per event than
/// parsing the whole frame); anything else is handed to decodeFrame().
std::optional<Frame> decodeEvent(std::string_view text, std::string* why, std::size_t maxBytes = kMaxFrameBytes);

/// Audio travels in binary frames on the same websocket (docs/protocol.md, "Audio"): 20 ms of 16-bit PCM each.
/// ToServer: a bot's custom track, named by its track name. ToClient: a participant's audio for a renderer,
/// named "<session_id>" or "<session_id>/<track name>", mono at the renderer's rate.
enum class AudioDirection : std::uint8_t { ToServer = 1, ToClient = 2 };
struct AudioFrame {
  AudioDirection direction = AudioDirection::ToServer;
  std::uint32_t sequence = 0;
  int sampleRate = 16000;
  int channels = 1;
  std::string name;
  std::vector<std::int16_t> samples;  // interleaved
};
/// The rates a track or a renderer may use.
bool supportedAudioRate(int sampleRate);
/// A custom track's name: 1 to 64 of A-Z, a-z, 0-9, '-', '_', '.', and none of the keys daily-js gives a
/// participant's own tracks (its `tracks` object holds custom tracks beside them, by name).
bool validTrackName(std::string_view name);
inline constexpr const char* kTrackNameRule =
    "1 to 64 of A-Z, a-z, 0-9, '-', '_', '.', and none of audio, video, screenAudio, screenVideo, rmpAudio, rmpVideo";
/// The bounds of a frame: a name of 1 to 128 bytes, 1 or 2 channels, at most 100 ms of audio.
inline constexpr std::size_t kMaxAudioName = 128;
std::string encodeAudioFrame(const AudioFrame& frame);
/// nullopt, with *why, for a frame that is not one (too short, another version, out of bounds).
std::optional<AudioFrame> decodeAudioFrame(std::string_view bytes, std::string* why);

/// What is wrong with the argument of daily-js's updateParticipants() (empty when nothing is): an object of
/// session_id → {eject: true, updatePermissions: {hasPresence, canAdmin}}, at most 100 of them. daily-js's other
/// fields, and the permissions the devserver does not enforce (canSend, canReceive), are refused by name. Both the
/// client and the server check it.
std::string participantUpdatesProblem(const nlohmann::json& updates);
/// A canAdmin value: a boolean, or an array of "participants", "streaming", "transcription".
bool isCanAdminValue(const nlohmann::json& value);
/// Whether a participant object may eject and change the permissions of others: an owner, or canAdmin true or
/// holding "participants" (Daily's rule).
bool administersParticipants(const nlohmann::json& participant);

/// Turns a wire error into the daily::Error a future fails with.
Error toError(const WireError& error);

}  // namespace daily::protocol
