#!/usr/bin/env bash
# Cost and memory by number of active conversations (a benchmark: prints figures, asserts nothing).
#
#   loadtest/bench_conversations.sh BINARY
#
# For each N in CHATS: a fresh SQLite store (one tenant, one Telegram channel), wrk with
# loadtest/wrk/telegram.lua cycling N chats (SB_TG_CHATS) for D seconds, then, once the gateway
# is idle, its RSS and its live conversation actors (`switchboard_conversation_actors` of
# /metrics). Prints req/s, p50, p99, the gateway's CPU time per request, the RSS and the actors;
# last, the memory each idle conversation adds: the RSS difference between the largest and the
# smallest N over their difference in actors (what both runs share cancels out).
# With WARMUP=S, a first wrk pass of S seconds (not measured) writes to every chat first, so the
# measured pass sees N conversations that exist already (their actors, keys and window rows)
# instead of paying for new ones.
# Needs wrk and curl. Environment (defaults in brackets):
#   CHATS ["1 100 10000 100000"]   C [16]   D [15] seconds (>= the largest N / req/s, so every
#   chat is written to)   WARMUP [0] seconds   DUR [fsync]   STORE_ROOT [/var/tmp]
# docs/performance.md lists what was measured with it.
set -u
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
. "$ROOT/loadtest/bench_lib.sh"
CHATS=${CHATS:-"1 100 10000 100000"}; C=${C:-16}; D=${D:-15}; DUR=${DUR:-fsync}
WARMUP=${WARMUP:-0}
STORE_ROOT=${STORE_ROOT:-/var/tmp}
[ $# -eq 1 ] || { sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
require_tools bench_conversations wrk curl
first_rss=""; first_actors=""; last_rss=""; last_actors=""
for n in $CHATS; do
  w=$(mktemp -d "$STORE_ROOT/sb-conv.XXXXXX")
  tg_config sqlite "$w/store" "$DUR" > "$w/c.yaml"
  start_gateway "$1" "$w/c.yaml" "$w/log" || { rm -rf "$w"; continue; }
  pid=$GW_PID port=$GW_PORT
  if [ "$WARMUP" != 0 ]; then
    SB_TG_SECRET=$BENCH_SECRET SB_TG_CHATS=$n wrk -t1 -c"$C" -d"${WARMUP}s" \
      -s "$ROOT/loadtest/wrk/telegram.lua" "http://127.0.0.1:$port/webhooks/acme/tg" > /dev/null 2>&1
  fi
  cpu0=$(cpu_us $pid)
  SB_TG_SECRET=$BENCH_SECRET SB_TG_CHATS=$n SB_TG_FIRST=50000000 wrk -t1 -c"$C" -d"${D}s" --latency \
    -s "$ROOT/loadtest/wrk/telegram.lua" "http://127.0.0.1:$port/webhooks/acme/tg" > "$w/wrk" 2>&1
  cpu1=$(cpu_us $pid)
  sleep 2  # idle: commits, window rows and the outbox's linger done
  rss=$(rss_kb $pid)
  actors=$(curl -s "http://127.0.0.1:$port/metrics" |
    awk '/^switchboard_conversation_actors\{/{print $2}')
  kill -TERM $pid; wait $pid 2>/dev/null
  printf 'chats=%-7s %s  %s  rss %7d KB  conversation actors %s\n' "$n" \
    "$(wrk_figures "$w/wrk")" "$(cpu_per_request "$cpu0" "$w/wrk" "$cpu1")" "$rss" "${actors:-?}"
  [ -z "$first_rss" ] && { first_rss=$rss; first_actors=${actors:-0}; }
  last_rss=$rss; last_actors=${actors:-0}
  rm -rf "$w"
done
awk -v a="$first_rss" -v b="$last_rss" -v x="$first_actors" -v y="$last_actors" 'BEGIN {
  if (y > x) printf "memory per idle conversation: %.2f KB ((%d - %d) KB / (%d - %d) actors)\n",
    (b - a) / (y - x), b, a, y, x }'
