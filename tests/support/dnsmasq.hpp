#pragma once

// dnsmasq (Debian's dnsmasq-base) as the DNS server of a test: it answers from the records it is started with,
// for names under .test only (anything else there is NXDOMAIN; nothing is forwarded), on 127.0.0.1:port over UDP
// and TCP. What it was asked is logged, one "query[TYPE] NAME" line each.

#include "process.hpp"

#include <memory>
#include <string>
#include <vector>

namespace daily::test {

class DnsServer {
 public:
  struct Records {
    /// name -> IPv4 address
    std::vector<std::pair<std::string, std::string>> hosts{};
    /// "_sip._udp.example.test,target.example.test,PORT,PRIORITY,WEIGHT", as dnsmasq's --srv-host takes it.
    std::vector<std::string> srv{};
    /// "example.test,ORDER,PREFERENCE,s,SIP+D2T,,_sip._tcp.example.test", as dnsmasq's --naptr-record takes it.
    std::vector<std::string> naptr{};
  };
  /// Starts dnsmasq with these records, its log in dir; throws std::runtime_error when it does not come up.
  DnsServer(const std::string& dir, const Records& records);

  int port() const { return port_; }
  /// "127.0.0.1:PORT": as the devserver's --sip-dns-server takes it.
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  /// How many queries of a type ("NAPTR", "SRV", "A") it was asked for a name.
  int queries(const std::string& type, const std::string& name) const;
  std::string log() const;

 private:
  int port_;
  std::string logFile_;
  std::unique_ptr<Process> process_;
};

}  // namespace daily::test
