#!/usr/bin/env bash
# The whole test suite under AddressSanitizer + UndefinedBehaviorSanitizer, then under ThreadSanitizer.
#   scripts/sanitize.sh              both
#   scripts/sanitize.sh address,undefined   or   scripts/sanitize.sh thread
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
here="$(pwd)"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$here/tests/tsan.supp"
export LSAN_OPTIONS="suppressions=$here/tests/lsan.supp"
for sanitizers in ${1:-address,undefined thread}; do
  build="build/sanitize-${sanitizers//,/-}"
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDAILY_SANITIZE="$sanitizers" \
    -DDAILY_BUILD_TESTS=ON -DDAILY_BUILD_EXAMPLES=ON -DDAILY_BUILD_CLI=ON >/dev/null
  cmake --build "$build" -j "$(nproc)"
  echo "== tests under -fsanitize=$sanitizers"
  ctest --test-dir "$build" --output-on-failure -j "$(( $(nproc) * 2 ))" -LE bench -E "installed_package_consumer"
done
