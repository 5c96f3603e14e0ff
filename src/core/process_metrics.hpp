#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

/// The standard process metrics of Prometheus' client libraries, under their usual names
/// (`process_resident_memory_bytes`, `process_virtual_memory_bytes`, `process_cpu_seconds_total`,
/// `process_open_fds`, `process_max_fds`, `process_start_time_seconds`), read from /proc/self
/// and getrlimit when /metrics is scraped: a few small reads per scrape, nothing on the hot path.
/// Linux only; a value that cannot be read is left out of the output rather than made up.
namespace sb::metrics::process {

/// The fields of /proc/self/stat (proc(5)) the metrics need, in the kernel's units.
struct proc_stat {
  std::uint64_t utime_ticks = 0;      ///< field 14, clock ticks in user mode
  std::uint64_t stime_ticks = 0;      ///< field 15, clock ticks in kernel mode
  std::uint64_t starttime_ticks = 0;  ///< field 22, clock ticks after boot
  std::uint64_t vsize_bytes = 0;      ///< field 23
  std::uint64_t rss_pages = 0;        ///< field 24
};

/// Parses the text of /proc/<pid>/stat. The command name (field 2) is in parentheses and may
/// itself hold spaces and parentheses, so fields are counted from its last ')'. Nothing when the
/// text is not in that form (too few fields, a field that is not a number).
std::optional<proc_stat> parse_proc_stat(std::string_view text);

/// The `btime` line of /proc/stat: boot time, seconds since the epoch. Nothing when absent.
std::optional<std::uint64_t> parse_boot_time(std::string_view proc_stat_text);

/// Appends the process metrics, each with HELP and TYPE, in the text exposition format 0.0.4.
/// Thread-safe.
void render(std::string& out);

}  // namespace sb::metrics::process
