#include "sip/resolver.hpp"

#include "common/log.hpp"
#include "sip/dialog.hpp"
#include "sip/message.hpp"

#include <ares.h>
#include <arpa/nameser.h>
#include <netinet/in.h>

#include <asio/post.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/steady_timer.hpp>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <map>
#include <mutex>
#include <stdexcept>

namespace daily::devserver::sip {

std::vector<NaptrChoice> orderNaptr(std::vector<NaptrRecord> records, bool secure, bool tls) {
  std::stable_sort(records.begin(), records.end(), [](const NaptrRecord& a, const NaptrRecord& b) {
    return a.order != b.order ? a.order < b.order : a.preference < b.preference;
  });
  std::vector<NaptrChoice> choices;
  for (const auto& r : records) {
    std::string flags = r.flags, service = r.service;
    std::transform(flags.begin(), flags.end(), flags.begin(), [](unsigned char c) { return std::tolower(c); });
    std::transform(service.begin(), service.end(), service.begin(), [](unsigned char c) { return std::toupper(c); });
    if (flags != "s" || r.replacement.empty()) continue;
    if (service == "SIPS+D2T") {
      if (tls) choices.push_back({Protocol::Tls, r.replacement});
    } else if (!secure && service == "SIP+D2U") {
      choices.push_back({Protocol::Udp, r.replacement});
    } else if (!secure && service == "SIP+D2T") {
      choices.push_back({Protocol::Tcp, r.replacement});
    }
  }
  return choices;
}

std::vector<SrvRecord> orderSrv(std::vector<SrvRecord> records, std::mt19937& random) {
  records.erase(std::remove_if(records.begin(), records.end(),
                               [](const SrvRecord& r) { return r.target.empty() || r.target == "."; }),
                records.end());
  // By priority; within one, weight 0 first, as RFC 2782's selection wants them at the head of the list.
  std::stable_sort(records.begin(), records.end(), [](const SrvRecord& a, const SrvRecord& b) {
    return a.priority != b.priority ? a.priority < b.priority : (a.weight == 0) > (b.weight == 0);
  });
  std::vector<SrvRecord> ordered;
  ordered.reserve(records.size());
  auto group = records.begin();
  while (group != records.end()) {
    auto end = std::find_if(group, records.end(), [&](const SrvRecord& r) { return r.priority != group->priority; });
    std::vector<SrvRecord> left(group, end);
    while (!left.empty()) {
      std::uint32_t total = 0;
      for (const auto& r : left) total += r.weight;
      const std::uint32_t pick = std::uniform_int_distribution<std::uint32_t>(0, total)(random);
      std::uint32_t sum = 0;
      auto chosen = left.begin();
      for (auto it = left.begin(); it != left.end(); ++it) {
        sum += it->weight;
        if (sum >= pick) {
          chosen = it;
          break;
        }
      }
      ordered.push_back(*chosen);
      left.erase(chosen);
    }
    group = end;
  }
  return ordered;
}

namespace {

const char* srvPrefix(Protocol protocol) {
  return protocol == Protocol::Tls ? "_sips._tcp." : protocol == Protocol::Tcp ? "_sip._tcp." : "_sip._udp.";
}

void initAres() {
  static std::once_flag once;
  static int status = ARES_SUCCESS;
  std::call_once(once, [] { status = ares_library_init(ARES_LIB_INIT_ALL); });
  if (status != ARES_SUCCESS) throw std::runtime_error(std::string("c-ares: ") + ares_strerror(status));
}

}  // namespace

struct Resolver::Impl : std::enable_shared_from_this<Impl> {
  using Answer = std::function<void(int status, const unsigned char* answer, int length)>;
  using Addresses = std::function<void(int status, std::vector<asio::ip::address>)>;

  // One socket c-ares asked us to watch, and which way.
  struct Watcher {
    Watcher(asio::io_context& io, ares_socket_t fd) : descriptor(io, fd) {}
    asio::posix::stream_descriptor descriptor;
    bool wantRead = false, wantWrite = false, reading = false, writing = false, closed = false;
  };

  Impl(asio::io_context& ctx, ResolverOptions o) : io(ctx), options(std::move(o)), timer(ctx) {}

  void start() {
    initAres();
    ares_options opts{};
    opts.sock_state_cb = &Impl::sockState;
    opts.sock_state_cb_data = this;
    opts.timeout = static_cast<int>(options.timeout.count());
    opts.tries = options.tries;
    const int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
    if (int status = ares_init_options(&channel, &opts, mask); status != ARES_SUCCESS)
      throw std::runtime_error(std::string("c-ares: cannot start: ") + ares_strerror(status));
    if (!options.servers.empty()) {
      if (int status = ares_set_servers_ports_csv(channel, options.servers.c_str()); status != ARES_SUCCESS) {
        ares_destroy(channel);
        channel = nullptr;
        throw std::invalid_argument("the DNS servers must be IP[:PORT],... (\"[::1]:53\" for IPv6): " +
                                    options.servers + ": " + ares_strerror(status));
      }
    }
  }

  void stop() {
    if (stopped) return;
    stopped = true;
    timer.cancel();
    if (channel) ares_destroy(channel);  // pending queries end with ARES_EDESTRUCTION: their answers are dropped
    channel = nullptr;
  }

  static void sockState(void* data, ares_socket_t fd, int readable, int writable) {
    auto* self = static_cast<Impl*>(data);
    auto it = self->watchers.find(fd);
    if (!readable && !writable) {  // c-ares is about to close it
      if (it == self->watchers.end()) return;
      it->second->closed = true;
      it->second->descriptor.release();  // cancels the waits; c-ares closes the socket
      self->watchers.erase(it);
      return;
    }
    if (it == self->watchers.end()) it = self->watchers.emplace(fd, std::make_shared<Watcher>(self->io, fd)).first;
    it->second->wantRead = readable != 0;
    it->second->wantWrite = writable != 0;
    self->arm(fd, it->second);
  }

  void arm(ares_socket_t fd, const std::shared_ptr<Watcher>& w) {
    if (w->wantRead && !w->reading) await(fd, w, false);
    if (w->wantWrite && !w->writing) await(fd, w, true);
  }

  // Waits until fd can be read (or written), lets c-ares read (or write) it, and waits again while it wants to.
  void await(ares_socket_t fd, const std::shared_ptr<Watcher>& w, bool write) {
    (write ? w->writing : w->reading) = true;
    std::weak_ptr<Impl> weak = weak_from_this();
    const auto type = write ? asio::posix::stream_descriptor::wait_write : asio::posix::stream_descriptor::wait_read;
    w->descriptor.async_wait(type, [weak, w, fd, write](const asio::error_code& ec) {
      (write ? w->writing : w->reading) = false;
      auto self = weak.lock();
      if (ec || w->closed || !self || self->stopped) return;
      self->process(write ? ARES_SOCKET_BAD : fd, write ? fd : ARES_SOCKET_BAD);
      if (!w->closed) self->arm(fd, w);
    });
  }

  void process(ares_socket_t readable, ares_socket_t writable) {
    ares_process_fd(channel, readable, writable);
    schedule();
  }

  // c-ares' own timeouts and retries happen when it is called with no socket: when the next one is due.
  void schedule() {
    if (stopped) return;
    timeval next{};
    if (!ares_timeout(channel, nullptr, &next)) return void(timer.cancel());
    timer.expires_after(std::chrono::seconds(next.tv_sec) + std::chrono::microseconds(next.tv_usec));
    std::weak_ptr<Impl> weak = weak_from_this();
    timer.async_wait([weak](const asio::error_code& ec) {
      auto self = weak.lock();
      if (ec || !self || self->stopped) return;
      self->process(ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    });
  }

  void query(const std::string& name, int type, Answer answer) {
    ares_query(channel, name.c_str(), ns_c_in, type, &Impl::answered, new Answer(std::move(answer)));
    schedule();
  }
  static void answered(void* arg, int status, int /*timeouts*/, unsigned char* answer, int length) {
    std::unique_ptr<Answer> a(static_cast<Answer*>(arg));
    if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED) return;
    (*a)(status, answer, length);
  }

  void addresses(const std::string& name, Addresses done) {
    ares_addrinfo_hints hints{};
    hints.ai_family = options.family == AF_INET6 ? AF_INET6 : AF_INET;
    hints.ai_flags = ARES_AI_NOSORT;
    ares_getaddrinfo(channel, name.c_str(), nullptr, &hints, &Impl::gotAddresses, new Addresses(std::move(done)));
    schedule();
  }
  static void gotAddresses(void* arg, int status, int /*timeouts*/, ares_addrinfo* info) {
    std::unique_ptr<Addresses> done(static_cast<Addresses*>(arg));
    std::vector<asio::ip::address> found;
    for (auto* node = info ? info->nodes : nullptr; node; node = node->ai_next) {
      if (node->ai_family == AF_INET) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(node->ai_addr);
        asio::ip::address_v4::bytes_type bytes;
        std::memcpy(bytes.data(), &in->sin_addr, bytes.size());
        found.emplace_back(asio::ip::address_v4(bytes));
      } else if (node->ai_family == AF_INET6) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(node->ai_addr);
        asio::ip::address_v6::bytes_type bytes;
        std::memcpy(bytes.data(), &in6->sin6_addr, bytes.size());
        found.emplace_back(asio::ip::address_v6(bytes));
      }
    }
    if (info) ares_freeaddrinfo(info);
    if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED) return;
    (*done)(status, std::move(found));
  }

  void finish(Done done, std::vector<Flow> flows, std::string error) {
    std::weak_ptr<Impl> weak = weak_from_this();
    asio::post(io, [weak, done = std::move(done), flows = std::move(flows), error = std::move(error)] {
      auto self = weak.lock();
      if (self && !self->stopped) done(flows, error);
    });
  }

  asio::io_context& io;
  ResolverOptions options;
  asio::steady_timer timer;
  ares_channel channel = nullptr;
  std::map<ares_socket_t, std::shared_ptr<Watcher>> watchers;
  std::mt19937 random{std::random_device{}()};
  bool stopped = false;

  struct Lookup;
};

// One RFC 3263 lookup: NAPTR, then the SRV names it gave (or those of every transport), then their hosts'
// addresses, appended in order; A/AAAA of the URI's host when there is no SRV.
struct Resolver::Impl::Lookup : std::enable_shared_from_this<Lookup> {
  Lookup(Impl& i, std::string h, bool s, Resolver::Done d) : impl(i), host(std::move(h)), secure(s), done(std::move(d)) {}

  void naptr() {
    auto self = shared_from_this();
    impl.query(host, ns_t_naptr, [self](int status, const unsigned char* answer, int length) {
      std::vector<NaptrRecord> records;
      ares_naptr_reply* reply = nullptr;
      if (status == ARES_SUCCESS && ares_parse_naptr_reply(answer, length, &reply) == ARES_SUCCESS) {
        for (auto* r = reply; r; r = r->next) {
          records.push_back({r->order, r->preference, reinterpret_cast<const char*>(r->flags),
                             reinterpret_cast<const char*>(r->service), r->replacement ? r->replacement : ""});
        }
        ares_free_data(reply);
      } else if (status != ARES_SUCCESS) {
        self->note(self->host, "NAPTR", status);
      }
      self->services = orderNaptr(std::move(records), self->secure, self->impl.options.tls);
      if (self->services.empty()) {  // §4.1: no NAPTR: an SRV query for each transport the gateway speaks
        if (!self->secure) {
          self->services.push_back({Protocol::Udp, srvPrefix(Protocol::Udp) + self->host});
          self->services.push_back({Protocol::Tcp, srvPrefix(Protocol::Tcp) + self->host});
        }
        if (self->impl.options.tls) self->services.push_back({Protocol::Tls, srvPrefix(Protocol::Tls) + self->host});
      }
      self->srv();
    });
  }

  // The next SRV name; when none is left: the host's own addresses if nothing was found, and the end.
  void srv() {
    if (next == services.size() || flows.size() >= Resolver::kMaxTargets) {
      if (!flows.empty()) return end();
      const Protocol protocol = secure ? Protocol::Tls : fallback;
      return addresses(host, protocol == Protocol::Tls ? 5061 : 5060, protocol, [self = shared_from_this()] { self->end(); });
    }
    const NaptrChoice service = services[next++];
    auto self = shared_from_this();
    impl.query(service.srvName, ns_t_srv, [self, service](int status, const unsigned char* answer, int length) {
      std::vector<SrvRecord> records;
      ares_srv_reply* reply = nullptr;
      if (status == ARES_SUCCESS && ares_parse_srv_reply(answer, length, &reply) == ARES_SUCCESS) {
        for (auto* r = reply; r; r = r->next) records.push_back({r->priority, r->weight, r->port, r->host ? r->host : ""});
        ares_free_data(reply);
      } else if (status != ARES_SUCCESS) {
        self->note(service.srvName, "SRV", status);
      }
      self->srvTargets = orderSrv(std::move(records), self->impl.random);
      self->srvProtocol = service.protocol;
      self->nextTarget = 0;
      self->target();
    });
  }

  // The next host of the SRV records being followed.
  void target() {
    if (nextTarget == srvTargets.size() || flows.size() >= Resolver::kMaxTargets) return srv();
    const SrvRecord record = srvTargets[nextTarget++];
    addresses(record.target, record.port, srvProtocol, [self = shared_from_this()] { self->target(); });
  }

  void addresses(const std::string& name, std::uint16_t port, Protocol protocol, std::function<void()> then) {
    auto self = shared_from_this();
    impl.addresses(name, [self, name, port, protocol, then](int status, std::vector<asio::ip::address> found) {
      if (status != ARES_SUCCESS) self->note(name, "address", status);
      for (const auto& address : found) {
        Flow flow{protocol, address, port, 0};
        if (self->flows.size() < Resolver::kMaxTargets &&
            std::find(self->flows.begin(), self->flows.end(), flow) == self->flows.end())
          self->flows.push_back(flow);
      }
      then();
    });
  }

  void note(const std::string& name, const char* what, int status) {
    lastError = std::string(what) + " lookup of " + name + ": " + ares_strerror(status);
  }

  void end() {
    std::string error;
    if (flows.empty()) error = "no SIP server found for " + host + (lastError.empty() ? "" : " (" + lastError + ")");
    DAILY_LOG(Debug, "sip", "resolved " << host << ": " << flows.size() << " target(s)" << (error.empty() ? "" : "; ") << error);
    impl.finish(std::move(done), std::move(flows), std::move(error));
  }

  Impl& impl;
  std::string host;
  bool secure;
  Resolver::Done done;
  Protocol fallback = Protocol::Udp;
  std::vector<NaptrChoice> services;
  std::size_t next = 0;
  std::vector<SrvRecord> srvTargets;
  Protocol srvProtocol = Protocol::Udp;
  std::size_t nextTarget = 0;
  std::vector<Flow> flows;
  std::string lastError;
};

Resolver::Resolver(asio::io_context& io, ResolverOptions options) : impl_(std::make_shared<Impl>(io, std::move(options))) {
  impl_->start();
}

Resolver::~Resolver() { impl_->stop(); }

void Resolver::stop() { impl_->stop(); }

void Resolver::resolve(const std::string& uri, Done done) {
  Impl& impl = *impl_;
  const auto target = uriTarget(uri);
  if (!target) return impl.finish(std::move(done), {}, "not a sip: or sips: URI: " + uri);
  if (auto flow = flowToUri(uri)) return impl.finish(std::move(done), {*flow}, {});  // §4: an IP address is its own
  std::optional<Protocol> protocol;
  if (target->secure || target->transport == "tls") protocol = Protocol::Tls;
  else if (target->transport == "udp") protocol = Protocol::Udp;
  else if (target->transport == "tcp") protocol = Protocol::Tcp;
  else if (!target->transport.empty())
    return impl.finish(std::move(done), {}, "the devserver does not speak SIP over " + target->transport);
  if (protocol == Protocol::Tls && !impl.options.tls)
    return impl.finish(std::move(done), {}, "TLS is asked for, and the devserver serves no SIP over TLS");
  if (impl.stopped) return;

  auto lookup = std::make_shared<Impl::Lookup>(impl, target->host, target->secure, std::move(done));
  if (target->port) {  // §4.2: a port means A/AAAA at once, over the transport named (UDP, or TLS for sips:)
    const Protocol p = protocol.value_or(Protocol::Udp);
    return lookup->addresses(target->host, target->port, p, [lookup] { lookup->end(); });
  }
  if (protocol) {  // §4.2: a transport but no port: the SRV of that transport
    lookup->services.push_back({*protocol, srvPrefix(*protocol) + target->host});
    lookup->fallback = *protocol;
    return lookup->srv();
  }
  lookup->naptr();
}

}  // namespace daily::devserver::sip
