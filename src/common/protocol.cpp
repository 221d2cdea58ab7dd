#include "common/protocol.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace daily::protocol {
namespace {

constexpr std::array<std::pair<ErrorCode, std::string_view>, 8> kErrorNames{{
    {ErrorCode::InvalidArgument, "invalid-argument"},
    {ErrorCode::NotJoined, "not-joined"},
    {ErrorCode::PermissionDenied, "permission-denied"},
    {ErrorCode::NotFound, "not-found"},
    {ErrorCode::SipRejected, "sip-rejected"},
    {ErrorCode::Timeout, "timeout"},
    {ErrorCode::ConnectionLost, "connection-lost"},
    {ErrorCode::ServerError, "server-error"},
}};

// nlohmann's own DOM builder, stopped the moment nesting goes deeper than a limit: hostile input never becomes a
// deep tree, and the limit costs no pass over the text of its own.
class DepthLimitedDom {
 public:
  using json = nlohmann::json;
  DepthLimitedDom(json& root, int limit) : dom_(root, /*allow_exceptions=*/false), limit_(limit) {}
  bool tooDeep() const { return tooDeep_; }

  // The SAX interface json::sax_parse drives.
  bool null() { return dom_.null(); }
  bool boolean(bool v) { return dom_.boolean(v); }
  bool number_integer(json::number_integer_t v) { return dom_.number_integer(v); }
  bool number_unsigned(json::number_unsigned_t v) { return dom_.number_unsigned(v); }
  bool number_float(json::number_float_t v, const json::string_t& text) { return dom_.number_float(v, text); }
  bool string(json::string_t& v) { return dom_.string(v); }
  bool binary(json::binary_t& v) { return dom_.binary(v); }
  bool key(json::string_t& k) { return dom_.key(k); }
  bool start_object(std::size_t n) { return deeper() && dom_.start_object(n); }
  bool end_object() { return --depth_, dom_.end_object(); }
  bool start_array(std::size_t n) { return deeper() && dom_.start_array(n); }
  bool end_array() { return --depth_, dom_.end_array(); }
  template <class Exception>
  bool parse_error(std::size_t position, const std::string& token, const Exception& e) {
    return dom_.parse_error(position, token, e);
  }

 private:
  bool deeper() { return ++depth_ <= limit_ || (tooDeep_ = true, false); }

  nlohmann::detail::json_sax_dom_parser<json> dom_;  // (detail, but what json::parse itself uses)
  int limit_;
  int depth_ = 0;
  bool tooDeep_ = false;
};

enum class Parsed { Ok, TooDeep, Invalid };

// Parses text as one JSON value (nothing after it), refusing nesting deeper than limit.
Parsed parseJson(std::string_view text, int limit, nlohmann::json& out) {
  DepthLimitedDom dom(out, limit);
  if (nlohmann::json::sax_parse(text.begin(), text.end(), &dom)) return Parsed::Ok;
  return dom.tooDeep() ? Parsed::TooDeep : Parsed::Invalid;
}

std::string encode(nlohmann::json frame) {
  frame["v"] = kVersion;
  return frame.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::nullopt_t reject(std::string* why, const char* message) {
  if (why) *why = message;
  return std::nullopt;
}

bool readId(const nlohmann::json& j, std::uint64_t& id) {
  auto it = j.find("id");
  if (it == j.end() || !it->is_number_unsigned()) return false;
  id = it->get<std::uint64_t>();
  return id != 0;
}

}  // namespace

std::string_view errorCodeName(ErrorCode code) {
  for (const auto& [c, name] : kErrorNames)
    if (c == code) return name;
  return "server-error";
}

std::optional<ErrorCode> errorCodeFromName(std::string_view name) {
  for (const auto& [c, n] : kErrorNames)
    if (n == name) return c;
  return std::nullopt;
}

std::string encodeRequest(std::uint64_t id, std::string_view method, const nlohmann::json& params) {
  return encode({{"type", "request"}, {"id", id}, {"method", method}, {"params", params}});
}

std::string encodeResult(std::uint64_t id, const nlohmann::json& result) {
  return encode({{"type", "response"}, {"id", id}, {"result", result}});
}

std::string encodeError(std::uint64_t id, const WireError& error) {
  nlohmann::json e{{"code", errorCodeName(error.code)}, {"message", error.message}};
  if (error.sipStatus != 0) e["sipStatus"] = error.sipStatus;
  if (!error.type.empty()) e["type"] = error.type;
  return encode({{"type", "response"}, {"id", id}, {"error", std::move(e)}});
}

std::string encodeEvent(std::string_view action, const nlohmann::json& payload) {
  return encode({{"type", "event"}, {"action", action}, {"payload", payload}});
}

std::optional<Frame> decodeFrame(std::string_view text, std::string* why, std::size_t maxBytes) {
  if (text.size() > maxBytes) return reject(why, "frame too large");
  nlohmann::json j;
  const Parsed parsed = parseJson(text, kMaxJsonDepth, j);
  if (parsed == Parsed::TooDeep) return reject(why, "frame nested too deeply");
  if (parsed != Parsed::Ok || !j.is_object()) return reject(why, "frame is not a JSON object");
  auto v = j.find("v");
  if (v == j.end() || !v->is_number_integer() || v->get<int>() != kVersion)
    return reject(why, "unsupported protocol version");
  auto type = j.find("type");
  if (type == j.end() || !type->is_string()) return reject(why, "frame has no type");

  Frame f;
  const std::string& t = type->get_ref<const std::string&>();
  if (t == "request") {
    f.type = FrameType::Request;
    if (!readId(j, f.id)) return reject(why, "request without a valid id");
    auto m = j.find("method");
    if (m == j.end() || !m->is_string() || m->get_ref<const std::string&>().empty())
      return reject(why, "request without a method");
    f.method = m->get<std::string>();
    auto p = j.find("params");
    if (p == j.end()) f.params = nlohmann::json::object();
    else if (p->is_object()) f.params = std::move(*p);
    else return reject(why, "request params must be an object");
  } else if (t == "response") {
    f.type = FrameType::Response;
    if (!readId(j, f.id)) return reject(why, "response without a valid id");
    auto e = j.find("error");
    if (e != j.end() && !e->is_null()) {
      if (!e->is_object()) return reject(why, "response error must be an object");
      WireError we;
      auto code = e->find("code");
      auto parsed = (code != e->end() && code->is_string()) ? errorCodeFromName(code->get_ref<const std::string&>())
                                                             : std::nullopt;
      we.code = parsed.value_or(ErrorCode::ServerError);
      auto msg = e->find("message");
      we.message = (msg != e->end() && msg->is_string()) ? msg->get<std::string>() : "server error";
      auto sip = e->find("sipStatus");
      if (sip != e->end() && sip->is_number_integer()) {
        const int s = sip->get<int>();
        if (s >= 100 && s <= 699) we.sipStatus = s;
      }
      auto et = e->find("type");
      if (et != e->end() && et->is_string()) we.type = et->get<std::string>();
      f.error = std::move(we);
    } else {
      auto r = j.find("result");
      f.result = r == j.end() ? nlohmann::json::object() : std::move(*r);
    }
  } else if (t == "event") {
    f.type = FrameType::Event;
    auto a = j.find("action");
    if (a == j.end() || !a->is_string() || a->get_ref<const std::string&>().empty())
      return reject(why, "event without an action");
    f.action = std::move(a->get_ref<std::string&>());
    auto p = j.find("payload");
    if (p == j.end()) f.payload = nlohmann::json::object();
    else if (p->is_object()) f.payload = std::move(*p);
    else return reject(why, "event payload must be an object");
  } else {
    return reject(why, "unknown frame type");
  }
  return f;
}

bool endsAsEvent(std::string_view text) {
  // Every quote in the suffix follows a character other than a backslash, so none is escaped; a quote that opened
  // a string here would leave `type`, `event` or `v` outside any string, which no valid JSON does.
  static_assert(kVersion == 1, "the suffix below spells the version");
  constexpr std::string_view kEnd = R"("type":"event","v":1})";
  if (text.size() <= kEnd.size() || text.substr(text.size() - kEnd.size()) != kEnd) return false;
  const char before = text[text.size() - kEnd.size() - 1];
  return before == ',' || before == '{';
}

std::optional<Frame> decodeEvent(std::string_view text, std::string* why, std::size_t maxBytes) {
  // encodeEvent() writes {"action":"<action>","payload":<payload>,"type":"event","v":1} (nlohmann sorts keys).
  // When text is laid out so, with an action free of escapes, it is a valid frame exactly when <payload> is one
  // JSON value: the four keys are then distinct, so there is no duplicate to resolve. Anything else, including
  // every frame this path would reject, goes to decodeFrame, so the result and the reason are always its own.
  constexpr std::string_view kStart = R"({"action":")";
  constexpr std::string_view kPayload = R"(","payload":)";
  constexpr std::string_view kEnd = R"(,"type":"event","v":1})";
  // (endsAsEvent() also takes a '{' before the suffix; here the comma must be there, or the byte taken for it
  // would be one the payload never sees: `{"action":"a","payload":{}{"type":"event","v":1}` is not JSON.)
  if (text.size() > maxBytes || !endsAsEvent(text) || text.substr(0, kStart.size()) != kStart ||
      text.substr(text.size() - kEnd.size()) != kEnd)
    return decodeFrame(text, why, maxBytes);
  const std::size_t actionEnd = text.find('"', kStart.size());
  if (actionEnd == std::string_view::npos || actionEnd == kStart.size() ||
      text.substr(actionEnd, kPayload.size()) != kPayload)
    return decodeFrame(text, why, maxBytes);
  const std::string_view action = text.substr(kStart.size(), actionEnd - kStart.size());
  for (unsigned char c : action)  // escapes, control characters and UTF-8 (which nlohmann checks) take the long way
    if (c == '\\' || c < 0x20 || c >= 0x80) return decodeFrame(text, why, maxBytes);
  const std::size_t payloadStart = actionEnd + kPayload.size();
  if (payloadStart + kEnd.size() > text.size()) return decodeFrame(text, why, maxBytes);
  const std::string_view payload = text.substr(payloadStart, text.size() - kEnd.size() - payloadStart);
  // (nlohmann's lexer ends the input at a NUL byte: inside the whole frame that is an error, at the end of the
  // payload alone it would not be.)
  if (payload.find('\0') != std::string_view::npos) return decodeFrame(text, why, maxBytes);
  nlohmann::json p;
  if (parseJson(payload, kMaxJsonDepth - 1, p) != Parsed::Ok || !p.is_object()) return decodeFrame(text, why, maxBytes);
  Frame f;
  f.type = FrameType::Event;
  f.action = std::string(action);
  f.payload = std::move(p);
  return f;
}

Error toError(const WireError& error) { return Error(error.code, error.message, error.sipStatus, 0, error.type); }

// Binary audio frames, all integers little-endian:
//   0  u8  version (1)
//   1  u8  direction (1 = to the server, 2 = to the client)
//   2  u8  channels
//   3  u8  name length N
//   4  u32 sequence
//   8  u32 sample rate
//   12 N bytes of name, then the samples as int16
namespace {
constexpr std::uint8_t kAudioVersion = 1;
constexpr std::size_t kAudioHeader = 12;
void put32(std::string& out, std::uint32_t v) {
  for (int shift = 0; shift < 32; shift += 8) out.push_back(static_cast<char>(v >> shift));
}
std::uint32_t get32(const unsigned char* p) {
  return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
         static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}
}  // namespace

bool supportedAudioRate(int sampleRate) {
  return sampleRate == 8000 || sampleRate == 16000 || sampleRate == 24000 || sampleRate == 48000;
}

bool validTrackName(std::string_view name) {
  for (std::string_view reserved : {"audio", "video", "screenAudio", "screenVideo", "rmpAudio", "rmpVideo"})
    if (name == reserved) return false;
  return !name.empty() && name.size() <= 64 &&
         name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") == std::string_view::npos;
}

std::string encodeAudioFrame(const AudioFrame& frame) {
  std::string out;
  out.reserve(kAudioHeader + frame.name.size() + 2 * frame.samples.size());
  out.push_back(static_cast<char>(kAudioVersion));
  out.push_back(static_cast<char>(frame.direction));
  out.push_back(static_cast<char>(frame.channels));
  out.push_back(static_cast<char>(frame.name.size()));
  put32(out, frame.sequence);
  put32(out, static_cast<std::uint32_t>(frame.sampleRate));
  out += frame.name;
  for (std::int16_t v : frame.samples) {
    const auto u = static_cast<std::uint16_t>(v);
    out.push_back(static_cast<char>(u & 0xff));
    out.push_back(static_cast<char>(u >> 8));
  }
  return out;
}

std::optional<AudioFrame> decodeAudioFrame(std::string_view bytes, std::string* why) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  if (bytes.size() < kAudioHeader) return *why = "an audio frame has a 12-byte header", std::nullopt;
  if (p[0] != kAudioVersion) return *why = "audio frame version " + std::to_string(p[0]) + " (this is 1)", std::nullopt;
  AudioFrame frame;
  if (p[1] != 1 && p[1] != 2) return *why = "an audio frame's direction is 1 or 2", std::nullopt;
  frame.direction = static_cast<AudioDirection>(p[1]);
  frame.channels = p[2];
  if (frame.channels != 1 && frame.channels != 2) return *why = "an audio frame has 1 or 2 channels", std::nullopt;
  const std::size_t nameLength = p[3];
  frame.sequence = get32(p + 4);
  const std::uint32_t rate = get32(p + 8);
  if (!supportedAudioRate(static_cast<int>(rate)))
    return *why = "an audio frame's rate is 8000, 16000, 24000 or 48000", std::nullopt;
  frame.sampleRate = static_cast<int>(rate);
  if (nameLength == 0 || nameLength > kMaxAudioName || kAudioHeader + nameLength > bytes.size())
    return *why = "an audio frame names its track or participant in 1 to 128 bytes", std::nullopt;
  frame.name = std::string(bytes.substr(kAudioHeader, nameLength));
  const std::size_t audio = bytes.size() - kAudioHeader - nameLength;
  const std::size_t most = static_cast<std::size_t>(frame.sampleRate) / 10 * static_cast<std::size_t>(frame.channels);
  if (audio % (2 * static_cast<std::size_t>(frame.channels)) != 0 || audio / 2 > most)
    return *why = "an audio frame holds whole samples, at most 100 ms of them", std::nullopt;
  frame.samples.resize(audio / 2);
  const unsigned char* q = p + kAudioHeader + nameLength;
  for (std::size_t i = 0; i < frame.samples.size(); ++i)
    frame.samples[i] = static_cast<std::int16_t>(static_cast<std::uint16_t>(q[2 * i] | q[2 * i + 1] << 8));
  return frame;
}


bool isCanAdminValue(const nlohmann::json& value) {
  if (value.is_boolean()) return true;
  if (!value.is_array()) return false;
  for (const auto& item : value)
    if (item != "participants" && item != "streaming" && item != "transcription") return false;
  return true;
}

bool administersParticipants(const nlohmann::json& participant) {
  if (!participant.is_object()) return false;
  if (participant.value("owner", false) == true) return true;
  const auto permissions = participant.find("permissions");
  if (permissions == participant.end() || !permissions->is_object()) return false;
  const auto canAdmin = permissions->find("canAdmin");
  if (canAdmin == permissions->end()) return false;
  if (*canAdmin == true) return true;
  return canAdmin->is_array() && std::find(canAdmin->begin(), canAdmin->end(), "participants") != canAdmin->end();
}

std::string participantUpdatesProblem(const nlohmann::json& updates) {
  if (!updates.is_object() || updates.empty()) return "updates must be an object of session_id -> update";
  if (updates.size() > 100) return "at most 100 participants at once";
  for (const auto& [sessionId, update] : updates.items()) {
    const std::string of = " (of " + (sessionId.size() > 64 ? sessionId.substr(0, 64) + "..." : sessionId) + ")";
    if (sessionId.empty()) return "a session_id is empty";
    if (sessionId == "local") return "'local': name participants by session_id (setUserName and setUserData change the local one)";
    if (!update.is_object() || update.empty()) return "an update must be a non-empty object" + of;
    for (const auto& [field, value] : update.items()) {
      if (field == "eject") {
        if (value != true) return "eject must be true" + of;
      } else if (field == "updatePermissions") {
        if (!value.is_object() || value.empty()) return "updatePermissions must be a non-empty object" + of;
        for (const auto& [permission, v] : value.items()) {
          if (permission == "hasPresence") {
            if (!v.is_boolean()) return "updatePermissions.hasPresence must be a boolean" + of;
          } else if (permission == "canAdmin") {
            if (!isCanAdminValue(v))
              return "updatePermissions.canAdmin must be a boolean or a list of participants/streaming/transcription" + of;
          } else if (permission == "canSend" || permission == "canReceive") {
            return "updatePermissions." + permission + " is not supported: the devserver does not enforce it" + of;
          } else {
            return "unknown permission '" + permission + "'" + of;
          }
        }
      } else if (field == "setAudio" || field == "setVideo" || field == "setScreenShare" ||
                 field == "setSubscribedTracks" || field == "styles") {
        return field + " is not supported by daily-cpp (the devserver carries a bot's audio as its custom tracks, "
                       "and no video)" + of;
      } else {
        return "unknown update '" + field + "'" + of;
      }
    }
  }
  return {};
}

}  // namespace daily::protocol
