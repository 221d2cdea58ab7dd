#!/usr/bin/env bash
# Builds daily-cpp with its tests and runs the whole suite through ctest: unit tests, integration tests against
# the real devserver, SIP tests with sipp and baresip, the installed-package consumer check, the README's demo,
# and the benchmarks' quick mode (which reports and fails only on breakage).
#   scripts/test.sh            (BUILD_DIR=build/test by default)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
build="${BUILD_DIR:-build/test}"
jobs="$(nproc)"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DDAILY_BUILD_TESTS=ON -DDAILY_BUILD_EXAMPLES=ON -DDAILY_BUILD_DEVSERVER=ON -DDAILY_BUILD_BENCH=ON
cmake --build "$build" -j "$jobs"
# The SIP tests spend most of their time waiting for SIP peers, not CPU: run more of them than there are cores.
ctest --test-dir "$build" --output-on-failure -j "$((jobs * 2))"
