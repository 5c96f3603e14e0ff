#!/usr/bin/env bash
# Durable ingest with 1, 2 and 3 replicas on one PostgreSQL, next to one gateway on SQLite (a
# benchmark, not a test: it asserts nothing). docs/scale-out.md keeps the figures.
#
# Each run starts the replicas with scripts/cluster (a PostgreSQL of its own, fsync on,
# synchronous_commit on: the defaults) and drives every replica at once with wrk and the Telegram
# scenario (loadtest/wrk/telegram.lua), CONNS connections in all, split over the replicas as a
# load balancer would; req/s is the sum, p99 the worst replica's. The SQLite run is one gateway,
# `durability: fsync`, its store under STORE_ROOT.
#
# Environment (defaults in brackets): SB_BUILD_DIR [build] (Release, as scripts/build makes it)
# DURATION [15] seconds per run   CONNS [32]   REPLICAS ["1 2 3"]   STORE_ROOT [/var/tmp]
# (a real disk: on tmpfs an fsync costs nothing; the PostgreSQL data goes there too)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
. "$ROOT/loadtest/bench_lib.sh"
DURATION="${DURATION:-15}"
CONNS="${CONNS:-32}"
REPLICAS="${REPLICAS:-1 2 3}"
STORE_ROOT="${STORE_ROOT:-/var/tmp}"
LUA="$ROOT/loadtest/wrk/telegram.lua"
export SB_BUILD_DIR="${SB_BUILD_DIR:-build}"
BIN="$ROOT/$SB_BUILD_DIR/switchboard"

require_tools bench_replicas wrk curl
WORK="$(mktemp -d "$STORE_ROOT/sb-bench-replicas.XXXXXX")"
[ "$(id -u)" -eq 0 ] && chmod 755 "$WORK"
export SB_CLUSTER_DIR="$WORK/cluster"
GW_PID=""
cleanup() {
  "$ROOT/scripts/cluster" down >/dev/null 2>&1 || true
  [[ -n "$GW_PID" ]] && kill "$GW_PID" 2>/dev/null && wait "$GW_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# The replicas' config: one I/O thread each, tenant acme with Telegram channel tg, no rate limit.
cat >"$WORK/template.yaml" <<YAML
server: {listen: "127.0.0.1:@PORT@", io_threads: 1}
storage:
  backend: postgres
  postgres: {dsn: "@DSN@", pool: 8}
  master_key: "$BENCH_KEY"
cluster: {node_id: "@NODE@"}
tenants:
  - id: acme
    channels:
      - {name: tg, type: telegram, secret_token: "$BENCH_SECRET"}
YAML
export SB_CLUSTER_TEMPLATE="$WORK/template.yaml"

RUN=0
# wrk on every port at once, CONNS split between them; prints the summed req/s and the worst p99.
drive() {
  local ports=("$@") n=${#@} i=0 pids=()
  local per=$(( (CONNS + n - 1) / n ))
  for port in "${ports[@]}"; do
    # Update ids of their own per replica's driver (SB_TG_FIRST), and per run: all new events.
    i=$((i + 1))
    SB_TG_FIRST=$(( (RUN * 10 + i) * 1000000000 )) SB_TG_SECRET="$BENCH_SECRET" SB_TG_CHATS=1000 wrk -t1 -c"$per" -d"$DURATION"s -s "$LUA" \
      "http://127.0.0.1:$port/webhooks/acme/tg" >"$WORK/wrk-$port.txt" 2>&1 &
    pids+=($!)
  done
  wait "${pids[@]}"  # not the gateway, also a child of this shell
  RUN=$((RUN + 1))
  local rps=0 p99=0 non2xx=0
  for port in "${ports[@]}"; do
    rps=$(awk -v a="$rps" '/^Requests\/sec:/ {printf "%.0f", a + $2}' "$WORK/wrk-$port.txt")
    p99=$(awk -v a="$p99" '/^p99:/ {print ($2 > a ? $2 : a)}' "$WORK/wrk-$port.txt")
    non2xx=$((non2xx + $(sed -n 's/.*non-2xx\/3xx: \([0-9]*\).*/\1/p' "$WORK/wrk-$port.txt" | head -1 || echo 0)))
  done
  printf '%8s req/s   p99 %7s ms   non-2xx %s\n' "$rps" "$p99" "$non2xx"
}

echo "== durable ingest, wrk -c$CONNS in all, ${DURATION}s, Telegram updates of 1000 chats, one tenant"
SB_JOBS="${SB_JOBS:-2}" "$ROOT/scripts/build" switchboard >/dev/null
tg_config sqlite "$WORK/sqlite" fsync >"$WORK/sqlite.yaml"
start_gateway "$BIN" "$WORK/sqlite.yaml" "$WORK/sqlite.log"
printf '%-34s' "1 gateway, SQLite (fsync)"
drive "$GW_PORT"
kill "$GW_PID"; wait "$GW_PID" 2>/dev/null || true; GW_PID=""

for n in $REPLICAS; do
  "$ROOT/scripts/cluster" up "$n" >/dev/null
  mapfile -t ports < <(awk '{print $3}' "$SB_CLUSTER_DIR/replicas")
  printf '%-34s' "$n replica(s), one PostgreSQL"
  drive "${ports[@]}"
  "$ROOT/scripts/cluster" down >/dev/null
done
