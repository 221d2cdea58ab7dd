#include "dnsmasq.hpp"

#include <chrono>
#include <sstream>
#include <stdexcept>

namespace daily::test {

DnsServer::DnsServer(const std::string& dir, const Records& records)
    : port_(freeSipPort()), logFile_(dir + "/dnsmasq.log") {
  // In the foreground, no config file, no /etc/hosts and no upstream servers: only these records, on loopback.
  std::vector<std::string> args{"dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv",
                                "--no-hosts", "--port=" + std::to_string(port_), "--listen-address=127.0.0.1",
                                "--bind-interfaces", "--pid-file=" + dir + "/dnsmasq.pid", "--log-facility=-",
                                "--log-queries", "--local=/test/", "--cache-size=0"};
  for (const auto& [name, address] : records.hosts) args.push_back("--host-record=" + name + "," + address);
  for (const auto& srv : records.srv) args.push_back("--srv-host=" + srv);
  for (const auto& naptr : records.naptr) args.push_back("--naptr-record=" + naptr);
  process_ = std::make_unique<Process>(args, dir, logFile_);
  if (!waitForTcpListener(port_, std::chrono::seconds(10)))
    throw std::runtime_error("dnsmasq did not start listening on " + std::to_string(port_) + ":\n" + log());
}

std::string DnsServer::log() const { return readFile(logFile_); }

int DnsServer::queries(const std::string& type, const std::string& name) const {
  std::istringstream lines(log());
  int n = 0;
  const std::string wanted = "query[" + type + "] " + name + " ";
  for (std::string line; std::getline(lines, line);)
    if (line.find(wanted) != std::string::npos) ++n;
  return n;
}

}  // namespace daily::test
