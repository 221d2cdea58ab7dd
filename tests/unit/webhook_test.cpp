#include <daily/webhook.hpp>
#include <daily/error.hpp>

#include <gtest/gtest.h>

namespace daily {
namespace {

// Computed independently: base64(HMAC-SHA256(b64decode(secret), "1700000000." + body)) with Python's hmac module.
constexpr const char* kSecret = "c2VjcmV0LWtleS1mb3ItdGVzdHM=";
constexpr const char* kBody = R"({"type":"calltransfer.initiated"})";
constexpr const char* kSignature = "sv9e4JoRKiZrqM8Oju3Wkvtd6XO0PLwuJeoVUOcHrQk=";

WebhookVerifyOptions at(long long seconds) {
  WebhookVerifyOptions o;
  o.now = std::chrono::system_clock::time_point(std::chrono::seconds(seconds));
  return o;
}

TEST(Webhook, SignsLikeDaily) { EXPECT_EQ(signWebhook(kSecret, "1700000000", kBody), kSignature); }

TEST(Webhook, VerifiesAGenuineDeliveryWithinTheWindow) {
  EXPECT_TRUE(verifyWebhookSignature(kSecret, "1700000000", kBody, kSignature, at(1700000000)));
  EXPECT_TRUE(verifyWebhookSignature(kSecret, "1700000000", kBody, kSignature, at(1700000000 + 299)));
  EXPECT_TRUE(verifyWebhookSignature(kSecret, "1700000000000", kBody,
                                     signWebhook(kSecret, "1700000000000", kBody), at(1700000000)));  // ms
}

TEST(Webhook, RefusesTamperingReplaysAndGarbage) {
  EXPECT_FALSE(verifyWebhookSignature(kSecret, "1700000000", R"({"type":"calltransfer.initiatee"})", kSignature,
                                      at(1700000000)));
  EXPECT_FALSE(verifyWebhookSignature(kSecret, "1700000001", kBody, kSignature, at(1700000000)));
  EXPECT_FALSE(verifyWebhookSignature("b3RoZXI=", "1700000000", kBody, kSignature, at(1700000000)));
  EXPECT_FALSE(verifyWebhookSignature(kSecret, "1700000000", kBody, kSignature, at(1700000000 + 301)));  // replay
  EXPECT_FALSE(verifyWebhookSignature(kSecret, "1700000000", kBody, kSignature, at(1700000000 - 301)));
  EXPECT_FALSE(verifyWebhookSignature(kSecret, "", kBody, kSignature, at(1700000000)));
  EXPECT_FALSE(verifyWebhookSignature(kSecret, "17e8", kBody, kSignature, at(1700000000)));
  EXPECT_FALSE(verifyWebhookSignature(kSecret, "1700000000", kBody, "", at(1700000000)));
  EXPECT_FALSE(verifyWebhookSignature("not base64!", "1700000000", kBody, kSignature, at(1700000000)));
  std::string truncated(kSignature);
  truncated.pop_back();
  EXPECT_FALSE(verifyWebhookSignature(kSecret, "1700000000", kBody, truncated, at(1700000000)));
}

TEST(Webhook, ParsesTheEnvelope) {
  const WebhookEvent e = parseWebhookEvent(
      R"({"version":"1.0.0","type":"calltransfer.answered","id":"x1","payload":{"room":"r"},"event_ts":1770005095.25})");
  EXPECT_EQ(e.type, "calltransfer.answered");
  EXPECT_EQ(e.payload["room"], "r");
  EXPECT_DOUBLE_EQ(e.eventTs, 1770005095.25);
  for (const char* bad : {"", "[]", R"({"type":"x"})", R"({"version":"1","type":"x","id":"i","payload":3})"}) {
    try {
      parseWebhookEvent(bad);
      ADD_FAILURE() << bad;
    } catch (const Error& err) {
      EXPECT_EQ(err.code(), ErrorCode::InvalidArgument);
    }
  }
}

}  // namespace
}  // namespace daily
