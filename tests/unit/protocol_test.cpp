#include "common/protocol.hpp"

#include <gtest/gtest.h>

namespace daily::protocol {
namespace {

TEST(Protocol, RequestRoundTrip) {
  const std::string text = encodeRequest(7, "sipRefer", {{"sessionId", "s"}, {"toEndPoint", "sip:a@b"}});
  std::string why;
  auto f = decodeFrame(text, &why);
  ASSERT_TRUE(f) << why;
  EXPECT_EQ(f->type, FrameType::Request);
  EXPECT_EQ(f->id, 7u);
  EXPECT_EQ(f->method, "sipRefer");
  EXPECT_EQ(f->params["toEndPoint"], "sip:a@b");
}

TEST(Protocol, ErrorResponseCarriesCodeAndSipStatus) {
  auto f = decodeFrame(encodeError(3, WireError{ErrorCode::SipRejected, "no", 603, {}}), nullptr);
  ASSERT_TRUE(f);
  ASSERT_TRUE(f->error);
  EXPECT_EQ(f->error->code, ErrorCode::SipRejected);
  EXPECT_EQ(f->error->sipStatus, 603);
  Error e = toError(*f->error);
  EXPECT_EQ(e.code(), ErrorCode::SipRejected);
  EXPECT_EQ(e.sipStatus(), 603);
  EXPECT_STREQ(e.what(), "no");
}

TEST(Protocol, EveryErrorCodeHasAWireName) {
  for (auto code : {ErrorCode::InvalidArgument, ErrorCode::NotJoined, ErrorCode::PermissionDenied, ErrorCode::NotFound,
                    ErrorCode::SipRejected, ErrorCode::Timeout, ErrorCode::ConnectionLost, ErrorCode::ServerError}) {
    EXPECT_EQ(errorCodeFromName(errorCodeName(code)), code);
  }
  EXPECT_FALSE(errorCodeFromName("no-such-code"));
}

TEST(Protocol, UnknownErrorCodeBecomesServerErrorAndBadSipStatusIsDropped) {
  auto f = decodeFrame(R"({"v":1,"type":"response","id":1,"error":{"code":"weird","sipStatus":99999}})", nullptr);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->error->code, ErrorCode::ServerError);
  EXPECT_EQ(f->error->sipStatus, 0);
}

TEST(Protocol, EventRoundTripAndUnknownFieldsIgnored) {
  auto f = decodeFrame(R"({"v":1,"type":"event","action":"participant-joined","payload":{"a":1},"extra":true})", nullptr);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->type, FrameType::Event);
  EXPECT_EQ(f->action, "participant-joined");
  EXPECT_EQ(f->payload["a"], 1);
}

TEST(Protocol, MalformedFramesAreRejectedWithAReason) {
  const char* bad[] = {
      "",
      "not json",
      "[1,2,3]",
      R"({"type":"request","id":1,"method":"join"})",            // no version
      R"({"v":2,"type":"request","id":1,"method":"join"})",      // wrong version
      R"({"v":1,"type":"request","method":"join"})",             // no id
      R"({"v":1,"type":"request","id":0,"method":"join"})",      // id 0
      R"({"v":1,"type":"request","id":-4,"method":"join"})",     // negative id
      R"({"v":1,"type":"request","id":1})",                      // no method
      R"({"v":1,"type":"request","id":1,"method":"join","params":[]})",
      R"({"v":1,"type":"event","payload":{}})",                  // no action
      R"({"v":1,"type":"event","action":"x","payload":"str"})",
      R"({"v":1,"type":"whatever"})",
      R"({"v":1,"type":"response","id":1,"error":"str"})",
  };
  for (const char* text : bad) {
    std::string why;
    EXPECT_FALSE(decodeFrame(text, &why)) << text;
    EXPECT_FALSE(why.empty()) << text;
  }
}

TEST(Protocol, OversizedAndDeeplyNestedFramesAreRejected) {
  std::string big = R"({"v":1,"type":"event","action":"x","payload":{"s":")" + std::string(kMaxFrameBytes, 'a') + "\"}}";
  std::string why;
  EXPECT_FALSE(decodeFrame(big, &why));
  EXPECT_EQ(why, "frame too large");
  std::string deep = R"({"v":1,"type":"event","action":"x","payload":)" + std::string(100, '[') + std::string(100, ']') + "}";
  EXPECT_FALSE(decodeFrame(deep, &why));
  EXPECT_EQ(why, "frame nested too deeply");
  // Brackets inside strings do not count as nesting.
  std::string quoted = R"({"v":1,"type":"event","action":"x","payload":{"s":")" + std::string(100, '[') + "\"}}";
  EXPECT_TRUE(decodeFrame(quoted, &why)) << why;
}

// endsAsEvent() routes frames past the network thread's parser: it must never accept a response.
TEST(Protocol, EndsAsEventRecognisesEncodedEventsAndNothingThatDecodesOtherwise) {
  EXPECT_TRUE(endsAsEvent(encodeEvent("participant-updated", {{"participant", {{"session_id", "a"}}}})));
  EXPECT_TRUE(endsAsEvent(encodeEvent("app-message", nlohmann::json::object())));
  EXPECT_TRUE(endsAsEvent(R"({"type":"event","v":1})"));
  EXPECT_FALSE(endsAsEvent(encodeResult(7, {{"type", "event"}, {"v", 1}})));
  EXPECT_FALSE(endsAsEvent(encodeError(7, WireError{ErrorCode::NotFound, "no", 0, ""})));
  EXPECT_FALSE(endsAsEvent(encodeRequest(7, "join", nlohmann::json::object())));
  EXPECT_FALSE(endsAsEvent(R"({"action":"x","payload":{},"type":"event","v":1} )"));  // trailing space: not ours
  EXPECT_FALSE(endsAsEvent(R"({"a":"b\"type":"event","v":1})"));
  EXPECT_FALSE(endsAsEvent(R"("type":"event","v":1})"));
  // Whatever it accepts, decodeFrame() never reads as a response: a duplicate key's last value counts.
  for (const char* text : {R"({"id":1,"result":{},"type":"response","type":"event","v":1})",
                           R"({"type":"response","id":1,"x":{"type":"event","v":1},"type":"event","v":1})",
                           R"({"id":1,"result":"\",\"type\":\"response\"","type":"event","v":1})"}) {
    EXPECT_TRUE(endsAsEvent(text)) << text;
    auto frame = decodeFrame(text, nullptr);
    EXPECT_TRUE(!frame || frame->type == FrameType::Event) << text;
  }
}

// decodeEvent() parses only the payload of a frame laid out as encodeEvent() lays it out; for any text at all it
// must give what decodeFrame() gives: the same frame, or the same rejection and reason.
TEST(Protocol, DecodeEventGivesWhatDecodeFrameGivesForAnyText) {
  auto nested = [](int depth) {
    std::string open, close;
    for (int i = 0; i < depth; ++i) open += R"({"a":)", close += "}";
    return open + "1" + close;
  };
  const std::vector<std::string> texts{
      encodeEvent("participant-updated", {{"participant", {{"session_id", "a"}, {"owner", false}}}}),
      encodeEvent("app-message", nlohmann::json::object()),
      encodeEvent("sip-refer-progress", {{"text", "a \"quoted\" \\ \u00e9 \n string"}, {"n", {1, 2.5, nullptr}}}),
      encodeEvent("dialin-ready", {{"nested", nlohmann::json::parse(nested(kMaxJsonDepth - 2))}}),  // at the limit
      R"({"action":"x","payload":)" + nested(kMaxJsonDepth - 1) + R"(,"type":"event","v":1})",  // at the limit
      R"({"action":"x","payload":)" + nested(kMaxJsonDepth) + R"(,"type":"event","v":1})",      // one too deep
      R"({"action":"x","payload":{},"type":"event","v":1})",
      R"({"action":"","payload":{},"type":"event","v":1})",                       // empty action
      R"({"action":"a\"b","payload":{},"type":"event","v":1})",                  // escaped quote in the action
      R"({"action":"a\u0062","payload":{},"type":"event","v":1})",               // escape: decodes to "ab"
      "{\"action\":\"caf\xc3\xa9\",\"payload\":{},\"type\":\"event\",\"v\":1}",   // UTF-8 action
      "{\"action\":\"bad\xff\",\"payload\":{},\"type\":\"event\",\"v\":1}",        // invalid UTF-8
      "{\"action\":\"tab\there\",\"payload\":{},\"type\":\"event\",\"v\":1}",     // raw control char
      R"({"action":"x","payload":[1],"type":"event","v":1})",                    // payload not an object
      R"({"action":"x","payload":1,"x":2,"type":"event","v":1})",                // more members after the payload
      R"({"action":"x","payload":{},"payload":{"a":1},"type":"event","v":1})",   // duplicate payload: the last
      R"({"action":"x","payload":{"a":1},"action":"y","type":"event","v":1})",   // duplicate action: the last
      R"({"action":"x","payload":{"a":1}},"type":"event","v":1})",               // unbalanced
      R"({"action":"x","payload":{"a":1,"type":"event","v":1})",                 // unterminated payload
      R"({"action":"x","payload":,"type":"event","v":1})",                       // no payload value
      R"({"action":"x","payload": {} ,"type":"event","v":1})",                   // whitespace around it
      R"({"action":"x""payload":{},"type":"event","v":1})",
      R"({"action":"x","type":"event","v":1})",                                  // no payload at all
      R"({"payload":{},"action":"x","type":"event","v":1})",                     // another key order
      R"({"action":"x","payload":{},"type":"event","v":2})",
      R"({"type":"event","v":1})",
      R"({"action":"x","payload":{"s":"\"},"type":"event","v":1})",             // the payload's string swallows
      std::string(R"({"action":"x","payload":{}d,"type":"event","v":1})").insert(26, 3, '\0'),  // NULs (fuzzer)
      R"({"action":"x","payload":{"a":1}{"type":"event","v":1})",                // no comma before the suffix (fuzzer)
  };
  for (const std::string& text : texts) {
    std::string whyFrame = "unset", whyEvent = "unset";
    const auto frame = decodeFrame(text, &whyFrame, kMaxServerFrameBytes);
    const auto event = decodeEvent(text, &whyEvent, kMaxServerFrameBytes);
    ASSERT_EQ(frame.has_value(), event.has_value()) << text;
    EXPECT_EQ(whyFrame, whyEvent) << text;
    if (!frame) continue;
    EXPECT_EQ(frame->type, event->type) << text;
    EXPECT_EQ(frame->action, event->action) << text;
    EXPECT_EQ(frame->payload, event->payload) << text;
  }
  // And the size limit is the caller's, as for decodeFrame.
  const std::string big = encodeEvent("x", {{"pad", std::string(2000, 'p')}});
  std::string why;
  EXPECT_FALSE(decodeEvent(big, &why, 1000));
  EXPECT_EQ(why, "frame too large");
}

// updateParticipants' argument, as the client and the server both check it.
TEST(ParticipantUpdates, EjectAndTheEnforcedPermissionsAreTakenAndTheRestRefusedByName) {
  using nlohmann::json;
  EXPECT_EQ(participantUpdatesProblem({{"s1", {{"eject", true}}}}), "");
  EXPECT_EQ(participantUpdatesProblem({{"s1", {{"updatePermissions", {{"hasPresence", false}, {"canAdmin", {"participants"}}}}}},
                                       {"s2", {{"eject", true}}}}),
            "");
  const auto refused = [](const json& updates, const std::string& part) {
    const std::string why = participantUpdatesProblem(updates);
    return why.find(part) != std::string::npos ? std::string() : "'" + why + "' lacks '" + part + "'";
  };
  EXPECT_EQ(refused(json::object(), "must be an object"), "");
  EXPECT_EQ(refused(json::array(), "must be an object"), "");
  EXPECT_EQ(refused({{"local", {{"eject", true}}}}, "'local'"), "");
  EXPECT_EQ(refused({{"s1", json::object()}}, "non-empty object"), "");
  EXPECT_EQ(refused({{"s1", {{"eject", false}}}}, "eject must be true"), "");
  EXPECT_EQ(refused({{"s1", {{"setAudio", false}}}}, "setAudio is not supported"), "");
  EXPECT_EQ(refused({{"s1", {{"launch", true}}}}, "unknown update 'launch'"), "");
  EXPECT_EQ(refused({{"s1", {{"updatePermissions", {{"canSend", false}}}}}}, "canSend is not supported"), "");
  EXPECT_EQ(refused({{"s1", {{"updatePermissions", {{"canAdmin", {"everything"}}}}}}}, "canAdmin must be"), "");
  EXPECT_EQ(refused({{"s1", {{"updatePermissions", {{"hasPresence", "no"}}}}}}, "hasPresence must be"), "");
  json many = json::object();
  for (int i = 0; i < 101; ++i) many["s" + std::to_string(i)] = {{"eject", true}};
  EXPECT_EQ(refused(many, "at most 100"), "");
}

TEST(ParticipantUpdates, OwnersAndParticipantsAdminsAdministerParticipants) {
  using nlohmann::json;
  EXPECT_TRUE(administersParticipants({{"owner", true}}));
  EXPECT_TRUE(administersParticipants({{"owner", false}, {"permissions", {{"canAdmin", true}}}}));
  EXPECT_TRUE(administersParticipants({{"permissions", {{"canAdmin", {"streaming", "participants"}}}}}));
  EXPECT_FALSE(administersParticipants({{"permissions", {{"canAdmin", {"streaming"}}}}}));
  EXPECT_FALSE(administersParticipants({{"owner", false}, {"permissions", {{"canAdmin", false}}}}));
  EXPECT_FALSE(administersParticipants(json("owner")));
}

}  // namespace
}  // namespace daily::protocol
