#!/usr/bin/env bash
# Disk syncs per request of gateway binaries (a benchmark: prints figures, asserts nothing).
#
#   loadtest/bench_syncs.sh LABEL=BINARY [LABEL=BINARY ...]
#
# bench_ab.sh's setup (one tenant, one Telegram channel, SQLite with `durability: fsync`), with
# strace counting the gateway's fdatasync and fsync calls while wrk runs for D seconds. strace slows
# every call it traces, so the req/s of such a run mean nothing; the syncs per request are exact.
# Needs wrk and strace. Environment: C [1] connections, D [4] seconds, STORE_ROOT [/var/tmp].
# docs/performance.md (step 5) lists what was measured with it.
set -u
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
. "$ROOT/loadtest/bench_lib.sh"
C=${C:-1}; D=${D:-4}; STORE_ROOT=${STORE_ROOT:-/var/tmp}
[ $# -ge 1 ] || { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
require_tools bench_syncs wrk strace
for a in "$@"; do
  w=$(mktemp -d "$STORE_ROOT/sb-syncs.XXXXXX")
  tg_config sqlite "$w/store" fsync > "$w/c.yaml"
  start_gateway "${a#*=}" "$w/c.yaml" "$w/log" || { rm -rf "$w"; continue; }
  strace -c -f -e trace=fdatasync,fsync -p "$GW_PID" -o "$w/strace" 2>/dev/null &
  tracer=$!
  sleep 0.5  # attached to every thread before the first request
  SB_TG_SECRET=$BENCH_SECRET wrk -t1 -c"$C" -d"${D}s" -s "$ROOT/loadtest/wrk/telegram.lua" \
    "http://127.0.0.1:$GW_PORT/webhooks/acme/tg" > "$w/wrk" 2>&1
  kill -INT $tracer; wait $tracer 2>/dev/null
  kill -TERM "$GW_PID"; wait "$GW_PID" 2>/dev/null
  awk -v label="${a%%=*}" -v c="$C" '
    FNR == NR && /requests in/ { requests = $1; next }
    /fdatasync|fsync/ { syncs += $4 }
    END { printf "%-10s c=%-3s %8d requests %8d syncs  %.2f syncs/request\n", label, c,
          requests, syncs, requests ? syncs / requests : 0 }' "$w/wrk" "$w/strace"
  rm -rf "$w"
done
