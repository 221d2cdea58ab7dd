#include "baresip.hpp"

#include "audio.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace daily::test {

std::string writeBaresipConfig(const std::string& dir, const std::string& host, int port, const std::string& user,
                               int seconds, const BaresipExtras& extras) {
  std::filesystem::create_directories(dir);
  writeToneWav(dir + "/tone.wav", extras.toneHz, seconds);
  std::ofstream(dir + "/config") << "module_path /usr/lib/baresip/modules\nsip_listen " << host << ":" << port
                                 << "\nmodule stdio.so\nmodule g711.so\nmodule aufile.so\nmodule_app account.so\n"
                                    "module_app menu.so\naudio_player aufile,/dev/null\naudio_alert aufile,/dev/null\n"
                                    "audio_source aufile,"
                                 << dir << "/tone.wav\n"
                                 << (extras.certificate.empty() ? "" : "sip_certificate " + extras.certificate + "\n")
                                 << (extras.caFile.empty() ? "" : "sip_cafile " + extras.caFile + "\n")
                                 << (extras.recordDir.empty() ? "" : "module sndfile.so\nsnd_path " + extras.recordDir + "\n")
                                 << (extras.consPort ? "module cons.so\ncons_listen 127.0.0.1:" +
                                                           std::to_string(extras.consPort) + "\n"
                                                     : "")
                                 << (extras.mediaEncryption.empty() ? "" : "module srtp.so\n");
  std::ofstream(dir + "/accounts") << "<sip:" << user << "@" << host << ":" << port << ">;regint=0"
                                   << (extras.autoAnswer ? ";answermode=auto" : "")
                                   << (extras.authPassword.empty() ? "" : ";auth_pass=" + extras.authPassword)
                                   << (extras.mediaEncryption.empty() ? "" : ";mediaenc=" + extras.mediaEncryption) << "\n";
  return dir;
}

std::vector<std::int16_t> baresipHeard(const std::string& recordDir, int* rate) {
  // Named by the time the call started: the first in name order is the first call's.
  std::vector<std::string> heard;
  for (const auto& entry : std::filesystem::directory_iterator(recordDir)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("dump-", 0) == 0 && name.size() > 8 && name.compare(name.size() - 8, 8, "-dec.wav") == 0)
      heard.push_back(entry.path().string());
  }
  if (heard.empty()) return {};
  std::sort(heard.begin(), heard.end());
  return readWav(heard.front(), rate);
}

void baresipCommand(int consPort, const std::string& command) {
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<std::uint16_t>(consPort));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const std::string line = command + "\n";
  const auto sent = sendto(fd, line.data(), line.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
  close(fd);
  if (sent != static_cast<ssize_t>(line.size())) throw std::runtime_error("could not send baresip the command " + command);
}

}  // namespace daily::test
