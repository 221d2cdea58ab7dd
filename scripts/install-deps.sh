#!/usr/bin/env bash
# Installs what daily-cpp needs from Debian bookworm's packages, skipping what is already there.
#   scripts/install-deps.sh          build + test + demo dependencies
set -euo pipefail

packages=(
  # build
  g++ cmake ninja-build pkg-config
  libwebsocketpp-dev libasio-dev nlohmann-json3-dev libssl-dev libcurl4-openssl-dev libosip2-dev libcli11-dev
  libc-ares-dev
  # media: G.711, packet loss concealment and tone detection (spandsp, LGPL-2.1, linked dynamically)
  libspandsp-dev
  # media: resampling between bots' sample rates and the calls' 8 kHz (speexdsp, BSD)
  libspeexdsp-dev
  # media: SRTP for calls over TLS, keyed by SDES (libsrtp2, BSD)
  libsrtp2-dev
  # tests
  libgtest-dev libgmock-dev
  # the media tests' WAV files (libsndfile, LGPL-2.1: tests only)
  libsndfile1-dev
  # real SIP peers for the tests and the demo; curl and jq for the demo's REST calls
  sip-tester baresip-core curl jq
  # a Record-Routing SIP proxy in front of the gateway (a test peer only: kamailio is GPL and nothing links it)
  kamailio
  # a DNS server serving NAPTR/SRV/A records to the RFC 3263 tests (a test peer only, GPL, nothing links it)
  dnsmasq-base
  # certificates made by the TLS tests; network namespaces and tc netem for the packet-loss tests
  openssl iproute2 iptables
  # fuzzing (scripts/fuzz.sh): clang and its libFuzzer/sanitizer runtimes
  clang libclang-rt-14-dev
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then missing+=("$p"); fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} Debian packages are already installed"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
# Debian starts kamailio as a service where systemd runs: the tests start their own, and port 5060 must stay free.
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
  $sudo systemctl disable --now kamailio >/dev/null 2>&1 || true
fi
