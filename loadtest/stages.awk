# stages.awk: the stages of a stored webhook from a /metrics scrape
# (`switchboard_webhook_stage_seconds{stage}`, docs/operations.md), one line per stage: count,
# mean, and p50 / p90 / p99 interpolated within the histogram's buckets (so a percentile is only
# as fine as the buckets around it: 10, 25, 50, 100, 250, 500 µs, 1, 2.5, 5, 10 ms, ...).
#   curl -s http://127.0.0.1:8080/metrics | awk -f loadtest/stages.awk
function label(line, name,   m) {
  if (match(line, name "=\"[^\"]*\"")) {
    m = substr(line, RSTART + length(name) + 2, RLENGTH - length(name) - 3)
    return m
  }
  return ""
}
function quantile(s, q,   want, i, lo, hi, prev) {
  want = q * count[s]
  prev = 0
  lo = 0
  for (i = 1; i <= nb[s]; i++) {
    hi = bound[s, i]
    if (cum[s, i] >= want) {
      if (hi == "+Inf") return lo
      if (cum[s, i] == prev) return hi
      return lo + (hi - lo) * (want - prev) / (cum[s, i] - prev)
    }
    prev = cum[s, i]
    lo = hi
  }
  return lo
}
/^switchboard_webhook_stage_seconds_bucket/ {
  s = label($0, "stage"); le = label($0, "le")
  if (!(s in nb)) { order[++ns] = s }
  nb[s]++
  bound[s, nb[s]] = (le == "+Inf") ? "+Inf" : le + 0
  cum[s, nb[s]] = $NF + 0
}
/^switchboard_webhook_stage_seconds_sum/ { sum[label($0, "stage")] = $NF + 0 }
/^switchboard_webhook_stage_seconds_count/ { count[label($0, "stage")] = $NF + 0 }
END {
  printf "%-12s %9s %9s %9s %9s %9s\n", "stage", "count", "mean µs", "p50 µs", "p90 µs", "p99 µs"
  for (k = 1; k <= ns; k++) {
    s = order[k]
    if (count[s] == 0) { printf "%-12s %9d\n", s, 0; continue }
    printf "%-12s %9d %9.0f %9.0f %9.0f %9.0f\n", s, count[s], 1e6 * sum[s] / count[s],
      1e6 * quantile(s, 0.5), 1e6 * quantile(s, 0.9), 1e6 * quantile(s, 0.99)
  }
}
