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

std::string thousands(std::uint64_t n) {
  auto d = std::to_string(n);
  for (int i = static_cast<int>(d.size()) - 3; i > 0; i -= 3) {
    d.insert(static_cast<std::size_t>(i), ",");
  }
  return d;
}

/// A tick label: no trailing zeros, no exponent for the values a plot shows.
std::string tick_label(double v) {
  if (v >= 1e6) {
    return fmt("%gM", v / 1e6);
  }
  if (v >= 1e4) {
    return fmt("%gk", v / 1e3);
  }
  return fmt("%g", v);
}

/// One series of a plot: a line, or a layer of stacked bars.
struct series {
  std::string name;   ///< legend text and data-series attribute
  std::string color;
  std::vector<double> ys;  ///< one per x (seconds 1..n, or the given xs)
  bool dashed = false;
};

/// An inline SVG plot: x from 0 (seconds or a log percentile scale), y from 0 with 1-2-5 ticks,
/// the warm-up shaded, lines and/or stacked bars, an optional horizontal target line, a legend.
struct plot {
  std::string id;  ///< element id (the browser test finds the plots by it)
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<double> xs;  ///< x of each point; a bar fills [x - 1, x]
  double x_max = 0;        ///< right end of the x axis; 0 = the last x
  std::vector<std::pair<double, std::string>> x_ticks;  ///< empty: 1-2-5 ticks over xs
  double warmup = 0;       ///< shaded [0, warmup] when > 0
  std::vector<series> bars;  ///< stacked, bottom first
  std::vector<series> lines;
  double target = 0;  ///< a horizontal dashed line when > 0
  std::string target_name;
};

std::string render_plot(const plot& p) {
  constexpr double w = 720, h = 280, left = 64, right = 20, top = 34, bottom = 64;
  const double x_max = p.x_max > 0 ? p.x_max : p.xs.empty() ? 1 : std::max(1.0, p.xs.back());
  double y_top = p.target;
  for (std::size_t i = 0; i < p.xs.size(); ++i) {
    double stack = 0;
    for (const auto& b : p.bars) {
      stack += i < b.ys.size() ? b.ys[i] : 0;
    }
    y_top = std::max(y_top, stack);
    for (const auto& l : p.lines) {
      y_top = std::max(y_top, i < l.ys.size() ? l.ys[i] : 0);
    }
  }
  const auto y_ticks = nice_ticks(y_top > 0 ? y_top * 1.05 : 1);  // room above the top
  const double y_max = y_ticks.back();
  auto px = [&](double x) { return left + x / x_max * (w - left - right); };
  auto py = [&](double y) { return h - bottom - y / y_max * (h - top - bottom); };
  std::ostringstream o;
  o << "<figure><svg id='" << p.id << "' xmlns='http://www.w3.org/2000/svg' role='img' "
    << "aria-labelledby='" << p.id << "-title' viewBox='0 0 " << w << " " << h << "' width='"
    << w << "' height='" << h << "' font-family='sans-serif'>";
  o << "<title id='" << p.id << "-title'>" << html_escape(p.title) << "</title>";
  o << "<rect width='" << w << "' height='" << h << "' fill='#fff'/>";
  o << "<text x='" << w / 2 << "' y='20' text-anchor='middle' font-size='14' font-weight='bold'>"
    << html_escape(p.title) << "</text>";
  for (double y : y_ticks) {
    o << "<line x1='" << left << "' y1='" << py(y) << "' x2='" << w - right << "' y2='" << py(y)
      << "' stroke='#ddd'/><text x='" << left - 5 << "' y='" << py(y) + 4
      << "' text-anchor='end' font-size='10' fill='#333'>" << tick_label(y) << "</text>";
  }
  std::vector<std::pair<double, std::string>> x_ticks = p.x_ticks;
  if (x_ticks.empty()) {
    // Whole seconds (or percentile decades) at least: never more ticks than units.
    const int wanted = std::max(1, std::min(8, static_cast<int>(x_max)));
    for (double x : nice_ticks(x_max, wanted)) {
      if (x <= x_max) {
        x_ticks.emplace_back(x, tick_label(x));
      }
    }
  }
  for (const auto& [x, label] : x_ticks) {
    o << "<line x1='" << px(x) << "' y1='" << h - bottom << "' x2='" << px(x) << "' y2='"
      << h - bottom + 4 << "' stroke='#333'/><text x='" << px(x) << "' y='" << h - bottom + 16
      << "' text-anchor='middle' font-size='10' fill='#333'>" << html_escape(label) << "</text>";
  }
  // Stacked bars, one column per point.
  const double bw = std::max(1.0, (w - left - right) / x_max - 1);
  std::vector<double> base(p.xs.size(), 0);
  for (const auto& b : p.bars) {
    o << "<g data-series='" << html_escape(b.name) << "' fill='" << b.color << "'>";
    for (std::size_t i = 0; i < p.xs.size() && i < b.ys.size(); ++i) {
      if (b.ys[i] <= 0) {
        continue;
      }
      const double y0 = py(base[i]);
      const double y1 = py(base[i] + b.ys[i]);
      o << "<rect x='" << fmt("%.1f", px(p.xs[i] - 1) + 0.5) << "' y='" << fmt("%.1f", y1)
        << "' width='" << fmt("%.1f", bw) << "' height='" << fmt("%.1f", y0 - y1) << "'/>";
      base[i] += b.ys[i];
    }
    o << "</g>";
  }
  for (const auto& l : p.lines) {
    o << "<polyline data-series='" << html_escape(l.name) << "' fill='none' stroke='" << l.color
      << "' stroke-width='2'" << (l.dashed ? " stroke-dasharray='6 4'" : "") << " points='";
    for (std::size_t i = 0; i < p.xs.size() && i < l.ys.size(); ++i) {
      o << fmt("%.1f", px(p.xs[i])) << "," << fmt("%.1f", py(l.ys[i])) << " ";
    }
    o << "'/>";
  }
  // The warm-up over the data (bars would hide a band drawn under them), translucent.
  if (p.warmup > 0) {
    const double x1 = px(std::min(p.warmup, x_max));
    o << "<g data-series='warm-up'><rect x='" << left << "' y='" << top << "' width='"
      << x1 - left << "' height='" << h - top - bottom
      << "' fill='#777' fill-opacity='0.3'/><text x='" << left + 4 << "' y='" << top - 4
      << "' font-size='10' fill='#222'>warm-up</text></g>";
  }
  if (p.target > 0) {
    o << "<line data-series='" << html_escape(p.target_name) << "' x1='" << left << "' y1='"
      << py(p.target) << "' x2='" << w - right << "' y2='" << py(p.target)
      << "' stroke='#000' stroke-width='1.5' stroke-dasharray='6 4'/>";
  }
  o << "<line x1='" << left << "' y1='" << h - bottom << "' x2='" << w - right << "' y2='"
    << h - bottom << "' stroke='#333'/><line x1='" << left << "' y1='" << top << "' x2='" << left
    << "' y2='" << h - bottom << "' stroke='#333'/>";
  o << "<text x='" << (left + w - right) / 2 << "' y='" << h - bottom + 32
    << "' text-anchor='middle' font-size='11' fill='#333'>" << html_escape(p.x_label) << "</text>";
  o << "<text x='14' y='" << (top + h - bottom) / 2 << "' font-size='11' fill='#333' "
    << "transform='rotate(-90 14 " << (top + h - bottom) / 2 << ")' text-anchor='middle'>"
    << html_escape(p.y_label) << "</text>";
  // Legend along the bottom.
  double lx = left;
  auto legend = [&](const std::string& name, const std::string& color, bool line, bool dashed) {
    const double ly = h - 12;
    if (line) {
      o << "<line x1='" << lx << "' y1='" << ly - 4 << "' x2='" << lx + 16 << "' y2='" << ly - 4
        << "' stroke='" << color << "' stroke-width='2'"
        << (dashed ? " stroke-dasharray='4 3'" : "") << "/>";
    } else {
      o << "<rect x='" << lx << "' y='" << ly - 10 << "' width='12' height='12' fill='" << color
        << "'/>";
    }
    o << "<text x='" << lx + 20 << "' y='" << ly << "' font-size='11' fill='#222'>"
      << html_escape(name) << "</text>";
    lx += 28 + 7 * static_cast<double>(name.size());
  };
  for (const auto& b : p.bars) {
    legend(b.name, b.color, false, false);
  }
  for (const auto& l : p.lines) {
    legend(l.name, l.color, true, l.dashed);
  }
  if (p.target > 0) {
    legend(p.target_name, "#000", true, true);
  }
  if (p.warmup > 0) {
    legend("warm-up", "#bbbbbb", false, false);
  }
  o << "</svg></figure>";
  return o.str();
}

/// Latency against percentile, x = log10(1 / (1 - p)) so the tail gets room (HdrHistogram's
/// classic plot).
std::string percentile_chart(const std::string& id, const std::string& title,
                             const histogram& h) {
  plot p;
  p.id = id;
  p.title = title;
  p.x_label = "percentile";
  p.y_label = "ms";
  series s{"latency", "#b03a2e", {}, false};
  for (double q : {0.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.5, 99.9, 99.95, 99.99}) {
    const double x = std::log10(1.0 / (1.0 - q / 100.0));
    p.xs.push_back(x);
    s.ys.push_back(static_cast<double>(h.percentile(q)) / 1000.0);
    if (q == 50.0 || q == 90.0 || q == 99.0 || q == 99.9 || q == 99.99) {
      p.x_ticks.emplace_back(x, fmt("%g%%", q));
    }
  }
  p.lines.push_back(std::move(s));
  return render_plot(p);
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

void timeline::record(std::size_t second, int status, bool expected, std::int64_t latency_us) {
  if (second > current_second_ && current_.count() > 0) {
    if (done_.size() <= current_second_) {
      done_.resize(current_second_ + 1);
    }
    auto& d = done_[current_second_];
    d.p50_us = current_.percentile(50);
    d.p99_us = current_.percentile(99);
    d.max_us = current_.max();
    current_ = histogram{};
  }
  if (done_.size() <= second) {
    done_.resize(second + 1);
  }
  auto& d = done_[second];
  if (status == 0) {
    ++d.no_answer;
  } else if (status >= 200 && status < 300) {
    ++d.ok;
  } else if (status >= 400 && status < 500) {
    ++d.client;
  } else if (status >= 500 && status < 600) {
    ++d.server;
  } else {
    ++d.other;
  }
  if (expected) {
    ++d.expected;
  }
  if (second >= current_second_) {
    current_second_ = second;
    current_.record(latency_us);
  }
}

std::vector<second_stats> timeline::seconds() const {
  auto out = done_;
  if (current_.count() > 0) {
    if (out.size() <= current_second_) {
      out.resize(current_second_ + 1);
    }
    auto& d = out[current_second_];
    d.p50_us = current_.percentile(50);
    d.p99_us = current_.percentile(99);
    d.max_us = current_.max();
  }
  return out;
}

std::vector<double> nice_ticks(double max, int target) {
  if (!(max > 0) || !std::isfinite(max)) {
    max = 1;
  }
  target = std::max(1, target);
  const double raw = max / target;
  int exponent = static_cast<int>(std::floor(std::log10(raw)));
  double factor = 10;
  for (double f : {1.0, 2.0, 5.0, 10.0}) {
    if (raw <= f * std::pow(10.0, exponent) * (1 + 1e-9)) {
      factor = f;
      break;
    }
  }
  // Tick i is i * factor * 10^exponent; dividing by an exact power of ten for negative
  // exponents keeps 0.3 from printing as 0.30000000000000004.
  const double scale = std::pow(10.0, std::abs(exponent));
  std::vector<double> ticks;
  for (int i = 0;; ++i) {
    const double n = i * factor;
    const double t = exponent < 0 ? n / scale : n * scale;
    ticks.push_back(t);
    if (t >= max * (1 - 1e-9)) {
      break;
    }
  }
  return ticks;
}

std::string likely_cause(const std::string& status, const config_hints& hints) {
  const std::string in = hints.config_path.empty() ? "" : " in " + hints.config_path;
  // "429 rate_limited" and "429 too_many_failures" name their cause (the answer's error code);
  // a bare "429" (a body without one) may be either.
  const std::string budget =
      "the failed-signature budget " +
      (hints.auth_failures_per_source.empty() ? std::string("limits.auth_failures_per_source")
                                              : hints.auth_failures_per_source) +
      in +
      ": the mix's wrongly signed requests all come from this one address, and past the "
      "budget that address is refused (valid requests included); lower --rate or "
      "invalid_ratio, or raise the budget";
  if (status == "429 too_many_failures") {
    return budget;
  }
  if (status == "429 rate_limited") {
    std::string out = "the tenant's rate limit";
    for (std::size_t i = 0; i < hints.rate_limits.size(); ++i) {
      out += (i ? ", " : ": ") + hints.rate_limits[i];
    }
    return out + in +
           ". Run below it (--rate), or set it to 0 (unlimited) or above the load for the "
           "tenant under test";
  }
  if (status == "429") {
    std::string out;
    if (!hints.rate_limits.empty()) {
      out = "the tenant's rate limit: ";
      for (std::size_t i = 0; i < hints.rate_limits.size(); ++i) {
        out += (i ? ", " : "") + hints.rate_limits[i];
      }
      out += in +
             ". Run below it (--rate), or set it to 0 (unlimited) or above the load for the "
             "tenant under test";
      if (!hints.auth_failures_per_source.empty()) {
        out += "; or the failed-signature budget " + hints.auth_failures_per_source +
               ", spent by the mix's wrongly signed requests from this one address";
      }
      return out;
    }
    return budget;
  }
  if (status == "401" || status == "403") {
    return "the secrets the tool signs with do not match the gateway's: run it with the same "
           "switchboard.yaml (--config) and the same ${VAR} environment as the gateway";
  }
  if (status == "404") {
    return "the gateway has no such tenant or channel: --config is not the config the gateway "
           "runs with";
  }
  if (status == "400") {
    return "the gateway could not parse a validly signed body: a generator or adapter bug "
           "(see the gateway's log)";
  }
  if (status == "413") {
    return "a body above server.max_body_bytes or limits.events_per_webhook";
  }
  if (status == "503") {
    return "the gateway is overloaded (backpressure) or its store is failing: see its log and "
           "/metrics; lower --rate or --connections";
  }
  if (status == "error:connect") {
    return "no gateway at that address: it is not running, or --gateway has the wrong port";
  }
  if (status == "error:timeout") {
    return "no answer within timeout_s: the gateway is stalled or far beyond its capacity";
  }
  if (status.rfind("error:", 0) == 0) {
    return "the connection failed mid-request: the gateway closed it, restarted or crashed "
           "(see its log)";
  }
  if (!status.empty() && status[0] == '5') {
    return "a gateway error: see its log";
  }
  return "not an answer this request kind expects (loadtest/README.md, exit status)";
}

std::vector<std::string> failure_reasons(const run_result& r) {
  std::vector<std::string> out;
  std::uint64_t total = 0;
  for (const auto& [status, n] : r.unexpected_by_status) {
    total += n;
  }
  if (total > 0) {
    out.push_back(thousands(total) + " of " + thousands(r.sent) +
                  " requests got an unexpected answer (warm-up included):");
    for (const auto& [status, n] : r.unexpected_by_status) {
      out.push_back("  " + status + " x" + thousands(n) + ": likely " +
                    likely_cause(status, r.hints));
    }
  }
  if (r.stream_checked && !r.loss.ok()) {
    out.push_back("stream check: " + std::to_string(r.loss.missing) + " lost, " +
                  std::to_string(r.loss.duplicated) + " duplicated, " +
                  std::to_string(r.loss.rejected_present) + " rejected but present");
  }
  if (!r.fanout.ok()) {
    out.push_back("fan-out streams incomplete" +
                  (r.fanout.error.empty() ? std::string() : ": " + r.fanout.error));
  }
  if (!r.visitors.ok()) {
    out.push_back("visitor streams: " + std::to_string(r.visitors.events) + " events received" +
                  (r.visitors.error.empty() ? std::string() : ", " + r.visitors.error));
  }
  return out;
}

std::string render_verdict(const run_result& r, bool color) {
  const auto reasons = failure_reasons(r);
  std::ostringstream o;
  if (reasons.empty()) {
    o << (color ? "\033[1;32mPASSED\033[0m" : "PASSED") << ": every answer as expected"
      << (r.stream_checked ? ", nothing lost" : "") << "\n";
    return o.str();
  }
  o << (color ? "\033[1;97;41m FAILED \033[0m\033[1;31m" : "FAILED:") << " "
    << reasons.front() << (color ? "\033[0m" : "") << "\n";
  for (std::size_t i = 1; i < reasons.size(); ++i) {
    o << (color ? "\033[31m" : "") << reasons[i] << (color ? "\033[0m" : "") << "\n";
  }
  return o.str();
}

std::string render_summary(const run_result& r) {
  std::ostringstream o;
  o << "switchboard-loadtest: " << r.scenario_path << ", " << r.mode << " loop";
  if (r.mode == "open") {
    o << " at " << r.target_rate << " req/s";
  }
  o << ", " << r.connections << " connections, " << r.gateway_url;
  if (!r.started_at.empty()) {
    o << ", " << r.started_at;
  }
  o << "\n";
  for (const auto& b : r.store) {
    if (b.head > 0) {
      o << "  store: " << thousands(static_cast<std::uint64_t>(b.head))
        << " events were already stored before the run (tenant " << b.tenant << ", seq 1.."
        << b.head << "): not counted, the stream starts after them\n";
    } else if (b.head == 0) {
      o << "  store: tenant " << b.tenant << " had no events before the run (fresh store)\n";
    } else {
      o << "  store: tenant " << b.tenant << ": " << b.note << "\n";
    }
  }
  o << "  requests: " << r.sent << " sent, " << r.measured << " answered in the measured "
    << fmt("%.1f", r.measured_s) << " s (after " << r.warmup_s << " s warm-up)\n";
  o << "  throughput: " << fmt("%.1f", r.throughput()) << " expected answers/s";
  if (r.unexpected > 0) {
    o << " (" << thousands(r.unexpected) << " unexpected answers not counted; "
      << fmt("%.1f", r.responses_per_second()) << " responses/s of any status)";
  }
  o << "\n";
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
  // The most frequent first; a long tail (every kind and platform of a rate-limited run) is cut.
  std::vector<std::pair<std::uint64_t, std::string>> unexpected;
  for (const auto& [k, v] : r.unexpected_status) {
    unexpected.emplace_back(v, k);
  }
  std::sort(unexpected.begin(), unexpected.end(),
            [](const auto& a, const auto& b) { return a.first > b.first; });
  constexpr std::size_t shown = 8;
  for (std::size_t i = 0; i < unexpected.size() && i < shown; ++i) {
    o << "  UNEXPECTED: " << unexpected[i].second << " x" << unexpected[i].first << "\n";
  }
  if (unexpected.size() > shown) {
    o << "  UNEXPECTED: ... " << unexpected.size() - shown
      << " more kinds (all in the JSON's unexpected_status)\n";
  }
  if (r.stream_checked) {
    o << "  e2e latency (ms, send -> SSE):";
    for (double p : report_percentiles()) {
      o << " p" << p << "=" << ms(r.e2e.percentile(p));
    }
    o << " max=" << ms(r.e2e.max()) << " (" << r.e2e.count() << " events)\n";
    o << "  stream (events, by platform id): acked (answered 200)=" << r.loss.acked
      << " delivered=" << r.loss.delivered << " lost: " << r.loss.missing
      << " duplicated: " << r.loss.duplicated
      << " rejected-but-present: " << r.loss.rejected_present << " (rejected=" << r.loss.rejected
      << " unknown=" << r.loss.unknown << " not-sent-by-this-run=" << r.loss.unexpected << ")\n";
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
  const auto reasons = failure_reasons(r);
  std::ostringstream o;
  o << "{\"scenario\":" << json_quote(r.scenario_path)
    << ",\"started_at\":" << json_quote(r.started_at)
    << ",\"verdict\":" << (reasons.empty() ? "\"passed\"" : "\"failed\"") << ",\"failures\":[";
  for (std::size_t i = 0; i < reasons.size(); ++i) {
    o << (i ? "," : "") << json_quote(reasons[i]);
  }
  o << "],\"gateway\":" << json_quote(r.gateway_url) << ",\"mode\":" << json_quote(r.mode)
    << ",\"target_rate\":" << r.target_rate << ",\"connections\":" << r.connections
    << ",\"warmup_s\":" << r.warmup_s << ",\"measured_s\":" << fmt("%.3f", r.measured_s)
    << ",\"sent\":" << r.sent << ",\"measured\":" << r.measured << ",\"expected\":" << r.expected
    << ",\"unexpected\":" << r.unexpected
    << ",\"throughput_rps\":" << fmt("%.1f", r.throughput())
    << ",\"responses_rps\":" << fmt("%.1f", r.responses_per_second())
    << ",\"ack_latency\":" << json_percentiles(r.ack) << ",\"by_status\":" << json_map(r.by_status)
    << ",\"by_kind\":" << json_map(r.by_kind)
    << ",\"unexpected_status\":" << json_map(r.unexpected_status)
    << ",\"unexpected_by_status\":" << json_map(r.unexpected_by_status) << ",\"store_before\":[";
  for (std::size_t i = 0; i < r.store.size(); ++i) {
    o << (i ? "," : "") << "{\"tenant\":" << json_quote(r.store[i].tenant) << ",\"head\":"
      << (r.store[i].head < 0 ? std::string("null") : std::to_string(r.store[i].head))
      << ",\"note\":" << json_quote(r.store[i].note) << "}";
  }
  o << "],\"per_second_ok\":[";
  for (std::size_t i = 0; i < r.per_second.size(); ++i) {
    o << (i ? "," : "") << r.per_second[i];
  }
  o << "],\"per_second\":[";
  for (std::size_t i = 0; i < r.seconds.size(); ++i) {
    const auto& s = r.seconds[i];
    o << (i ? "," : "") << "{\"second\":" << i + 1 << ",\"2xx\":" << s.ok << ",\"4xx\":" << s.client
      << ",\"5xx\":" << s.server << ",\"other\":" << s.other << ",\"no_answer\":" << s.no_answer
      << ",\"expected\":" << s.expected << ",\"p50_ms\":" << ms(s.p50_us)
      << ",\"p99_ms\":" << ms(s.p99_us) << ",\"max_ms\":" << ms(s.max_us) << "}";
  }
  // "acked" is kept for the scripts that read it; "events_acked" says what it counts.
  o << "],\"stream\":{\"checked\":" << (r.stream_checked ? "true" : "false")
    << ",\"note\":" << json_quote(r.stream_note) << ",\"e2e_latency\":" << json_percentiles(r.e2e)
    << ",\"events_acked\":" << r.loss.acked << ",\"acked\":" << r.loss.acked
    << ",\"delivered\":" << r.loss.delivered
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
  const auto reasons = failure_reasons(r);
  std::string name = r.scenario_path;
  if (const auto slash = name.find_last_of('/'); slash != std::string::npos) {
    name = name.substr(slash + 1);
  }
  const std::string title = "Load test " + name + (r.started_at.empty() ? "" : ", " + r.started_at);
  std::ostringstream o;
  o << "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>"
    << html_escape(title) << "</title><style>"
    << "body{font-family:sans-serif;margin:20px;color:#111;max-width:760px}"
    << "figure{margin:12px 0}svg{border:1px solid #ccc;max-width:100%;height:auto}"
    << ".verdict{padding:10px 14px;border-radius:4px;color:#fff;margin:12px 0}"
    << ".failed{background:#b00020}.passed{background:#1b5e20}"
    << ".verdict ul{margin:6px 0 0 0}pre{white-space:pre-wrap;font-size:13px}"
    << "</style></head><body><main>";
  o << "<h1>" << html_escape(title) << "</h1>";
  if (reasons.empty()) {
    o << "<div class='verdict passed' id='verdict' role='status'><strong>PASSED</strong>: every "
         "answer as expected"
      << (r.stream_checked ? ", nothing lost" : "") << "</div>";
  } else {
    o << "<div class='verdict failed' id='verdict' role='alert'><strong>FAILED</strong>: "
      << html_escape(reasons.front()) << "<ul>";
    for (std::size_t i = 1; i < reasons.size(); ++i) {
      auto line = reasons[i];
      line.erase(0, line.find_first_not_of(' '));
      o << "<li>" << html_escape(line) << "</li>";
    }
    o << "</ul></div>";
  }
  o << "<pre>" << html_escape(render_summary(r)) << "</pre>";

  plot status;
  status.id = "status-over-time";
  status.title = "Responses per second by status class";
  status.x_label = "seconds since start";
  status.y_label = "responses/s";
  status.warmup = r.warmup_s;
  series s2{"2xx", "#2b6cb0", {}, false};
  series s4{"4xx", "#dd8a00", {}, false};
  series s5{"5xx", "#b00020", {}, false};
  series sn{"no answer", "#555555", {}, false};
  series so{"other", "#8e44ad", {}, false};
  plot latency;
  latency.id = "latency-over-time";
  latency.title = "Ack latency per second (from intended send time)";
  latency.x_label = "seconds since start";
  latency.y_label = "ms";
  latency.warmup = r.warmup_s;
  series p50{"p50", "#2b6cb0", {}, false};
  series p99{"p99", "#b00020", {}, false};
  for (std::size_t i = 0; i < r.seconds.size(); ++i) {
    const auto& sec = r.seconds[i];
    status.xs.push_back(static_cast<double>(i + 1));
    s2.ys.push_back(static_cast<double>(sec.ok));
    s4.ys.push_back(static_cast<double>(sec.client));
    s5.ys.push_back(static_cast<double>(sec.server));
    sn.ys.push_back(static_cast<double>(sec.no_answer));
    so.ys.push_back(static_cast<double>(sec.other));
    p50.ys.push_back(static_cast<double>(sec.p50_us) / 1000.0);
    p99.ys.push_back(static_cast<double>(sec.p99_us) / 1000.0);
  }
  // A second's latency is plotted at its middle, so the first second is not hidden at x = 1.
  for (double x : status.xs) {
    latency.xs.push_back(x - 0.5);
  }
  latency.x_max = status.xs.empty() ? 0 : status.xs.back();
  status.bars = {s2, s4, s5, sn};
  if (std::any_of(so.ys.begin(), so.ys.end(), [](double v) { return v > 0; })) {
    status.bars.push_back(so);
  }
  if (r.mode == "open" && r.target_rate > 0) {
    status.target = r.target_rate;
    status.target_name = "target rate";
  }
  latency.lines = {p50, p99};
  o << "<h2>Over time</h2>" << render_plot(status) << render_plot(latency);
  o << "<h2>Latency distribution</h2>"
    << percentile_chart("ack-percentiles", "Ack latency by percentile (measured window)", r.ack);
  if (r.stream_checked) {
    o << percentile_chart("e2e-percentiles",
                          "End-to-end latency by percentile (send to SSE event)", r.e2e);
  }
  auto metrics = [&](const char* heading, const std::string& text) {
    o << "<h2>" << heading << "</h2>";
    if (text.empty()) {
      o << "<p>/metrics did not answer 200.</p>";
    } else {
      o << "<details><summary>show</summary><pre>" << html_escape(text) << "</pre></details>";
    }
  };
  metrics("/metrics before", r.metrics_before);
  metrics("/metrics after", r.metrics_after);
  o << "</main></body></html>\n";
  return o.str();
}

}  // namespace sb::loadtest
