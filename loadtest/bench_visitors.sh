#!/usr/bin/env bash
# Webhook ingest while many web chat visitors keep their stream open (issue 15: "10,000 open
# visitor streams on one tenant may not lower webhook ingest by more than 10 % or raise its p99 by
# more than 1 ms"). A benchmark: prints figures, asserts nothing but the load tester's own checks
# (nothing acknowledged lost; no visitor stream receives an event of another conversation).
#
#   loadtest/bench_visitors.sh LABEL=BINARY [LABEL=BINARY ...]
#
# For each number of visitor streams in VISITORS and each binary: a fresh SQLite store, then
# switchboard-loadtest drives Telegram webhooks (closed loop, C connections, D seconds) while it
# holds that many idle `GET /chat/acme/web/stream` connections (`--visitor-streams`, one thread,
# tokens minted from the same config) and checks the backend's /v1/stream for loss.
# Environment (defaults in brackets): VISITORS ["0 10000"]  C [16]  D [10] seconds  DUR [fsync]
#   STORE_ROOT [/var/tmp]  LOADTEST [<repo>/build/loadtest/switchboard-loadtest]
set -u
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
. "$ROOT/loadtest/bench_lib.sh"
C=${C:-16}; D=${D:-10}; VISITORS=${VISITORS:-"0 10000"}; DUR=${DUR:-fsync}
LOADTEST=${LOADTEST:-$ROOT/build/loadtest/switchboard-loadtest}
STORE_ROOT=${STORE_ROOT:-/var/tmp}
TOKEN_SHA=$(printf %s sbt_dev_helpdesk_change_me | sha256sum | cut -d' ' -f1)
[ $# -ge 1 ] || { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
require_tools bench_visitors jq
[ -x "$LOADTEST" ] || { echo "bench_visitors: no $LOADTEST (build switchboard-loadtest)" >&2; exit 1; }
ulimit -n "$(ulimit -Hn)" 2>/dev/null
cfg() {
  # 10,000 streams and the load's connections: max_connections above them (the gateway clamps it
  # below its open-files limit, which it raises to the hard limit).
  tg_config sqlite "$1" "$DUR" "" "      - name: web
        type: webchat
        allowed_origins: [\"https://shop.example.com\"]
    subscribers:
      - name: backend
        token_sha256: \"$TOKEN_SHA\"
        scopes: [stream]
        purposes: [support]
" | sed 's|io_threads: 1}|io_threads: 1, max_connections: 30000}|'
}
run() { # binary visitors label
  local w; w=$(mktemp -d "$STORE_ROOT/sb-visitors.XXXXXX"); cfg "$w/store" > "$w/c.yaml"
  start_gateway "$1" "$w/c.yaml" "$w/log" || { rm -rf "$w"; return; }
  local pid=$GW_PID port=$GW_PORT vis=()
  [ "$2" != 0 ] && vis=(--visitor-streams "$2")
  "$LOADTEST" "$ROOT/loadtest/scenarios/telegram.yaml" --config "$w/c.yaml" \
    --gateway "http://127.0.0.1:$port" --mode closed --connections "$C" --duration "$D" \
    --warmup 2 --out "$w/r" "${vis[@]}" > "$w/out" 2>"$w/err"
  local rc=$? rss; rss=$(rss_kb "$pid")
  kill -TERM $pid; wait $pid 2>/dev/null
  printf '%-10s visitors=%-6s c=%-3s %9s req/s  p50 %6s ms  p99 %6s ms  lost %s  rss %6s MB  exit %s  %s\n' \
    "$3" "$2" "$C" "$(jq -r .throughput_rps "$w/r.json")" "$(jq -r .ack_latency.p50_ms "$w/r.json")" \
    "$(jq -r .ack_latency.p99_ms "$w/r.json")" "$(jq -r .stream.lost "$w/r.json")" \
    "$((rss / 1024))" "$rc" "$(grep -o 'visitor streams:.*' "$w/out")"
  rm -rf "$w"
}
for n in $VISITORS; do for a in "$@"; do run "${a#*=}" "$n" "${a%%=*}"; done; done
