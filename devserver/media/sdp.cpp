#include "media/sdp.hpp"

#include <chrono>
#include <vector>

namespace daily::devserver::media {

std::string sdpBody(const std::string& host, std::uint16_t rtpPort, const std::string& offer) {
  // Answer PCMU when offered (or when there is no offer), otherwise the first payload type offered.
  std::string payload = "0";
  std::string rtpmap = "a=rtpmap:0 PCMU/8000\r\n";
  if (!offer.empty() && offer.find("m=audio") != std::string::npos) {
    const std::size_t m = offer.find("m=audio");
    const std::size_t end = offer.find_first_of("\r\n", m);
    const std::string line = offer.substr(m, end - m);
    std::vector<std::string> fields;
    std::size_t start = 0;
    while (start < line.size()) {
      std::size_t sp = line.find(' ', start);
      if (sp == std::string::npos) sp = line.size();
      fields.push_back(line.substr(start, sp - start));
      start = sp + 1;
    }
    bool hasPcmu = false;
    for (std::size_t i = 3; i < fields.size(); ++i) hasPcmu = hasPcmu || fields[i] == "0";
    if (!hasPcmu && fields.size() > 3 && fields[3].find_first_not_of("0123456789") == std::string::npos &&
        !fields[3].empty()) {
      payload = fields[3];
      const std::string key = "a=rtpmap:" + payload + " ";
      const std::size_t at = offer.find(key);
      rtpmap = at == std::string::npos ? "" : offer.substr(at, offer.find_first_of("\r\n", at) - at) + "\r\n";
    }
  }
  const std::string session = std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                                  std::chrono::system_clock::now().time_since_epoch())
                                                  .count());
  return "v=0\r\no=daily-devserver " + session + " " + session + " IN IP4 " + host +
         "\r\ns=daily-devserver\r\nc=IN IP4 " + host + "\r\nt=0 0\r\nm=audio " + std::to_string(rtpPort) +
         " RTP/AVP " + payload + "\r\n" + rtpmap + "a=sendrecv\r\n";
}

}  // namespace daily::devserver::media
