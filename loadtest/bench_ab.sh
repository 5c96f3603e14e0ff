#!/usr/bin/env bash
# A/B of gateway binaries over HTTP (a benchmark: prints figures, asserts nothing).
#
#   loadtest/bench_ab.sh LABEL=BINARY [LABEL=BINARY ...]
#
# Starts each binary in turn on a fresh store (one tenant, one Telegram channel, secret token
# checked), drives it with wrk and loadtest/wrk/telegram.lua (unique updates over 10,000 chats)
# and prints req/s, p50 and p99 (ms), and the gateway's CPU time per request (steadier than req/s
# when the machine's disk or neighbours are noisy). Runs are interleaved: ROUNDS x BACKENDS x binaries.
# Needs wrk. Environment (defaults in brackets):
#   C [16] connections   D [6] seconds   ROUNDS [1]   BACKENDS ["sqlite"] (memory, sqlite)
#   DUR [fsync] storage.durability   STORE_ROOT [/var/tmp] (a real disk: on tmpfs fsync is free)
# docs/performance.md lists what was measured with it.
set -u
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
. "$ROOT/loadtest/bench_lib.sh"
C=${C:-16}; D=${D:-6}; ROUNDS=${ROUNDS:-1}; DUR=${DUR:-fsync}; BACKENDS=${BACKENDS:-sqlite}
STORE_ROOT=${STORE_ROOT:-/var/tmp}
LUA="$ROOT/loadtest/wrk/telegram.lua"
[ $# -ge 1 ] || { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
require_tools bench_ab wrk
run() { # binary backend label
  local w; w=$(mktemp -d "$STORE_ROOT/sb-ab.XXXXXX"); tg_config "$2" "$w/store" "$DUR" > "$w/c.yaml"
  start_gateway "$1" "$w/c.yaml" "$w/log" || { rm -rf "$w"; return; }
  local pid=$GW_PID port=$GW_PORT cpu0 cpu1
  cpu0=$(cpu_us $pid)
  SB_TG_SECRET=$BENCH_SECRET wrk -t1 -c"$C" -d"${D}s" --latency -s "$LUA" \
    "http://127.0.0.1:$port/webhooks/acme/tg" > "$w/wrk" 2>&1
  cpu1=$(cpu_us $pid)
  kill -TERM $pid; wait $pid 2>/dev/null
  printf '%-10s %-7s %-5s c=%-3s %s  %s\n' "$3" "$2" "$DUR" "$C" "$(wrk_figures "$w/wrk")" \
    "$(cpu_per_request "$cpu0" "$w/wrk" "$cpu1")"
  rm -rf "$w"
}
for _ in $(seq "$ROUNDS"); do for b in $BACKENDS; do for a in "$@"; do
  run "${a#*=}" "$b" "${a%%=*}"
done; done; done
