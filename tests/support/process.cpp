#include "process.hpp"

#include <cstdio>

#include <arpa/inet.h>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sstream>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace daily::test {

namespace {

// args[0] as execv wants it: itself when it names a path, else the first executable of that name on PATH ("" if
// none).
std::string programPath(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "/usr/local/bin:/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

}  // namespace

Process::Process(std::vector<std::string> args, const std::string& cwd, const std::string& logFile) {
  // Everything the child needs is made before fork(): the child of a multi-threaded process may only call
  // async-signal-safe functions until it execs. An allocation there waits for ever when another thread held the
  // allocator's lock at the fork: a sipp that never started, seen now and then under ASan and load.
  const std::string program = programPath(args.at(0));
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    setpgid(0, 0);
    if (chdir(cwd.c_str()) != 0) _exit(126);
    const int in = open("/dev/null", O_RDONLY);
    const int out = open(logFile.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(in, STDIN_FILENO);
    dup2(out, STDOUT_FILENO);
    dup2(out, STDERR_FILENO);
    if (!program.empty()) execv(program.c_str(), argv.data());
    _exit(127);
  }
}

Process::~Process() { kill(); }

int Process::wait(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return status_;
  // A pidfd becomes readable when the child exits: wait on it with the deadline.
  const int fd = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
  if (fd >= 0) {
    pollfd p{fd, POLLIN, 0};
    poll(&p, 1, static_cast<int>(timeout.count()));
    close(fd);
  }
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) != pid_) {
    kill();
    return -1;
  }
  pid_ = -1;
  status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return status_;
}

void Process::kill() {
  if (pid_ <= 0) return;
  ::kill(-pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

namespace {

int freePort(int type) {
  const int fd = socket(AF_INET, type, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace

int freeUdpPort() { return freePort(SOCK_DGRAM); }

namespace {

bool bindable(int type, int port) {
  const int fd = socket(AF_INET, type, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

bool udpBindable(int port) { return bindable(SOCK_DGRAM, port); }

// Outside the kernel's ephemeral range (32768-60999), so that no client socket of a test running in parallel takes
// it (while a killed server is down, or before a SIP agent binds it); the block depends on the process id, as
// freeMediaPort's does. One sequence for both kinds, so that one process never hands out the same port twice.
int freeListeningPort(bool udpToo, bool andNext = false) {
  static int next = 0;
  const int base = 20000 + static_cast<int>(getpid() % 190) * 64;
  for (int attempt = 0; attempt < 12000; ++attempt) {
    const int port = 20000 + (base - 20000 + ++next) % 12000;
    if (andNext) ++next;  // port + 1 is handed out with it
    if (bindable(SOCK_STREAM, port) && (!udpToo || udpBindable(port)) && (!andNext || bindable(SOCK_STREAM, port + 1)))
      return port;
  }
  throw std::runtime_error(udpToo ? "no port free for both UDP and TCP" : "no free TCP port");
}

}  // namespace

int freeTcpPort() { return freeListeningPort(false); }

int freeSipPort() { return freeListeningPort(true); }

int freeSipTlsPort() { return freeListeningPort(true, true); }

int freeMediaPort() {
  static int next = 0;
  const int base = 10000 + static_cast<int>(getpid() % 156) * 64;
  for (int attempt = 0; attempt < 20000; ++attempt) {
    const int port = 10000 + (base - 10000 + (next += 4)) % 10000;
    if (udpBindable(port) && udpBindable(port + 2)) return port;
  }
  throw std::runtime_error("no free media port pair");
}

bool waitForTcpListener(int port, std::chrono::milliseconds timeout) {
  // /proc/net/tcp: "sl local_address rem_address st ...", addresses as HEXIP:HEXPORT, st 0A = LISTEN.
  char wanted[16];
  std::snprintf(wanted, sizeof wanted, ":%04X", static_cast<unsigned>(port));
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    std::ifstream table("/proc/net/tcp");
    std::string line;
    std::getline(table, line);  // the header
    while (std::getline(table, line)) {
      std::istringstream fields(line);
      std::string slot, local, remote, state;
      fields >> slot >> local >> remote >> state;
      if (state == "0A" && local.size() > 5 && local.compare(local.size() - 5, 5, wanted) == 0) return true;
    }
    if (std::chrono::steady_clock::now() >= deadline) return false;
    // The kernel announces no new listener; look again shortly, until the deadline.
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

std::string tempDir(const std::string& prefix) {
  std::string pattern = "/tmp/" + prefix + "-XXXXXX";
  if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  return pattern;
}

std::string readFile(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

bool waitForFileContaining(const std::string& path, const std::string& text, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (readFile(path).find(text) != std::string::npos) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

TcpSendState tcpSendState(int fd) {
  tcp_info info{};  // (linux/tcp.h's: glibc's lacks the newer fields)
  socklen_t size = sizeof info;
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &size) != 0) return {};
  return {info.tcpi_bytes_acked, info.tcpi_snd_wnd, info.tcpi_probes};
}

bool onPath(const std::string& program) {
  return std::system(("command -v " + program + " >/dev/null 2>&1").c_str()) == 0;
}

}  // namespace daily::test
