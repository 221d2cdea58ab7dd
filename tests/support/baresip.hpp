#pragma once

// baresip, a real softphone, headless: its configuration for a test.

#include <string>

namespace daily::test {

/// Writes a baresip configuration into dir (created if needed): listening on host:port as sip:user@host:port,
/// no registration, `seconds` of silence (an 8 kHz WAV) as its microphone. Returns dir, for baresip -f.
/// baresip hangs up its call when that file ends, so it must outlast the call the test needs.
std::string writeBaresipConfig(const std::string& dir, const std::string& host, int port, const std::string& user,
                               int seconds = 60);

}  // namespace daily::test
