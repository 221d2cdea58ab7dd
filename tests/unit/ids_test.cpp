#include "common/ids.hpp"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <set>
#include <string>

namespace daily::detail {
namespace {

TEST(Ids, RandomHexAndUuidsHaveTheirFormAndDoNotRepeat) {
  std::set<std::string> seen;
  for (int i = 0; i < 20000; ++i) {
    const std::string hex = randomHex(6);
    ASSERT_EQ(hex.size(), 12u);
    ASSERT_EQ(hex.find_first_not_of("0123456789abcdef"), std::string::npos) << hex;
    ASSERT_TRUE(seen.insert(hex).second) << "repeated: " << hex;
  }
  EXPECT_EQ(randomHex(100).size(), 200u);  // larger than the block it draws small values from
  const std::string uuid = newUuid();
  ASSERT_EQ(uuid.size(), 36u);
  EXPECT_EQ(uuid[14], '4');
  EXPECT_NE(std::string("89ab").find(uuid[19]), std::string::npos) << uuid;
}

// Random values are drawn from a per-thread block of CSPRNG output: a forked child must not inherit and reuse it.
TEST(Ids, AForkedChildNeverRepeatsItsParentsValues) {
  (void)randomHex(4);  // the parent's block is now filled, with bytes still unused
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t child = fork();
  if (child == 0) {
    const std::string value = randomHex(16);
    const ssize_t written = write(fds[1], value.data(), value.size());
    _exit(written == static_cast<ssize_t>(value.size()) ? 0 : 1);
  }
  ASSERT_GT(child, 0);
  close(fds[1]);
  char buffer[64] = {};
  const ssize_t n = read(fds[0], buffer, sizeof buffer);
  close(fds[0]);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_EQ(n, 32);
  EXPECT_NE(std::string(buffer, 32), randomHex(16));
}

}  // namespace
}  // namespace daily::detail
