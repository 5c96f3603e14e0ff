// The process metrics' parsers (core/process_metrics.hpp) and their rendering.
#include <catch2/catch.hpp>

#include <string>

#include "core/process_metrics.hpp"

using namespace sb::metrics::process;

namespace {

// A real line of /proc/<pid>/stat (Linux 6.1), its command name edited to hold ") (" and spaces.
const std::string k_stat =
    "4242 (switch) (board x) S 1 4242 4242 0 -1 4194624 9167 0 0 0 731 252 0 0 20 0 9 0 "
    "123456 1048576000 5120 18446744073709551615 1 1 0 0 0 0 0 4096 17415 0 0 0 17 1 0 0 0 0 0 "
    "0 0 0 0 0 0 0 0\n";

}  // namespace

TEST_CASE("a /proc/self/stat line gives cpu ticks start time and memory", "[metrics][process]") {
  auto s = parse_proc_stat(k_stat);
  REQUIRE(s);
  CHECK(s->utime_ticks == 731);
  CHECK(s->stime_ticks == 252);
  CHECK(s->starttime_ticks == 123456);
  CHECK(s->vsize_bytes == 1048576000);
  CHECK(s->rss_pages == 5120);
}

TEST_CASE("a stat line that is cut short or not numeric gives nothing", "[metrics][process]") {
  CHECK_FALSE(parse_proc_stat(""));
  CHECK_FALSE(parse_proc_stat("4242 (switchboard S 1 2 3"));
  CHECK_FALSE(parse_proc_stat(k_stat.substr(0, k_stat.find(" 1048576000"))));
  std::string bad = k_stat;
  bad.replace(bad.find(" 731 "), 5, " 7x1 ");
  CHECK_FALSE(parse_proc_stat(bad));
}

TEST_CASE("the boot time is the btime line of /proc/stat", "[metrics][process]") {
  CHECK(parse_boot_time("cpu  1 2 3\nintr 5\nbtime 1764800000\nprocesses 9\n") == 1764800000u);
  CHECK_FALSE(parse_boot_time("cpu  1 2 3\n"));
  CHECK_FALSE(parse_boot_time("btime soon\n"));
}

TEST_CASE("the process metrics render with their usual names and types", "[metrics][process]") {
  std::string out;
  render(out);
  for (const char* line :
       {"# TYPE process_cpu_seconds_total counter\n",
        "# TYPE process_resident_memory_bytes gauge\n",
        "# TYPE process_virtual_memory_bytes gauge\n", "# TYPE process_start_time_seconds gauge\n",
        "# TYPE process_open_fds gauge\n", "# TYPE process_max_fds gauge\n"}) {
    CAPTURE(line);
    CHECK(out.find(line) != std::string::npos);
  }
  CHECK(out.find("\nprocess_resident_memory_bytes 0\n") == std::string::npos);
}
