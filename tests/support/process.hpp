#pragma once

// Real programs (sipp, baresip) as child processes of a test, with deadlines instead of sleeps.

#include <chrono>
#include <cstdint>
#include <string>
#include <sys/types.h>
#include <vector>

namespace daily::test {

class Process {
 public:
  /// Starts args[0] (looked up in PATH) in directory cwd, stdout and stderr to logFile, stdin from /dev/null.
  Process(std::vector<std::string> args, const std::string& cwd, const std::string& logFile);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  /// The exit status, or -1 when it did not exit in time (it is then killed).
  int wait(std::chrono::milliseconds timeout);
  void kill();

 private:
  pid_t pid_ = -1;
  int status_ = -1;
};

/// A UDP port that was free a moment ago on 127.0.0.1.
int freeUdpPort();
/// A TCP port that was free a moment ago on 127.0.0.1, outside the ephemeral range (for a server that must come
/// back on the same port after being killed).
int freeTcpPort();
/// A port that was free a moment ago on 127.0.0.1 for both UDP and TCP, outside the ephemeral range: for a SIP
/// agent such as baresip, which listens on both at its sip_listen port (an ephemeral port free for UDP may be a
/// parallel test's TCP client socket, and baresip then fails to start).
int freeSipPort();
/// A port p as freeSipPort's, with p + 1 free for TCP too: for baresip with a certificate, which listens for TLS
/// on p + 1.
int freeSipTlsPort();
/// Waits until something listens for TCP on 127.0.0.1:port (as the kernel's socket table says: no connection is
/// made to find out); false when nothing does within the timeout. A TCP client is refused at once by a server
/// that is not up yet, where a UDP one would have retransmitted until it was.
bool waitForTcpListener(int port, std::chrono::milliseconds timeout);
/// A port p for sipp's -mp: p and p+2 (sipp binds both, for audio and video) were free a moment ago. Taken from
/// 10000-20000 (the demo takes 20000-32000), outside the kernel's ephemeral range, starting in a block that
/// depends on the process id, so that tests running in parallel do not pick the same ports.
int freeMediaPort();
/// A fresh temporary directory.
std::string tempDir(const std::string& prefix);
/// The whole content of a file ("" when it does not exist).
std::string readFile(const std::string& path);
/// Waits until the file (a child's log, say) contains text; false when it still does not after timeout.
bool waitForFileContaining(const std::string& path, const std::string& text, std::chrono::milliseconds timeout);
/// What TCP_INFO says of a socket's output (zeros when it cannot be read).
struct TcpSendState {
  std::uint64_t bytesAcked = 0;  // what the peer's kernel has acknowledged
  std::uint32_t peerWindow = 0;  // the receive window the peer last advertised: 0 while its buffer is full
  int zeroWindowProbes = 0;      // probes sent since that window closed: > 0 once it has stayed closed a while
};
TcpSendState tcpSendState(int fd);
/// Whether a program is on PATH.
bool onPath(const std::string& program);

}  // namespace daily::test
