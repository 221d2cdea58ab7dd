#include "netns.hpp"

#include <unistd.h>

#include <cstdlib>
#include <stdexcept>

namespace daily::test {

int sh(const std::string& command) { return std::system((command + " >/dev/null 2>&1").c_str()); }

VethNamespace::VethNamespace(const std::string& tag, int secondOctet) {
  const int id = static_cast<int>(getpid() % 16384);
  name_ = "d" + tag + std::to_string(id);
  hostIf_ = tag + std::to_string(id) + "h";
  nsIf_ = tag + std::to_string(id) + "n";
  const int base = id * 4;
  const std::string prefix = "10." + std::to_string(secondOctet) + "." + std::to_string(base >> 8) + ".";
  hostIp_ = prefix + std::to_string((base & 255) + 1);
  nsIp_ = prefix + std::to_string((base & 255) + 2);
  teardown();  // a namespace left behind by a killed run of the same pid
  const std::vector<std::string> setup{
      "ip netns add " + name_,
      "ip link add " + hostIf_ + " type veth peer name " + nsIf_,
      "ip link set " + nsIf_ + " netns " + name_,
      "ip addr add " + hostIp_ + "/30 dev " + hostIf_,
      "ip link set " + hostIf_ + " up",
      inside("ip addr add " + nsIp_ + "/30 dev " + nsIf_),
      inside("ip link set " + nsIf_ + " up"),
      inside("ip link set lo up"),
  };
  for (const auto& c : setup)
    if (sh(c) != 0) throw std::runtime_error("cannot build the test network (needs root and iproute2): " + c);
}

VethNamespace::~VethNamespace() { teardown(); }

std::vector<std::string> VethNamespace::inside(std::vector<std::string> argv) const {
  argv.insert(argv.begin(), {"ip", "netns", "exec", name_});
  return argv;
}

void VethNamespace::teardown() {
  for (auto it = undo_.rbegin(); it != undo_.rend(); ++it) sh(*it);
  undo_.clear();
  sh("ip netns del " + name_);
  sh("ip link del " + hostIf_);
}

}  // namespace daily::test
