#include "core/process_metrics.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <charconv>

namespace sb::metrics::process {

namespace {

/// The whole of a small /proc file (they report size 0, so read until EOF). "" on failure.
std::string read_small_file(const char* path) {
  std::string out;
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return out;
  }
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) {
      break;
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

bool parse_u64(std::string_view s, std::uint64_t& out) {
  if (s.empty()) {
    return false;
  }
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

/// Signed fields (rss may in theory be negative): a negative value reads as 0.
bool parse_field(std::string_view s, std::uint64_t& out) {
  if (!s.empty() && s[0] == '-') {
    std::uint64_t ignored = 0;
    out = 0;
    return parse_u64(s.substr(1), ignored);
  }
  return parse_u64(s, out);
}

void metric(std::string& out, const char* name, const char* type, const char* help, double v) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
  char num[32];
  auto [end, ec] = std::to_chars(num, num + sizeof num, v);  // shortest round-trip form
  out.append(name).append(" ").append(num, ec == std::errc() ? end : num).append("\n");
}

}  // namespace

std::optional<proc_stat> parse_proc_stat(std::string_view text) {
  const auto close = text.rfind(')');
  if (close == std::string_view::npos || text.find('(') > close) {
    return std::nullopt;
  }
  // Field 3 (state) is the first after the name; field n is at index n - 3.
  std::string_view rest = text.substr(close + 1);
  std::string_view fields[22];
  std::size_t count = 0;
  std::size_t i = 0;
  while (count < std::size(fields)) {
    while (i < rest.size() && (rest[i] == ' ' || rest[i] == '\n')) {
      ++i;
    }
    if (i >= rest.size()) {
      break;
    }
    const std::size_t start = i;
    while (i < rest.size() && rest[i] != ' ' && rest[i] != '\n') {
      ++i;
    }
    fields[count++] = rest.substr(start, i - start);
  }
  if (count < std::size(fields)) {
    return std::nullopt;
  }
  proc_stat s;
  if (!parse_field(fields[14 - 3], s.utime_ticks) || !parse_field(fields[15 - 3], s.stime_ticks) ||
      !parse_field(fields[22 - 3], s.starttime_ticks) ||
      !parse_field(fields[23 - 3], s.vsize_bytes) || !parse_field(fields[24 - 3], s.rss_pages)) {
    return std::nullopt;
  }
  return s;
}

std::optional<std::uint64_t> parse_boot_time(std::string_view text) {
  std::size_t at = 0;
  while (at < text.size()) {
    auto end = text.find('\n', at);
    if (end == std::string_view::npos) {
      end = text.size();
    }
    auto line = text.substr(at, end - at);
    if (line.substr(0, 6) == "btime ") {
      std::uint64_t v = 0;
      if (parse_u64(line.substr(6), v)) {
        return v;
      }
      return std::nullopt;
    }
    at = end + 1;
  }
  return std::nullopt;
}

void render(std::string& out) {
  static const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  static const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  // Boot time does not change while the process runs: read once.
  static const std::optional<std::uint64_t> boot = parse_boot_time(read_small_file("/proc/stat"));

  if (auto s = parse_proc_stat(read_small_file("/proc/self/stat")); s && ticks > 0) {
    metric(out, "process_cpu_seconds_total", "counter",
           "Total user and system CPU time spent in seconds.",
           static_cast<double>(s->utime_ticks + s->stime_ticks) / ticks);
    metric(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
           static_cast<double>(s->rss_pages) * page);
    metric(out, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.",
           static_cast<double>(s->vsize_bytes));
    if (boot) {
      metric(out, "process_start_time_seconds", "gauge",
             "Start time of the process since unix epoch in seconds.",
             static_cast<double>(*boot) + static_cast<double>(s->starttime_ticks) / ticks);
    }
  }
  if (DIR* d = ::opendir("/proc/self/fd")) {
    std::uint64_t n = 0;
    while (const dirent* e = ::readdir(d)) {
      if (e->d_name[0] != '.') {
        ++n;
      }
    }
    ::closedir(d);
    metric(out, "process_open_fds", "gauge", "Number of open file descriptors.",
           static_cast<double>(n > 0 ? n - 1 : 0));  // less the directory's own descriptor
  }
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0) {
    metric(
        out, "process_max_fds", "gauge", "Maximum number of open file descriptors.",
        lim.rlim_cur == RLIM_INFINITY ? 1.8446744073709552e19 : static_cast<double>(lim.rlim_cur));
  }
}

}  // namespace sb::metrics::process
