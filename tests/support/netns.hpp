#pragma once

// A network namespace of a test's own, joined to the test's namespace by a veth pair on a /30: the host's end is
// .1, the namespace's .2. Made by the test itself, so it needs root (CI has it); torn down with the object, with
// whatever was added to it (undo()).

#include <string>
#include <vector>

namespace daily::test {

/// Runs a shell command with its output discarded: its exit status.
int sh(const std::string& command);

class VethNamespace {
 public:
  /// tag: two letters that tell this kind of namespace from others of the same process (interface names are
  /// "<tag><id>h" and "<tag><id>n"); secondOctet: the 10.X.0.0/16 block its addresses come from. Throws
  /// std::runtime_error when the network cannot be made.
  VethNamespace(const std::string& tag, int secondOctet);
  ~VethNamespace();
  VethNamespace(const VethNamespace&) = delete;
  VethNamespace& operator=(const VethNamespace&) = delete;

  const std::string& name() const { return name_; }
  const std::string& hostIf() const { return hostIf_; }
  const std::string& nsIf() const { return nsIf_; }
  const std::string& hostIp() const { return hostIp_; }
  const std::string& nsIp() const { return nsIp_; }

  /// A command line run inside the namespace ("ip netns exec NAME command").
  std::string inside(const std::string& command) const { return "ip netns exec " + name_ + " " + command; }
  /// argv run inside the namespace, for Process.
  std::vector<std::string> inside(std::vector<std::string> argv) const;
  /// Runs command (in the test's namespace) at teardown, before the namespace goes: the undoing of something the
  /// test added outside it (an iptables rule, a route).
  void undo(std::string command) { undo_.push_back(std::move(command)); }

 private:
  void teardown();

  std::string name_, hostIf_, nsIf_, hostIp_, nsIp_;
  std::vector<std::string> undo_;
};

}  // namespace daily::test
