// daily-devserver: rooms, meeting tokens, Daily's REST subset, the signaling websocket and a SIP gateway,
// on this machine. Prints one JSON line when ready, then logs to stderr.

#include "common/log.hpp"
#include "devserver.hpp"

#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdlib>
#include <malloc.h>
#include <iostream>
#include <sstream>
#include <optional>
#include <sys/resource.h>
#include <thread>

int main(int argc, char** argv) {
  // No fastbins: after a broadcast to a big room frees thousands of small buffers, glibc consolidated them all
  // in the next larger malloc, which stalled the next REFER's serialization for ~0.4 ms per 1,000 recipients
  // (traced in daily_bench --refer 300 1000). Freed chunks now merge as they are freed.
  mallopt(M_MXFAST, 0);
  daily::devserver::Options options;
  if (const char* key = std::getenv("DAILY_API_KEY"); key && *key) options.apiKey = key;
  std::string logLevel = "info";
  long t1 = options.sipT1.count();
  long timeout = options.sipTransactionTimeout.count();
  long answerDelay = options.sipAnswerDelay.count();
  long webhookTimeout = options.webhookTimeout.count();
  long webhookRetry = options.webhookRetryBase.count();
  long tcpPort = -1;
  long tcpMessageTimeout = options.sipTcpMessageTimeout.count();
  long tcpIdle = options.sipTcpIdleTimeout.count();
  std::string rtpPorts = std::to_string(options.rtpFirstPort) + "-" + std::to_string(options.rtpLastPort);
  double rtpTimeout = 0;

  CLI::App app{"daily-devserver: a local stand-in for Daily's API, signaling and SIP gateway"};
  app.add_option("--host", options.host, "address to serve on (HTTP, websocket and SIP)")->capture_default_str();
  app.add_option("--port", options.port, "HTTP + websocket port; 0 = any free port")->capture_default_str();
  app.add_option("--sip-port", options.sipPort, "SIP (UDP) port; 0 = any free port")->capture_default_str();
  app.add_option("--sip-tcp-port", tcpPort, "SIP over TCP port; -1 = the UDP port's number, 0 = any free port")
      ->capture_default_str();
  app.add_option("--sip-tcp-message-timeout-ms", tcpMessageTimeout,
                 "a SIP message begun on a TCP connection, or a stalled write, closes it after this")
      ->capture_default_str();
  app.add_option("--sip-tcp-idle-ms", tcpIdle, "a SIP TCP connection with no traffic is closed after this")
      ->capture_default_str();
  app.add_option("--sip-auth", options.sipCredentials,
                 "USER:PASSWORD[@REALM] for peers that challenge the gateway (401/407); repeatable; no realm = any")
      ->allow_extra_args(false);
  app.add_option("--sip-dial-in-auth", options.sipDialInCredentials,
                 "USER:PASSWORD[@REALM]: dial-ins must prove one of these (digest, 401 until they do); repeatable")
      ->allow_extra_args(false);
  app.add_flag("--sip-dial-in-auth-sha256", options.sipDialInSha256,
               "challenge dial-ins with SHA-256 too, first (default: MD5 alone, which Debian's baresip and sipp answer)");
  app.add_option("--sip-outbound-proxy", options.sipOutboundProxy,
                 "sip:HOST[:PORT][;transport=tcp|tls] or sips:HOST[:PORT]: the proxy that dial-outs and bridged "
                 "calls go through");
  app.add_option("--sip-dns-server", options.sipDnsServers,
                 "IP[:PORT],...: the DNS servers that find the SIP hosts the gateway dials (NAPTR, SRV, A/AAAA; "
                 "default: the system's)");
  long tlsPort = -1;
  app.add_option("--sip-tls-port", tlsPort,
                 "SIP over TLS port; -1 = the UDP port's number + 1 (any free port when that is 0), 0 = any free port")
      ->capture_default_str();
  app.add_option("--sip-tls-cert", options.sipTlsCertFile, "PEM certificate chain: serve SIP over TLS")
      ->check(CLI::ExistingFile);
  app.add_option("--sip-tls-key", options.sipTlsKeyFile, "PEM private key of --sip-tls-cert")->check(CLI::ExistingFile);
  app.add_option("--sip-tls-ca", options.sipTlsCaFile,
                 "PEM CAs to verify the SIP TLS peers the gateway connects to (default: the system's)")
      ->check(CLI::ExistingFile);
  bool tlsNoVerify = false;
  app.add_flag("--sip-tls-no-verify", tlsNoVerify,
               "do not verify the certificates of SIP TLS peers (insecure: for testing against self-signed peers)");
  app.add_option("--rtp-ports", rtpPorts, "the calls' RTP ports, A-B: each call takes an even one")
      ->capture_default_str();
  std::string srtp = "optional";
  app.add_option("--sip-srtp", srtp,
                 "SRTP (SDES) on calls over TLS: optional (taken and offered; plain RTP after a 488), required, off")
      ->check(CLI::IsMember({"optional", "required", "off"}))
      ->capture_default_str();
  app.add_option("--rtp-timeout", rtpTimeout,
                 "seconds a call may send no RTP while it should before it is hung up; 0 = never")
      ->capture_default_str();
  app.add_option("--api-key", options.apiKey,
                 "REST bearer key and meeting-token signing secret (default: $DAILY_API_KEY or a fixed dev key)");
  app.add_option("--sip-t1-ms", t1, "SIP timer T1 in ms (retransmission base)")->capture_default_str();
  app.add_option("--sip-timeout-ms", timeout, "SIP transaction timeout (Timers B/F) in ms")->capture_default_str();
  app.add_option("--sip-answer-delay-ms", answerDelay, "how long dial-in calls ring before the gateway answers")
      ->capture_default_str();
  app.add_option("--webhook-timeout-ms", webhookTimeout, "per-attempt timeout of a webhook delivery")
      ->capture_default_str();
  app.add_option("--webhook-retry-ms", webhookRetry, "first retry delay of a failed webhook delivery (doubles)")
      ->capture_default_str();
  app.add_option("--tls-cert", options.tlsCertFile, "PEM certificate chain: serve https:// and wss:// only")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-key", options.tlsKeyFile, "PEM private key of --tls-cert")->check(CLI::ExistingFile);
  app.add_option("--log-level", logLevel, "debug, info, warn, error or off (debug prints every SIP message)")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  using daily::detail::LogLevel;
  daily::detail::setLogLevel(logLevel == "debug"  ? LogLevel::Debug
                             : logLevel == "warn" ? LogLevel::Warn
                             : logLevel == "error" ? LogLevel::Error
                             : logLevel == "off"  ? LogLevel::Off
                                                  : LogLevel::Info);
  if (options.tlsCertFile.empty() != options.tlsKeyFile.empty()) {
    std::cerr << "daily-devserver: --tls-cert and --tls-key go together\n";
    return 2;
  }
  if (t1 < 1 || timeout < t1 || answerDelay < 0 || webhookTimeout < 1 || webhookRetry < 1 || tcpPort < -1 ||
      tcpPort > 65535 || tcpMessageTimeout < 1 || tcpIdle < 1) {
    std::cerr << "daily-devserver: --sip-t1-ms must be >= 1, --sip-timeout-ms >= T1, --sip-answer-delay-ms >= 0, "
                 "--sip-tcp-port from -1 to 65535, the TCP and webhook timings >= 1\n";
    return 2;
  }
  if (tcpPort >= 0) options.sipTcpPort = static_cast<std::uint16_t>(tcpPort);
  {
    unsigned first = 0, last = 0;
    char dash = 0, extra = 0;
    std::istringstream in(rtpPorts);
    if (!(in >> first >> dash >> last) || dash != '-' || in >> extra || first < 1024 || last > 65535 || first > last ||
        (first % 2 == 1 && first == last)) {
      std::cerr << "daily-devserver: --rtp-ports must be A-B, 1024 <= A <= B <= 65535, with an even port in it\n";
      return 2;
    }
    options.rtpFirstPort = static_cast<std::uint16_t>(first);
    options.rtpLastPort = static_cast<std::uint16_t>(last);
  }
  if (rtpTimeout < 0 || rtpTimeout > 86400) {
    std::cerr << "daily-devserver: --rtp-timeout must be 0 to 86400 seconds\n";
    return 2;
  }
  options.rtpTimeout = std::chrono::milliseconds(static_cast<long>(rtpTimeout * 1000));
  options.sipSrtp = srtp == "required" ? daily::devserver::media::SrtpPolicy::Required
                    : srtp == "off"    ? daily::devserver::media::SrtpPolicy::Off
                                       : daily::devserver::media::SrtpPolicy::Optional;
  if (options.sipTlsCertFile.empty() != options.sipTlsKeyFile.empty()) {
    std::cerr << "daily-devserver: --sip-tls-cert and --sip-tls-key go together\n";
    return 2;
  }
  if (tlsPort < -1 || tlsPort > 65535) {
    std::cerr << "daily-devserver: --sip-tls-port must be from -1 to 65535\n";
    return 2;
  }
  if (tlsPort >= 0) options.sipTlsPort = static_cast<std::uint16_t>(tlsPort);
  options.sipTlsVerifyPeers = !tlsNoVerify;
  if (tlsNoVerify) std::cerr << "daily-devserver: warning: SIP TLS peers' certificates are not verified\n";
  options.sipTcpMessageTimeout = std::chrono::milliseconds(tcpMessageTimeout);
  options.sipTcpIdleTimeout = std::chrono::milliseconds(tcpIdle);
  options.webhookTimeout = std::chrono::milliseconds(webhookTimeout);
  options.webhookRetryBase = std::chrono::milliseconds(webhookRetry);
  options.sipT1 = std::chrono::milliseconds(t1);
  options.sipTransactionTimeout = std::chrono::milliseconds(timeout);
  options.sipAnswerDelay = std::chrono::milliseconds(answerDelay);

  // One file descriptor per websocket client: allow as many as the hard limit does.
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }

  // SIGINT/SIGTERM stop the server from a thread of their own.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::optional<daily::devserver::Devserver> server;
  try {
    server.emplace(options);
    server->start();
  } catch (const std::exception& e) {
    std::cerr << "daily-devserver: cannot start: " << e.what() << "\n";
    return 1;
  }
  std::cout << server->readyLine() << std::endl;

  int received = 0;
  sigwait(&signals, &received);
  std::cerr << "daily-devserver: stopping (signal " << received << ")\n";
  server->stop();
  return 0;
}
