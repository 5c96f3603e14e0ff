# Sourced by the wrk benchmarks (bench_ab.sh, bench_fanout.sh, bench_syncs.sh,
# bench_conversations.sh, bench_durable.sh): what starting a gateway for a benchmark takes. Not a
# command.

# The benchmark tenant's Telegram secret token and the stores' master key: benchmark values, in
# this repository, never a deployment's.
BENCH_SECRET=bench-tg-secret-token
BENCH_KEY=6f1c2a9b3e4d5f60718293a4b5c6d7e8f90a1b2c3d4e5f6071829304a5b6c7d8

# require_tools <script> <tool>...: exits 1, naming the first tool that is not installed.
require_tools() {
  local script="$1" tool
  shift
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "$script: $tool is required" >&2; exit 1; }
  done
}

# tg_config <backend> <store path> <durability> [top-level YAML] [YAML under the tenant]: the
# benchmark config on stdout: one I/O thread, a free port, tenant acme with Telegram channel tg
# (secret token $BENCH_SECRET). The optional parts are whole lines, each ending in a newline.
tg_config() {
  printf '%s\n' "server: {listen: \"127.0.0.1:0\", io_threads: 1}" \
    "storage: {backend: $1, path: \"$2\", durability: $3, master_key: \"$BENCH_KEY\"}"
  printf '%s' "${4:-}"
  printf '%s\n' "tenants:" "  - id: acme" "    channels:" \
    "      - {name: tg, type: telegram, secret_token: \"$BENCH_SECRET\"}"
  printf '%s' "${5:-}"
}

# Starts gateway binary $1 with config $2, its log in $3; sets GW_PID and GW_PORT (the port it
# printed: the configs listen on 127.0.0.1:0). Fails when the process exits or no port shows
# within 10 s.
start_gateway() {
  "$1" --config "$2" > "$3" 2>&1 &
  GW_PID=$!
  GW_PORT=""
  for _ in $(seq 200); do
    GW_PORT=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$3" | head -1)
    [ -n "$GW_PORT" ] && return 0
    kill -0 "$GW_PID" 2>/dev/null || break
    sleep 0.05
  done
  echo "bench: $1 did not start:" >&2
  cat "$3" >&2
  return 1
}

# The resident memory of process $1, in KB.
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# Prints "<req/s> req/s  p50 <ms> ms  p99 <ms> ms  <non-2xx>" from wrk output file $1 (wrk run
# with loadtest/wrk/telegram.lua, which prints p50/p99 in ms).
wrk_figures() {
  printf '%9s req/s  p50 %7s ms  p99 %7s ms  %s' "$(awk '/^Requests\/sec:/{print $2}' "$1")" \
    "$(awk '/^p50:/{print $2}' "$1")" "$(awk '/^p99:/{print $2}' "$1")" \
    "$(grep -o 'non-2xx/3xx: [0-9]*' "$1")"
}

# The CPU time process $1 has used so far, in microseconds (utime + stime of /proc/PID/stat).
cpu_us() {
  awk -v hz="$(getconf CLK_TCK)" '{print int(($14 + $15) * 1000000 / hz)}' "/proc/$1/stat"
}

# Prints "cpu <us>/req": the CPU microseconds the gateway spent per request of wrk output file $2,
# from `cpu_us` readings $1 (before) and $3 (after). Less noisy than req/s on a shared machine.
cpu_per_request() {
  awk -v a="$1" -v b="$3" '/requests in/{printf "cpu %5.0f us/req", (b - a) / $1}' "$2"
}
