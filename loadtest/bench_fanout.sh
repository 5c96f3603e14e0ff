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
# With CLIENT=loadtest, switchboard-loadtest drives the ingest instead of wrk and holds the
# streams itself (`--fanout`: one thread for all of them, each must receive every event), as
# loadtest/bench.sh does; PRELOAD and PULLERS need the default, CLIENT=curl.
# Needs wrk and curl (CLIENT=curl), or jq and LOADTEST (CLIENT=loadtest). Environment (defaults
# in brackets):
#   STREAMS ["0 200"]   C [16]   D [8] seconds   DUR [fsync]   STORE_ROOT [/var/tmp]   PRELOAD [0]
#   PULLERS [0]   CLIENT [curl]   LOADTEST [<repo>/build/loadtest/switchboard-loadtest]
set -u
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
. "$ROOT/loadtest/bench_lib.sh"
C=${C:-16}; D=${D:-8}; STREAMS=${STREAMS:-"0 200"}; DUR=${DUR:-fsync}; PRELOAD=${PRELOAD:-0}
PULLERS=${PULLERS:-0}
CLIENT=${CLIENT:-curl}
LOADTEST=${LOADTEST:-$ROOT/build/loadtest/switchboard-loadtest}
STORE_ROOT=${STORE_ROOT:-/var/tmp}
LUA="$ROOT/loadtest/wrk/telegram.lua"
# A benchmark's own token: its SHA-256 is below. With the load tester, the token its Telegram
# scenario names (loadtest/scenarios/telegram.yaml, stream_tokens).
TOKEN=sbt_bench_fanout_token
[ "$CLIENT" = loadtest ] && TOKEN=sbt_dev_helpdesk_change_me
TOKEN_SHA=$(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)
[ $# -ge 1 ] || { sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
if [ "$CLIENT" = loadtest ]; then
  require_tools bench_fanout jq
  [ -x "$LOADTEST" ] || { echo "bench_fanout: no $LOADTEST (build switchboard-loadtest)" >&2; exit 1; }
else
  require_tools bench_fanout wrk curl
fi
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
run_loadtest() { # binary streams label
  local w; w=$(mktemp -d "$STORE_ROOT/sb-fanout.XXXXXX"); cfg "$w/store" > "$w/c.yaml"
  start_gateway "$1" "$w/c.yaml" "$w/log" || { rm -rf "$w"; return; }
  local pid=$GW_PID port=$GW_PORT fan=()
  [ "$2" != 0 ] && fan=(--fanout "$2")
  "$LOADTEST" "$ROOT/loadtest/scenarios/telegram.yaml" --config "$w/c.yaml" \
    --gateway "http://127.0.0.1:$port" --mode closed --connections "$C" --duration "$D" \
    --warmup 2 --out "$w/r" "${fan[@]}" > "$w/out" 2>/dev/null
  local rc=$?
  kill -TERM $pid; wait $pid 2>/dev/null
  printf '%-10s streams=%-4s c=%-3s %9s req/s  p99 %7s ms  stream e2e p99 %7s ms  exit %s  %s\n' \
    "$3" "$2" "$C" "$(jq -r .throughput_rps "$w/r.json")" "$(jq -r .ack_latency.p99_ms "$w/r.json")" \
    "$(jq -r .stream.e2e_latency.p99_ms "$w/r.json")" "$rc" \
    "$(grep -o 'each received.*' "$w/out")"
  rm -rf "$w"
}
for n in $STREAMS; do for a in "$@"; do
  if [ "$CLIENT" = loadtest ]; then
    run_loadtest "${a#*=}" "$n" "${a%%=*}"
  else
    run "${a#*=}" "$n" "${a%%=*}"
  fi
done; done
