#include "loadtest/report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace sb::loadtest {

namespace {

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string ms(std::int64_t us) {
  return fmt("%.3f", static_cast<double>(us) / 1000.0);
}

std::string pname(double p) {
  auto s = fmt("%g", p);
  for (auto& c : s) {
    if (c == '.') {
      c = '_';
    }
  }
  return "p" + s;
}

std::string json_percentiles(const histogram& h) {
  std::string out = "{\"count\":" + std::to_string(h.count());
  for (double p : report_percentiles()) {
    out += ",\"" + pname(p) + "_ms\":" + ms(h.percentile(p));
  }
  out += ",\"max_ms\":" + ms(h.max()) + ",\"mean_ms\":" + fmt("%.3f", h.mean() / 1000.0) + "}";
  return out;
}

std::string json_map(const std::map<std::string, std::uint64_t>& m) {
  std::string out = "{";
  for (const auto& [k, v] : m) {
    out += (out.size() > 1 ? "," : "") + json_quote(k) + ":" + std::to_string(v);
  }
  return out + "}";
}

/// An SVG polyline chart: x and y in data units, linear axes from 0.
std::string svg_chart(const std::string& title, const std::string& x_label,
                      const std::string& y_label, const std::vector<double>& xs,
                      const std::vector<double>& ys, const std::vector<std::string>& x_ticks,
                      bool bars = false) {
  constexpr double w = 640, h = 260, left = 60, right = 20, top = 30, bottom = 40;
  std::ostringstream o;
  o << "<svg xmlns='http://www.w3.org/2000/svg' width='" << w << "' height='" << h
    << "' style='background:#fff;border:1px solid #ccc;margin:8px'>";
  o << "<text x='" << w / 2 << "' y='18' text-anchor='middle' font-size='14'>" << html_escape(title)
    << "</text>";
  const double xmax = xs.empty() ? 1 : std::max(1.0, *std::max_element(xs.begin(), xs.end()));
  const double ymax =
      ys.empty() ? 1 : std::max(1e-9, *std::max_element(ys.begin(), ys.end()) * 1.1);
  auto px = [&](double x) { return left + x / xmax * (w - left - right); };
  auto py = [&](double y) { return h - bottom - y / ymax * (h - top - bottom); };
  o << "<line x1='" << left << "' y1='" << h - bottom << "' x2='" << w - right << "' y2='"
    << h - bottom << "' stroke='#000'/>";
  o << "<line x1='" << left << "' y1='" << top << "' x2='" << left << "' y2='" << h - bottom
    << "' stroke='#000'/>";
  for (int i = 0; i <= 4; ++i) {
    const double y = ymax * i / 4;
    o << "<text x='" << left - 4 << "' y='" << py(y) + 4 << "' text-anchor='end' font-size='10'>"
      << fmt("%.4g", y) << "</text>";
    o << "<line x1='" << left << "' y1='" << py(y) << "' x2='" << w - right << "' y2='" << py(y)
      << "' stroke='#eee'/>";
  }
  for (std::size_t i = 0; i < xs.size() && i < x_ticks.size(); ++i) {
    if (!x_ticks[i].empty()) {
      o << "<text x='" << px(xs[i]) << "' y='" << h - bottom + 14
        << "' text-anchor='middle' font-size='10'>" << html_escape(x_ticks[i]) << "</text>";
    }
  }
  o << "<text x='" << w / 2 << "' y='" << h - 6 << "' text-anchor='middle' font-size='11'>"
    << html_escape(x_label) << "</text>";
  o << "<text x='14' y='" << h / 2 << "' font-size='11' transform='rotate(-90 14 " << h / 2
    << ")' text-anchor='middle'>" << html_escape(y_label) << "</text>";
  if (bars) {
    const double bw = std::max(1.0, (w - left - right) / std::max<std::size_t>(xs.size(), 1) - 1);
    for (std::size_t i = 0; i < xs.size(); ++i) {
      o << "<rect x='" << px(xs[i]) - bw << "' y='" << py(ys[i]) << "' width='" << bw
        << "' height='" << h - bottom - py(ys[i]) << "' fill='#4a7fc1'/>";
    }
  } else {
    o << "<polyline fill='none' stroke='#c14a4a' stroke-width='2' points='";
    for (std::size_t i = 0; i < xs.size(); ++i) {
      o << px(xs[i]) << "," << py(ys[i]) << " ";
    }
    o << "'/>";
    for (std::size_t i = 0; i < xs.size(); ++i) {
      o << "<circle cx='" << px(xs[i]) << "' cy='" << py(ys[i]) << "' r='3' fill='#c14a4a'/>";
    }
  }
  o << "</svg>";
  return o.str();
}

/// Latency against percentile, x = log10(1 / (1 - p)) so the tail gets room (HdrHistogram's
/// classic plot).
std::string percentile_chart(const std::string& title, const histogram& h) {
  std::vector<double> xs;
  std::vector<double> ys;
  std::vector<std::string> ticks;
  for (double p : {0.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.5, 99.9, 99.95, 99.99}) {
    xs.push_back(std::log10(1.0 / (1.0 - p / 100.0)));
    ys.push_back(static_cast<double>(h.percentile(p)) / 1000.0);
    ticks.push_back(p == 0.0 || p == 95.0 || p == 99.5 || p == 99.95 ? "" : fmt("%g%%", p));
  }
  return svg_chart(title, "percentile", "ms", xs, ys, ticks);
}

}  // namespace

const std::vector<double>& report_percentiles() {
  static const std::vector<double> ps{50, 90, 99, 99.9};
  return ps;
}

std::string json_quote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '\'':
        out += "&#39;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string render_summary(const run_result& r) {
  std::ostringstream o;
  o << "switchboard-loadtest: " << r.mode << " loop";
  if (r.mode == "open") {
    o << " at " << r.target_rate << " req/s";
  }
  o << ", " << r.connections << " connections, " << r.gateway_url << "\n";
  o << "  requests: " << r.sent << " sent, " << r.measured << " measured over "
    << fmt("%.1f", r.measured_s) << " s (after " << r.warmup_s << " s warm-up)\n";
  o << "  throughput: " << fmt("%.1f", r.throughput()) << " responses/s\n";
  o << "  ack latency (ms):";
  for (double p : report_percentiles()) {
    o << " p" << p << "=" << ms(r.ack.percentile(p));
  }
  o << " max=" << ms(r.ack.max()) << "\n";
  o << "  status:";
  for (const auto& [k, v] : r.by_status) {
    o << " " << k << "=" << v;
  }
  o << "\n  kinds:";
  for (const auto& [k, v] : r.by_kind) {
    o << " " << k << "=" << v;
  }
  o << "\n";
  for (const auto& [k, v] : r.unexpected_status) {
    o << "  UNEXPECTED: " << k << " x" << v << "\n";
  }
  if (r.stream_checked) {
    o << "  e2e latency (ms, send -> SSE):";
    for (double p : report_percentiles()) {
      o << " p" << p << "=" << ms(r.e2e.percentile(p));
    }
    o << " max=" << ms(r.e2e.max()) << " (" << r.e2e.count() << " events)\n";
    o << "  stream: acked=" << r.loss.acked << " delivered=" << r.loss.delivered
      << " lost: " << r.loss.missing << " duplicated: " << r.loss.duplicated
      << " rejected-but-present: " << r.loss.rejected_present << " (rejected=" << r.loss.rejected
      << " unknown=" << r.loss.unknown << ")\n";
    for (const auto& s : r.loss.samples) {
      o << "    " << s << "\n";
    }
  } else {
    o << "  stream: not checked (" << r.stream_note << ")\n";
  }
  if (r.fanout.streams > 0 || !r.fanout.error.empty()) {
    o << "  fan-out: " << r.fanout.streams << " more streams of tenant " << r.fanout.tenant
      << ", each received " << r.fanout.fewest << " to " << r.fanout.most << " events of the "
      << r.fanout.expected << " on the checked stream" << (r.fanout.ok() ? "" : "  INCOMPLETE");
    if (!r.fanout.error.empty()) {
      o << " (" << r.fanout.error << ")";
    }
    o << "\n";
  }
  if (r.visitors.streams > 0 || !r.visitors.error.empty()) {
    o << "  visitor streams: " << r.visitors.streams << " of " << r.visitors.channel
      << " open (in " << r.visitors.open_s << " s), " << r.visitors.events
      << " events received (expected 0)" << (r.visitors.ok() ? "" : "  FAILED");
    if (!r.visitors.error.empty()) {
      o << " (" << r.visitors.error << ")";
    }
    o << "\n";
  }
  o << "  /metrics: " << (r.metrics_after.empty() ? "not available" : "scraped before and after")
    << "\n";
  return o.str();
}

std::string render_json(const run_result& r) {
  std::ostringstream o;
  o << "{\"scenario\":" << json_quote(r.scenario_path)
    << ",\"gateway\":" << json_quote(r.gateway_url) << ",\"mode\":" << json_quote(r.mode)
    << ",\"target_rate\":" << r.target_rate << ",\"connections\":" << r.connections
    << ",\"warmup_s\":" << r.warmup_s << ",\"measured_s\":" << fmt("%.3f", r.measured_s)
    << ",\"sent\":" << r.sent << ",\"measured\":" << r.measured
    << ",\"throughput_rps\":" << fmt("%.1f", r.throughput())
    << ",\"ack_latency\":" << json_percentiles(r.ack) << ",\"by_status\":" << json_map(r.by_status)
    << ",\"by_kind\":" << json_map(r.by_kind)
    << ",\"unexpected_status\":" << json_map(r.unexpected_status) << ",\"per_second_ok\":[";
  for (std::size_t i = 0; i < r.per_second.size(); ++i) {
    o << (i ? "," : "") << r.per_second[i];
  }
  o << "],\"stream\":{\"checked\":" << (r.stream_checked ? "true" : "false")
    << ",\"note\":" << json_quote(r.stream_note) << ",\"e2e_latency\":" << json_percentiles(r.e2e)
    << ",\"acked\":" << r.loss.acked << ",\"delivered\":" << r.loss.delivered
    << ",\"lost\":" << r.loss.missing << ",\"duplicated\":" << r.loss.duplicated
    << ",\"rejected\":" << r.loss.rejected << ",\"rejected_present\":" << r.loss.rejected_present
    << ",\"unknown\":" << r.loss.unknown << ",\"unknown_seen\":" << r.loss.unknown_seen
    << ",\"unexpected\":" << r.loss.unexpected << ",\"samples\":[";
  for (std::size_t i = 0; i < r.loss.samples.size(); ++i) {
    o << (i ? "," : "") << json_quote(r.loss.samples[i]);
  }
  o << "]},\"fanout\":{\"streams\":" << r.fanout.streams
    << ",\"tenant\":" << json_quote(r.fanout.tenant) << ",\"expected\":" << r.fanout.expected
    << ",\"fewest\":" << r.fanout.fewest << ",\"most\":" << r.fanout.most
    << ",\"ok\":" << (r.fanout.ok() ? "true" : "false")
    << ",\"error\":" << json_quote(r.fanout.error) << "},\"visitors\":{\"streams\":"
    << r.visitors.streams << ",\"channel\":" << json_quote(r.visitors.channel)
    << ",\"events\":" << r.visitors.events << ",\"open_s\":" << r.visitors.open_s
    << ",\"ok\":" << (r.visitors.ok() ? "true" : "false")
    << ",\"error\":" << json_quote(r.visitors.error) << "},\"metrics_before\":"
    << (r.metrics_before.empty() ? "null" : json_quote(r.metrics_before))
    << ",\"metrics_after\":" << (r.metrics_after.empty() ? "null" : json_quote(r.metrics_after))
    << "}\n";
  return o.str();
}

std::string render_html(const run_result& r) {
  std::ostringstream o;
  o << "<!DOCTYPE html><html><head><meta charset='utf-8'><title>switchboard-loadtest "
    << html_escape(r.mode) << "</title></head><body style='font-family:sans-serif;margin:20px'>";
  o << "<h1>switchboard-loadtest report</h1><pre>" << html_escape(render_summary(r)) << "</pre>";
  std::vector<double> xs;
  std::vector<double> ys;
  std::vector<std::string> ticks;
  for (std::size_t i = 0; i < r.per_second.size(); ++i) {
    xs.push_back(static_cast<double>(i + 1));
    ys.push_back(static_cast<double>(r.per_second[i]));
    ticks.push_back(i % 5 == 4 ? std::to_string(i + 1) : "");
  }
  o << svg_chart("Throughput (200 responses per second, warm-up included)", "seconds", "req/s", xs,
                 ys, ticks, true);
  o << percentile_chart("Ack latency by percentile (from intended send time)", r.ack);
  if (r.stream_checked) {
    o << percentile_chart("End-to-end latency by percentile (send -> SSE event)", r.e2e);
  }
  auto metrics = [&](const char* title, const std::string& text) {
    o << "<h2>" << title << "</h2>";
    if (text.empty()) {
      o << "<p>/metrics did not answer 200.</p>";
    } else {
      o << "<details><summary>show</summary><pre>" << html_escape(text) << "</pre></details>";
    }
  };
  metrics("/metrics before", r.metrics_before);
  metrics("/metrics after", r.metrics_after);
  o << "</body></html>\n";
  return o.str();
}

}  // namespace sb::loadtest
