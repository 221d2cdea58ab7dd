#!/usr/bin/env bash
# The transfer demo, all on this machine: daily-devserver, a real SIP softphone (baresip) dialing into a room,
# a SIP transfer target (sipp), and examples/sip_refer_bot handing the caller off with a SIP REFER.
# Prints the bot's events and the SIP ladder, and exits 0 only if the caller reached the target.
#   scripts/demo.sh            (BUILD_DIR=build/demo by default)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
build="${BUILD_DIR:-build/demo}"
if [ -z "${DAILY_DEMO_PREBUILT:-}" ]; then  # the test suite runs the demo on binaries it has already built
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDAILY_BUILD_TESTS=OFF \
    -DDAILY_BUILD_EXAMPLES=ON -DDAILY_BUILD_DEVSERVER=ON >/dev/null
  cmake --build "$build" -j "$(nproc)" --target daily-devserver sip_refer_bot
fi

work="$(mktemp -d /tmp/daily-demo-XXXXXX)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# A random UDP port for the SIP peers, below the kernel's ephemeral range and above the tests' media ports
# (a clash makes sipp or baresip fail loudly, not silently).
pick_port() { echo $(( 20000 + RANDOM % 12000 )); }

echo "== daily-devserver"
exec 3< <(exec "$build/devserver/daily-devserver" --api-key demo-key --log-level info 2>"$work/devserver.log")
pids+=($!)
read -r -t 10 -u 3 ready || { echo "daily-devserver did not start" >&2; cat "$work/devserver.log" >&2; exit 1; }
echo "$ready"
http_url="$(jq -r .http_url <<<"$ready")"
sip_port="$(jq -r .sip_port <<<"$ready")"
api() { curl -fsS -H "Authorization: Bearer demo-key" -H "Content-Type: application/json" "$@"; }

echo "== a dial-in room and an owner token (REST)"
room="$(api -X POST "$http_url/v1/rooms" -d '{"name":"support","properties":{"sip":{"sip_mode":"dial-in","display_name":"Caller"}}}')"
room_url="$(jq -r .url <<<"$room")"
# The room's dial-in URI names an unguessable identifier, not the room: a caller dials what the room object says.
sip_endpoint="$(jq -r .config.sip_uri.endpoint <<<"$room")"
echo "room $room_url, SIP endpoint $sip_endpoint"
token="$(api -X POST "$http_url/v1/meeting-tokens" -d '{"properties":{"room_name":"support","is_owner":true}}' | jq -r .token)"

echo "== the transfer target: sipp answering as sip:agent"
target_port="$(pick_port)"
sipp -sn uas -i 127.0.0.1 -p "$target_port" -m 1 -timeout 30s -timeout_error -nostdin -mp "$(pick_port)" \
  -trace_msg -message_file "$work/target.messages" >"$work/target.log" 2>&1 &
target_pid=$!
pids+=($target_pid)

echo "== the caller: baresip dialing $sip_endpoint"
phone_port="$(pick_port)"
mkdir -p "$work/baresip"
{ # four seconds of 8 kHz mono 16-bit silence as the phone's microphone
  printf 'RIFF\x24\xfa\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x40\x1f\x00\x00\x80\x3e\x00\x00\x02\x00\x10\x00data\x00\xfa\x00\x00'
  head -c 64000 /dev/zero
} >"$work/baresip/mic.wav"
cat >"$work/baresip/config" <<CONF
module_path /usr/lib/baresip/modules
sip_listen 127.0.0.1:$phone_port
module stdio.so
module g711.so
module aufile.so
module_app account.so
module_app menu.so
audio_player aufile,/dev/null
audio_alert aufile,/dev/null
audio_source aufile,$work/baresip/mic.wav
CONF
echo "<sip:caller@127.0.0.1:$phone_port>;regint=0" >"$work/baresip/accounts"
baresip -f "$work/baresip" -e "/dial $sip_endpoint" -t 12 >"$work/baresip.log" 2>&1 </dev/null &
pids+=($!)

echo "== sip_refer_bot: refer the caller to sip:agent@127.0.0.1:$target_port"
set +e
"$build/examples/sip_refer_bot" --room-url "$room_url" --token "$token" --to "sip:agent@127.0.0.1:$target_port" --timeout 20
bot=$?
wait "$target_pid"
target=$?
set -e

echo "== the SIP ladder at the gateway (devserver log)"
grep -E " sip: (-->|<--) " "$work/devserver.log" | sed -E 's/^[0-9.]+ \[info\] sip: /  /'
echo "== what the transfer target received"
grep -E "^(INVITE|ACK|BYE|SIP/2.0) " "$work/target.messages" | sed 's/^/  /' || true

if [ "$bot" -eq 0 ] && [ "$target" -eq 0 ]; then
  echo "== demo passed: the caller was transferred with a SIP REFER and reached sip:agent; the gateway left the call"
  exit 0
fi
echo "== demo FAILED: sip_refer_bot exited $bot, the target's sipp exited $target (logs in $work)" >&2
exit 1
