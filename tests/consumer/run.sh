#!/usr/bin/env bash
# Installs the build tree into a fresh prefix, builds tests/consumer against it with find_package(daily) and a
# pkg-config program, then runs the consumer against the installed daily-devserver.
#   run.sh BUILD_DIR
set -euo pipefail
build="$1"
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d /tmp/daily-consumer-XXXXXX)"
trap '[ -n "${server:-}" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT

cmake --install "$build" --prefix "$work/prefix" >/dev/null
cmake -S "$here" -B "$work/build" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/build" >/dev/null

# pkg-config users get the same library.
export PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig:$work/prefix/lib/x86_64-linux-gnu/pkgconfig"
c++ -std=c++17 -o "$work/consumer-pc" "$here/consumer.cpp" $(pkg-config --cflags --libs --static daily)

exec 3< <(exec "$work/prefix/bin/daily-devserver" --api-key consumer-key --log-level warn)
server=$!
read -r -t 10 -u 3 ready
http_url="$(jq -r .http_url <<<"$ready")"
room_url="$(curl -fsS -X POST -H "Authorization: Bearer consumer-key" -d '{"name":"consumer"}' "$http_url/v1/rooms" | jq -r .url)"

"$work/build/consumer" "$room_url"
"$work/consumer-pc" "$room_url"
