#include "common/room_url.hpp"

#include <gtest/gtest.h>

namespace daily::detail {
namespace {

TEST(RoomUrl, DerivesTheSignalingEndpoint) {
  auto u = parseRoomUrl("http://127.0.0.1:4000/hello", nullptr);
  ASSERT_TRUE(u);
  EXPECT_FALSE(u->secure);
  EXPECT_EQ(u->roomName, "hello");
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->signalingUrl, "ws://127.0.0.1:4000/ws");
  auto s = parseRoomUrl("https://acme.daily.co/support-line/", nullptr);
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->secure);
  EXPECT_EQ(s->roomName, "support-line");
  EXPECT_EQ(s->signalingUrl, "wss://acme.daily.co/ws");
  auto v6 = parseRoomUrl("http://[::1]:4000/r_1", nullptr);
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->signalingUrl, "ws://[::1]:4000/ws");
}

TEST(RoomUrl, RejectsWhatIsNotARoomUrl) {
  for (const char* url : {"", "hello", "ftp://host/room", "http://", "http://host", "http://host/", "http:///room",
                          "http://host:0/room", "http://host:70000/room", "http://host:abc/room",
                          "http://user:pw@host/room", "http://host/a/b", "http://host/room?x=1", "http://host/ro om",
                          "http://ho st/room", "ws://host/room"}) {
    std::string why;
    EXPECT_FALSE(parseRoomUrl(url, &why)) << url;
    EXPECT_FALSE(why.empty()) << url;
  }
}

}  // namespace
}  // namespace daily::detail
