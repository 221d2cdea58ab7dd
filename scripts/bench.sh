#!/usr/bin/env bash
# Builds the benchmarks (Release) and runs them; the full run's tables go into docs/performance.md.
#   scripts/bench.sh            the full run, written to docs/performance.md
#   scripts/bench.sh --quick    the short run CI makes (printed only)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
build="${BUILD_DIR:-build/bench}"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDAILY_BUILD_BENCH=ON -DDAILY_BUILD_TESTS=OFF \
  -DDAILY_BUILD_EXAMPLES=OFF -DDAILY_BUILD_CLI=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" --target daily_bench daily-devserver

if [ "${1:-}" = "--quick" ]; then
  exec "$build/bench/daily_bench" --quick
fi

out="$(mktemp)"
"$build/bench/daily_bench" | tee "$out"
{
  cat docs/performance.head.md
  echo
  echo "## The run"
  echo
  echo "- Command: \`scripts/bench.sh\` (Release build; \`daily_bench\` with no arguments)"
  echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM, $(uname -sr)"
  echo "- Compiler: $(c++ --version | head -n1); CMake build type Release"
  echo
  sed -e '1,/^All times/d' "$out"
  echo
  cat docs/performance.tail.md
} >docs/performance.md
rm -f "$out"
echo "wrote docs/performance.md"
