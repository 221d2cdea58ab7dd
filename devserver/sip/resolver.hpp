#pragma once

// Locating SIP servers (RFC 3263 §4): the ordered flows a request to a SIP URI may be sent to, each tried in turn
// when the one before fails (503, timeout, transport error). An IP-literal host is its own answer; a host name is
// looked up with c-ares on the io thread: NAPTR (which transport) -> SRV (which hosts and ports, by priority and
// weight, RFC 2782) -> A/AAAA. The choosing (orderNaptr, orderSrv) is kept apart from the lookups so that it is
// tested without a wire.

#include "sip/transport.hpp"

#include <asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace daily::devserver::sip {

struct NaptrRecord {
  std::uint16_t order = 0;
  std::uint16_t preference = 0;
  std::string flags;        // "s": the replacement is an SRV name
  std::string service;      // "SIP+D2U", "SIP+D2T", "SIPS+D2T", ...
  std::string replacement;  // "_sip._udp.example.com"
};
struct NaptrChoice {
  Protocol protocol;
  std::string srvName;
};
/// The NAPTR records a client may follow (RFC 3263 §4.1), best first: flag "s", a service the gateway speaks
/// (SIP+D2U, SIP+D2T, SIPS+D2T; only SIPS+D2T for a sips: URI; none over TLS when tls is false), ordered by order,
/// then preference.
std::vector<NaptrChoice> orderNaptr(std::vector<NaptrRecord> records, bool secure, bool tls);

struct SrvRecord {
  std::uint16_t priority = 0;
  std::uint16_t weight = 0;
  std::uint16_t port = 0;
  std::string target;  // "." means: no such service here (RFC 2782)
};
/// SRV records in the order to try them (RFC 2782): by priority, and within a priority picked at random, each
/// with a chance in proportion to its weight (weight 0 ones rarely first). A lone "." target gives none.
std::vector<SrvRecord> orderSrv(std::vector<SrvRecord> records, std::mt19937& random);

struct ResolverOptions {
  /// The DNS servers asked: "IP[:PORT],..." ("[::1]:53" for IPv6); empty: the system's (/etc/resolv.conf).
  std::string servers;
  /// How long one query waits for one server's answer, and how many times each is asked.
  std::chrono::milliseconds timeout{2000};
  int tries = 2;
  /// The addresses wanted: AF_INET or AF_INET6, as the gateway's sockets are bound.
  int family = 0;  // 0 = IPv4
  /// Whether TLS is on offer (the gateway has a certificate): without it, TLS targets are not chosen.
  bool tls = false;
};

class Resolver {
 public:
  /// The flows to try, best first (at most kMaxTargets), or none and why.
  using Done = std::function<void(std::vector<Flow> targets, const std::string& error)>;
  static constexpr std::size_t kMaxTargets = 16;

  /// Throws std::invalid_argument for servers it cannot read, std::runtime_error when c-ares cannot start.
  Resolver(asio::io_context& io, ResolverOptions options);
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  /// RFC 3263 §4 for a SIP URI (or name-addr), on the io thread; done is called later, on the io thread, never
  /// from inside resolve(). With a port or a transport in the URI the NAPTR (and with a port, the SRV) step is
  /// skipped, as §4.1-4.2 say. A sips: URI gets TLS targets only.
  void resolve(const std::string& uri, Done done);
  /// Ends every lookup: no done is called after it.
  void stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace daily::devserver::sip
