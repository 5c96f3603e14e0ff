#!/usr/bin/env bash
# Benchmarks of the durable store (a benchmark, not a test: it asserts nothing).
#
#   loadtest/bench_durable.sh            ingest (sqlite fsync, then none) + push throughput
#   loadtest/bench_durable.sh overload   memory under sustained overload (sqlite fsync, small
#                                        server.mailbox_high_water), RSS before/during/after
#
# Builds the Release binary, starts it on fresh store directories, drives it with wrk and the
# Telegram scenario (loadtest/wrk/telegram.lua) and prints req/s and latency percentiles.
# Needs: cmake, a C++ toolchain, wrk, node (the push receiver), curl.
#
# Environment (defaults in brackets):
#   BUILD_DIR [<repo>/build-bench]   JOBS [2]          DURATION [15] seconds per wrk run
#   CONNS [32]   THREADS [2]         STORE_ROOT [/var/tmp] where the store directories go (use a
#                                    real disk: on tmpfs an fsync costs nothing)
#   PUSH_IN_FLIGHT ["8 32"]          push.max_in_flight values to measure
#   overload: OVERLOAD_CONNS [1000]  OVERLOAD_SECS [60]  HIGH_WATER [64]  SAMPLE_EVERY [5]
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
. "$ROOT/loadtest/bench_lib.sh"
BUILD_DIR="${BUILD_DIR:-$ROOT/build-bench}"
JOBS="${JOBS:-2}"
DURATION="${DURATION:-15}"
CONNS="${CONNS:-32}"
THREADS="${THREADS:-2}"
STORE_ROOT="${STORE_ROOT:-/var/tmp}"
PUSH_IN_FLIGHT="${PUSH_IN_FLIGHT:-8 32}"
OVERLOAD_CONNS="${OVERLOAD_CONNS:-1000}"
OVERLOAD_SECS="${OVERLOAD_SECS:-60}"
HIGH_WATER="${HIGH_WATER:-64}"
SAMPLE_EVERY="${SAMPLE_EVERY:-5}"
MODE="${1:-bench}"

SECRET="$BENCH_SECRET"
MASTER_KEY="$BENCH_KEY"
PUSH_SECRET="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
LUA="$ROOT/loadtest/wrk/telegram.lua"

WORK="$(mktemp -d "$STORE_ROOT/sb-bench.XXXXXX")"
GW_PID=""
RX_PID=""
cleanup() {
  [[ -n "$GW_PID" ]] && kill "$GW_PID" 2>/dev/null && wait "$GW_PID" 2>/dev/null || true
  [[ -n "$RX_PID" ]] && kill "$RX_PID" 2>/dev/null && wait "$RX_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

require_tools bench cmake wrk curl

echo "== build (Release) in $BUILD_DIR"
cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD_DIR" -j"$JOBS" --target switchboard >/dev/null
BIN="$BUILD_DIR/switchboard"

# config <store dir> <durability> [high water] [push url] [max_in_flight]
config() {
  local dir="$1" durability="$2" hw="${3:-10000}" url="${4:-}" in_flight="${5:-8}"
  cat <<EOF
server:
  listen: "127.0.0.1:0"
  io_threads: 2
  mailbox_high_water: $hw
storage:
  backend: sqlite
  path: "$dir"
  durability: $durability
  master_key: "$MASTER_KEY"
tenants:
  - id: acme
    channels:
      - {name: tg, type: telegram, secret_token: "$SECRET"}
    subscribers:
      - name: backend
        token_sha256: "$(printf %s sbt_bench | sha256sum | cut -d' ' -f1)"
        scopes: [stream, admin]
EOF
  if [[ -n "$url" ]]; then
    cat <<EOF
      - name: hook
        push: {url: "$url", secret: "$PUSH_SECRET", max_in_flight: $in_flight}
EOF
  fi
}

stop_gateway() {
  kill -TERM "$GW_PID" 2>/dev/null || true
  wait "$GW_PID" 2>/dev/null || true
  GW_PID=""
}

# run_wrk <connections> <seconds> <output file>
run_wrk() {
  SB_TG_SECRET="$SECRET" wrk -t"$THREADS" -c"$1" -d"$2"s --latency -s "$LUA" \
    "http://127.0.0.1:$GW_PORT/webhooks/acme/tg" >"$3" 2>&1
}

summary() {  # <wrk output>
  local rps p50 p99 reqs non2xx
  rps="$(awk '/^Requests\/sec:/ {print $2}' "$1")"
  p50="$(awk '/^p50:/ {print $2}' "$1")"
  p99="$(awk '/^p99:/ {print $2}' "$1")"
  reqs="$(sed -n 's/^requests: \([0-9]*\), non-2xx\/3xx: \([0-9]*\).*/\1/p' "$1")"
  non2xx="$(sed -n 's/^requests: \([0-9]*\), non-2xx\/3xx: \([0-9]*\).*/\2/p' "$1")"
  printf '%-28s %10s req/s   p50 %8s ms   p99 %8s ms   requests %s (non-2xx %s)\n' \
    "$2" "$rps" "$p50" "$p99" "$reqs" "$non2xx"
}

bench() {
  echo "== ingest: wrk -t$THREADS -c$CONNS -d${DURATION}s, Telegram updates, one tenant"
  local d
  for d in fsync none; do
    mkdir -p "$WORK/$d"
    config "$WORK/$d/store" "$d" >"$WORK/$d/switchboard.yaml"
    start_gateway "$BIN" "$WORK/$d/switchboard.yaml" "$WORK/$d/gateway.log"
    run_wrk "$CONNS" "$DURATION" "$WORK/$d/wrk.txt"
    stop_gateway
    summary "$WORK/$d/wrk.txt" "sqlite durability=$d"
  done

  command -v node >/dev/null || { echo "bench: node not found; push throughput skipped"; return; }
  echo "== push: the events stored above (durability=none run) delivered from the log to a local"
  echo "   receiver (node http, keep-alive), by a subscriber that starts at cursor 0"
  local receiver="$WORK/receiver.js"
  cat >"$receiver" <<'EOF'
const http = require('http');
let count = 0, first = 0n, last = 0n;
const ids = new Set();
const server = http.createServer((req, res) => {
  if (req.method === 'GET') {
    const ms = Number(last - first) / 1e6;
    res.end(JSON.stringify({count, unique: ids.size, ms}));
    return;
  }
  req.on('data', () => {});
  req.on('end', () => {
    const now = process.hrtime.bigint();
    if (count === 0) first = now;
    last = now;
    count++;
    ids.add(req.headers['webhook-id']);
    res.writeHead(200, {'content-length': '2'});
    res.end('ok');
  });
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
EOF
  local stored
  stored="$(sed -n 's/^requests: \([0-9]*\), non-2xx\/3xx: \([0-9]*\).*/\1 \2/p' \
    "$WORK/none/wrk.txt" | awk '{print $1 - $2}')"
  local n
  for n in $PUSH_IN_FLIGHT; do
    node "$receiver" >"$WORK/rx.port" &
    RX_PID=$!
    for _ in $(seq 100); do [[ -s "$WORK/rx.port" ]] && break; sleep 0.05; done
    local rx_port
    rx_port="$(head -1 "$WORK/rx.port")"
    # A copy of the store, so that each run starts from the same log and cursor 0.
    rm -rf "$WORK/push" && mkdir -p "$WORK/push" && cp -r "$WORK/none/store" "$WORK/push/store"
    config "$WORK/push/store" fsync 10000 "http://127.0.0.1:$rx_port/hook" "$n" \
      >"$WORK/push/switchboard.yaml"
    start_gateway "$BIN" "$WORK/push/switchboard.yaml" "$WORK/push/gateway.log"
    local stats="" prev=-1 cur=0
    for _ in $(seq 600); do  # until the count stops growing (bounded: 5 minutes)
      sleep 0.5
      stats="$(curl -s "http://127.0.0.1:$rx_port/stats")"
      cur="$(sed -n 's/.*"count":\([0-9]*\).*/\1/p' <<<"$stats")"
      [[ "$cur" -ge "$stored" && "$cur" == "$prev" ]] && break
      prev="$cur"
    done
    stop_gateway
    kill "$RX_PID" 2>/dev/null; wait "$RX_PID" 2>/dev/null || true
    RX_PID=""
    awk -v n="$n" -v stored="$stored" -v s="$stats" 'BEGIN {
      match(s, /"count":[0-9]+/); c = substr(s, RSTART + 8, RLENGTH - 8);
      match(s, /"unique":[0-9]+/); u = substr(s, RSTART + 9, RLENGTH - 9);
      match(s, /"ms":[0-9.]+/); ms = substr(s, RSTART + 5, RLENGTH - 5);
      printf "push max_in_flight=%-3s %8d deliveries (%d unique; wrk counted %d)", n, c, u, stored
      printf " in %.2f s = %.0f/s\n", ms / 1000, (ms > 0 ? c / (ms / 1000) : 0) }'
  done
}

overload() {
  echo "== overload: sqlite fsync, server.mailbox_high_water=$HIGH_WATER," \
    "wrk -c$OVERLOAD_CONNS for ${OVERLOAD_SECS}s"
  mkdir -p "$WORK/overload"
  config "$WORK/overload/store" fsync "$HIGH_WATER" >"$WORK/overload/switchboard.yaml"
  start_gateway "$BIN" "$WORK/overload/switchboard.yaml" "$WORK/overload/gateway.log"
  sleep 1
  printf '%-8s %10s\n' "t (s)" "VmRSS (KB)"
  printf '%-8s %10s\n' "before" "$(rss_kb "$GW_PID")"
  SB_TG_SECRET="$SECRET" wrk -t"$THREADS" -c"$OVERLOAD_CONNS" -d"${OVERLOAD_SECS}s" --latency \
    --timeout 10s -s "$LUA" "http://127.0.0.1:$GW_PORT/webhooks/acme/tg" \
    >"$WORK/overload/wrk.txt" 2>&1 &
  local wrk_pid=$! t=0 peak=0 r
  while kill -0 "$wrk_pid" 2>/dev/null; do
    sleep "$SAMPLE_EVERY"
    t=$((t + SAMPLE_EVERY))
    kill -0 "$wrk_pid" 2>/dev/null || break
    r="$(rss_kb "$GW_PID")"
    ((r > peak)) && peak=$r
    printf '%-8s %10s\n' "$t" "$r"
  done
  wait "$wrk_pid" || true
  sleep 5
  printf '%-8s %10s\n' "after+5" "$(rss_kb "$GW_PID")"
  echo "peak during load: $peak KB"
  summary "$WORK/overload/wrk.txt" "overload (503s shed)"
  echo "store writer shedding (log lines, at most one a second):" \
    "$(grep -c "past server.mailbox_high_water" "$WORK/overload/gateway.log" || true)"
  stop_gateway
}

case "$MODE" in
  bench) bench ;;
  overload) overload ;;
  *) echo "usage: $0 [bench|overload]" >&2; exit 2 ;;
esac
