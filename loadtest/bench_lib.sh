# Sourced by loadtest/bench_ab.sh and bench_fanout.sh: what starting a gateway for a benchmark
# takes. Not a command.

# Starts gateway binary $1 with config $2, its log in $3; sets GW_PID and GW_PORT (the port it
# printed: the configs listen on 127.0.0.1:0). Fails when no port shows within 10 s.
start_gateway() {
  "$1" --config "$2" > "$3" 2>&1 &
  GW_PID=$!
  GW_PORT=""
  for _ in $(seq 200); do
    GW_PORT=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$3" | head -1)
    [ -n "$GW_PORT" ] && return 0
    sleep 0.05
  done
  echo "bench: $1 did not start:" >&2
  cat "$3" >&2
  return 1
}

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
