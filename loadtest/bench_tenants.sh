#!/usr/bin/env bash
# Many tenants (a benchmark: prints figures, asserts nothing; docs/control-plane.md "Scale").
#
#   loadtest/bench_tenants.sh BINARY [N ...]        (default N: 1 1000 10000)
#
# For each N: a config of N tenants m00000.. with three channels each (Telegram, WhatsApp,
# Shopify; the Telegram secret token the same for all), the gateway started on a fresh store.
# Prints the time until it listens, its resident memory and threads once idle, then drives it
# with wrk and loadtest/wrk/telegram_tenants.lua (each request to the next tenant's Telegram
# channel, unique updates): req/s, p50, p99 and the gateway's CPU time per request, and the
# memory after. Webhook routing should cost the same at every N.
# Environment (defaults in brackets): C [16] connections  D [8] seconds  BACKEND [sqlite]
#   DUR [fsync] storage.durability  STORE_ROOT [/var/tmp] (a real disk: on tmpfs fsync is free)
set -u
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
. "$ROOT/loadtest/bench_lib.sh"
C=${C:-16}; D=${D:-8}; BACKEND=${BACKEND:-sqlite}; DUR=${DUR:-fsync}
STORE_ROOT=${STORE_ROOT:-/var/tmp}
[ $# -ge 1 ] || { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
require_tools bench_tenants wrk python3
BIN=$1; shift
SIZES=${*:-1 1000 10000}

config() { # tenants store-path
  printf '%s\n' "server: {listen: \"127.0.0.1:0\", io_threads: 1}" \
    "storage: {backend: $BACKEND, path: \"$2\", durability: $DUR, master_key: \"$BENCH_KEY\"}" \
    "tenants:"
  python3 - "$1" "$BENCH_SECRET" <<'PY'
import sys
n, secret = int(sys.argv[1]), sys.argv[2]
out = []
for i in range(n):
    out.append(f'''  - id: m{i:05d}
    channels:
      - {{name: tg, type: telegram, secret_token: "{secret}"}}
      - {{name: wa, type: whatsapp, app_secret: "bench-wa-app-{i:05d}", verify_token: "bench-wa-verify-{i:05d}", phone_number_id: "{100000 + i}"}}
      - {{name: shop, type: shopify, client_secret: "bench-shop-{i:05d}", shop_domain: "m{i:05d}.myshopify.com"}}
''')
sys.stdout.write(''.join(out))
PY
}

for n in $SIZES; do
  w=$(mktemp -d "$STORE_ROOT/sb-tenants.XXXXXX")
  config "$n" "$w/store" > "$w/c.yaml"
  t0=$(date +%s%N)
  start_gateway "$BIN" "$w/c.yaml" "$w/log" || { rm -rf "$w"; continue; }
  t1=$(date +%s%N)
  pid=$GW_PID
  sleep 5  # idle: whatever starts after listening has started
  idle_rss=$(rss_kb $pid); threads=$(ls /proc/$pid/task | wc -l)
  cpu0=$(cpu_us $pid)
  SB_TENANTS=$n SB_TG_SECRET=$BENCH_SECRET wrk -t1 -c"$C" -d"${D}s" --latency \
    -s "$ROOT/loadtest/wrk/telegram_tenants.lua" "http://127.0.0.1:$GW_PORT" > "$w/wrk" 2>&1
  cpu1=$(cpu_us $pid)
  printf 'tenants %-6s listening after %6.2f s  idle %5d MB, %5d threads  %s  %s  after %5d MB\n' \
    "$n" "$(echo "($t1 - $t0) / 1000000000" | bc -l)" $((idle_rss / 1024)) "$threads" \
    "$(wrk_figures "$w/wrk")" "$(cpu_per_request "$cpu0" "$w/wrk" "$cpu1")" $(($(rss_kb $pid) / 1024))
  kill -TERM $pid; wait $pid 2>/dev/null
  rm -rf "$w"
done
