#include "baresip.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace daily::test {

std::string writeBaresipConfig(const std::string& dir, const std::string& host, int port, const std::string& user,
                               int seconds, const BaresipExtras& extras) {
  std::filesystem::create_directories(dir);
  {
    std::ofstream wav(dir + "/tone.wav", std::ios::binary);
    const auto samples = static_cast<std::uint32_t>(8000 * seconds);
    auto u32 = [&](std::uint32_t v) { wav.write(reinterpret_cast<const char*>(&v), 4); };
    auto u16 = [&](std::uint16_t v) { wav.write(reinterpret_cast<const char*>(&v), 2); };
    wav << "RIFF";
    u32(36 + samples * 2);
    wav << "WAVEfmt ";
    u32(16); u16(1); u16(1); u32(8000); u32(16000); u16(2); u16(16);
    wav << "data";
    u32(samples * 2);
    const std::string silence(samples * 2, '\0');
    wav.write(silence.data(), static_cast<std::streamsize>(silence.size()));
  }
  std::ofstream(dir + "/config") << "module_path /usr/lib/baresip/modules\nsip_listen " << host << ":" << port
                                 << "\nmodule stdio.so\nmodule g711.so\nmodule aufile.so\nmodule_app account.so\n"
                                    "module_app menu.so\naudio_player aufile,/dev/null\naudio_alert aufile,/dev/null\n"
                                    "audio_source aufile,"
                                 << dir << "/tone.wav\n"
                                 << (extras.certificate.empty() ? "" : "sip_certificate " + extras.certificate + "\n")
                                 << (extras.caFile.empty() ? "" : "sip_cafile " + extras.caFile + "\n")
                                 << (extras.consPort ? "module cons.so\ncons_listen 127.0.0.1:" +
                                                           std::to_string(extras.consPort) + "\n"
                                                     : "");
  std::ofstream(dir + "/accounts") << "<sip:" << user << "@" << host << ":" << port << ">;regint=0"
                                   << (extras.autoAnswer ? ";answermode=auto" : "")
                                   << (extras.authPassword.empty() ? "" : ";auth_pass=" + extras.authPassword) << "\n";
  return dir;
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
