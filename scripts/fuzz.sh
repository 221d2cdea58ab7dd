#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each for a bounded time from its seed corpus.
#   scripts/fuzz.sh                 30 s per target (what CI runs)
#   FUZZ_SECONDS=600 scripts/fuzz.sh   the long run
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
seconds="${FUZZ_SECONDS:-30}"
build="${BUILD_DIR:-build/fuzz}"
CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDAILY_BUILD_FUZZ=ON \
  -DDAILY_BUILD_TESTS=OFF -DDAILY_BUILD_EXAMPLES=OFF -DDAILY_BUILD_CLI=OFF -DDAILY_BUILD_DEVSERVER=ON >/dev/null
targets=(frame token sip_uri sip_message sip_stream rest_body rtp sdp)
cmake --build "$build" -j "$(nproc)" --target "${targets[@]/#/fuzz_}"

status=0
for t in "${targets[@]}"; do
  corpus="$build/corpus/$t"
  mkdir -p "$corpus"
  cp -n fuzz/corpus/"$t"/* "$corpus"/ 2>/dev/null || true
  log="$build/fuzz_$t.log"
  if "$build/fuzz/fuzz_$t" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$build/fuzz_$t-" \
      -print_final_stats=1 "$corpus" >"$log" 2>&1; then
    runs="$(grep -m1 'stat::number_of_executed_units' "$log" | awk '{print $2}')"
    echo "fuzz_$t: ${seconds}s, ${runs:-?} executions, no crash"
  else
    echo "fuzz_$t: FAILED (see $log)"; tail -n 40 "$log"; status=1
  fi
done
exit $status
