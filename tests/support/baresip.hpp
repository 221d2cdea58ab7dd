#pragma once

// baresip, a real softphone, headless: its configuration for a test.

#include <cstdint>
#include <string>
#include <vector>

namespace daily::test {

/// What a test may add to a baresip configuration.
struct BaresipExtras {
  /// SIP over TLS: its certificate and key in one PEM file, and the CAs it trusts. With a certificate, baresip
  /// also listens for TLS, on port + 1.
  std::string certificate{};
  std::string caFile{};
  /// Answers incoming calls by itself.
  bool autoAnswer = false;
  /// The password it answers a digest challenge with (its user: the account's).
  std::string authPassword{};
  /// Its microphone plays a sine of this frequency (0: silence).
  double toneHz = 0;
  /// Records what it sends and hears into this directory (its sndfile module: dump-<time>-enc.wav and
  /// dump-<time>-dec.wav, the second being what it heard). Empty: no recording.
  std::string recordDir{};
  /// Takes commands over UDP on 127.0.0.1:consPort (its cons module; TCP too, so the port must be free for both):
  /// see baresipCommand. 0: none.
  int consPort = 0;
  /// Its account's media encryption (baresip's mediaenc: "srtp-mand" = SDES SRTP or no call). Empty: none.
  std::string mediaEncryption{};
};

/// What a baresip configured with extras.recordDir heard on its first call: the samples of its first dump-*-dec.wav
/// (empty when there is none).
std::vector<std::int16_t> baresipHeard(const std::string& recordDir, int* rate);

/// Sends a baresip started with BaresipExtras::consPort a command, as typed at its menu ("/transfer sip:...").
void baresipCommand(int consPort, const std::string& command);

/// Writes a baresip configuration into dir (created if needed): listening on host:port (UDP and TCP) as
/// sip:user@host:port, no registration, `seconds` of silence or extras.toneHz (an 8 kHz WAV) as its microphone. Returns dir, for
/// baresip -f. baresip hangs up its call when that file ends, so it must outlast the call the test needs.
std::string writeBaresipConfig(const std::string& dir, const std::string& host, int port, const std::string& user,
                               int seconds = 60, const BaresipExtras& extras = {});

}  // namespace daily::test
