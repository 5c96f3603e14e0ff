#!/usr/bin/env bash
# Ingest with live SSE streams on the same tenant (a benchmark: prints figures, asserts nothing).
#
#   loadtest/bench_fanout.sh LABEL=BINARY [LABEL=BINARY ...]
#
# For each number of streams in STREAMS and each binary: a fresh SQLite store, that many
# `curl -N /v1/stream?after=0` clients (one subscriber token; limits.sse_streams_per_token
# raised), then wrk with loadtest/wrk/telegram.lua. Prints ingest req/s, p50, p99 and how many
# events the first stream received (it must keep up with what was acknowledged).
# With PRELOAD=S, wrk first stores S seconds of history, so every stream starts by replaying it
# (catch-up readers) while the measured ingest runs. With PULLERS=N, a second wrk keeps N
# connections pulling the oldest page (`GET /v1/events?after=0&limit=100`, history once PRELOAD
# has pushed it out of the live tail) during the measured ingest, and its req/s is printed too.
# Needs wrk and curl. Environment (defaults in brackets):
#   STREAMS ["0 200"]   C [16]   D [8] seconds   DUR [fsync]   STORE_ROOT [/var/tmp]   PRELOAD [0]
#   PULLERS [0]
set -u
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
. "$ROOT/loadtest/bench_lib.sh"
C=${C:-16}; D=${D:-8}; STREAMS=${STREAMS:-"0 200"}; DUR=${DUR:-fsync}; PRELOAD=${PRELOAD:-0}
PULLERS=${PULLERS:-0}
STORE_ROOT=${STORE_ROOT:-/var/tmp}
LUA="$ROOT/loadtest/wrk/telegram.lua"
# A benchmark's own token: its SHA-256 is below.
TOKEN=sbt_bench_fanout_token
TOKEN_SHA=$(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)
[ $# -ge 1 ] || { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
require_tools bench_fanout wrk curl
cfg() {
  tg_config sqlite "$1" "$DUR" "limits: {sse_streams_per_token: 1000}
" "    subscribers:
      - name: backend
        token_sha256: \"$TOKEN_SHA\"
        scopes: [stream]
        purposes: [support]
"
}
run() { # binary streams label
  local w; w=$(mktemp -d "$STORE_ROOT/sb-fanout.XXXXXX"); cfg "$w/store" > "$w/c.yaml"
  start_gateway "$1" "$w/c.yaml" "$w/log" || { rm -rf "$w"; return; }
  local pid=$GW_PID port=$GW_PORT
  if [ "$PRELOAD" != 0 ]; then
    SB_TG_SECRET=$BENCH_SECRET wrk -t1 -c"$C" -d"${PRELOAD}s" -s "$LUA" \
      "http://127.0.0.1:$port/webhooks/acme/tg" > /dev/null 2>&1
  fi
  local clients=() out
  for i in $(seq "$2"); do
    out=/dev/null; [ "$i" = 1 ] && out="$w/first"
    curl -sN -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$port/v1/stream?after=0" \
      > "$out" 2>/dev/null & clients+=($!)
  done
  sleep 1
  local puller=""
  if [ "$PULLERS" != 0 ]; then
    wrk -t1 -c"$PULLERS" -d"${D}s" -H "Authorization: Bearer $TOKEN" \
      "http://127.0.0.1:$port/v1/events?after=0&limit=100" > "$w/pull" 2>&1 & puller=$!
  fi
  SB_TG_SECRET=$BENCH_SECRET wrk -t1 -c"$C" -d"${D}s" --latency -s "$LUA" \
    "http://127.0.0.1:$port/webhooks/acme/tg" > "$w/wrk" 2>&1
  [ -n "$puller" ] && wait "$puller"
  sleep 1
  local got=0; [ -f "$w/first" ] && got=$(grep -c '^id: ' "$w/first")
  for p in "${clients[@]}"; do kill "$p" 2>/dev/null; done
  kill -TERM $pid; wait $pid 2>/dev/null
  local pulls=""
  [ -n "$puller" ] && pulls="  pulls: $(awk '/^Requests\/sec:/{print $2}' "$w/pull") pages/s $(grep -o 'Non-2xx or 3xx responses: [0-9]*' "$w/pull")"
  printf '%-10s streams=%-4s c=%-3s %s  first stream: %s events%s\n' "$3" "$2" "$C" \
    "$(wrk_figures "$w/wrk")" "$got" "$pulls"
  rm -rf "$w"
}
for n in $STREAMS; do for a in "$@"; do run "${a#*=}" "$n" "${a%%=*}"; done; done
