// switchboard-bench: benchmarks below HTTP, so a regression shows where it comes from
// (docs/performance.md). A benchmark, not a test: it prints figures and asserts nothing.
//
//   switchboard-bench store    [options]   the event log alone: the load tester's webhooks,
//                                          parsed and stamped as a channel does it, appended
//                                          through `store::event_log` in batches of `--batch`
//   switchboard-bench pipeline [options]   the actor pipeline without HTTP: the same webhooks,
//                                          verified, submitted to `actors::gateway` (tenant,
//                                          channel, store writer, commit, conversations, outbox)
//                                          with `--inflight` in flight
//
// The webhooks are the load tester's (loadtest/generator.hpp) for a scenario file, its mix,
// conversations, text sizes and duplicates; the gateway config is the scenario's, with the
// storage options below. Invalid and malformed requests of the mix are left out.
//
// Options: --scenario FILE [loadtest/scenarios/standard.yaml]
//   --backend sqlite|memory|postgres [sqlite] --durability fsync|os|none [fsync]
//   --dsn DSN (postgres: a libpq connection string; the database is migrated first)
//   --dir DIR [/var/tmp] (where a fresh store is made and removed; a real disk, not tmpfs)
//   --seconds S [5] --warmup S [1] --batch N [1] (store) --inflight N [1] (pipeline)
//   SB_BENCH_KEEP=1 in the environment keeps the store's directory (and prints its path)
//
// Figures: events/s, latency p50/p90/p99 (one append call, or submit-to-answer), and for the
// SQLite store the bytes the process wrote (`wchar` of /proc/self/io: WAL frames, checkpoints
// and database pages alike) and the files' size, per event.
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <iostream>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "actors/channel_logic.hpp"
#include "actors/gateway.hpp"
#include "adapters/adapter.hpp"
#include "config/loader.hpp"
#include "loadtest/generator.hpp"
#include "loadtest/scenario.hpp"
#include "store/pg/event_log.hpp"
#include "store/pg/schema.hpp"
#include "store/sqlite_log.hpp"
#include "store/stores.hpp"

namespace fs = std::filesystem;
using clk = std::chrono::steady_clock;

namespace {

struct options {
  std::string mode;
  std::string scenario = "loadtest/scenarios/standard.yaml";
  std::string backend = "sqlite";
  std::string durability = "fsync";
  std::string dir = "/var/tmp";
  std::string dsn;  // --backend postgres: the database (migrated to Switchboard's schema first)
  double seconds = 5;
  double warmup = 1;
  std::size_t batch = 1;
  std::size_t inflight = 1;
};


[[noreturn]] void usage(const std::string& why) {
  std::cerr << "switchboard-bench: " << why
            << "\nusage: switchboard-bench store|pipeline [--scenario FILE] "
               "[--backend sqlite|memory|postgres] [--durability fsync|os|none] [--dir DIR] "
               "[--dsn DSN] "
               "[--seconds S] [--warmup S] [--batch N] [--inflight N]\n";
  std::exit(2);
}

options parse_args(int argc, char** argv) {
  options o;
  if (argc < 2) {
    usage("a mode is required");
  }
  o.mode = argv[1];
  if (o.mode != "store" && o.mode != "pipeline") {
    usage("unknown mode '" + o.mode + "'");
  }
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) {
      usage(a + " needs a value");
    }
    std::string v = argv[++i];
    if (a == "--scenario") {
      o.scenario = v;
    } else if (a == "--backend") {
      o.backend = v;
    } else if (a == "--durability") {
      o.durability = v;
    } else if (a == "--dir") {
      o.dir = v;
    } else if (a == "--dsn") {
      o.dsn = v;
    } else if (a == "--seconds") {
      o.seconds = std::stod(v);
    } else if (a == "--warmup") {
      o.warmup = std::stod(v);
    } else if (a == "--batch") {
      o.batch = std::stoul(v);
    } else if (a == "--inflight") {
      o.inflight = std::stoul(v);
    } else {
      usage("unknown option " + a);
    }
  }
  if (o.batch == 0 || o.inflight == 0) {
    usage("--batch and --inflight must be positive");
  }
  if (o.backend == "postgres" && o.mode != "store") {
    usage("--backend postgres is for the store mode only (the gateway does not run on it yet)");
  }
  return o;
}

/// The scenario, its gateway config with the storage of `o` at `path`, and its webhooks.
struct workload {
  sb::loadtest::scenario scenario;
  std::shared_ptr<const sb::config::config> cfg;
  std::unique_ptr<sb::loadtest::generator> gen;

  /// The next valid webhook (duplicates included: platform retries are part of the load).
  sb::loadtest::webhook next() {
    for (;;) {
      auto w = gen->next();
      if (w.kind == sb::loadtest::request_kind::valid ||
          w.kind == sb::loadtest::request_kind::duplicate) {
        return w;
      }
    }
  }
};

workload make_workload(const options& o, const std::string& path) {
  workload w;
  auto s = sb::loadtest::load_scenario(o.scenario);
  if (!s) {
    std::cerr << o.scenario << ": " << s.err().message << "\n";
    std::exit(2);
  }
  w.scenario = std::move(*s);
  auto loaded = sb::config::load_file(w.scenario.config_path, sb::adapters::schemas());
  if (!loaded.ok()) {
    std::cerr << w.scenario.config_path << ":\n" << loaded.errors.to_string() << "\n";
    std::exit(2);
  }
  auto cfg = std::make_shared<sb::config::config>(*loaded.cfg);
  cfg->storage.backend = o.backend;
  cfg->storage.path = path;
  cfg->storage.durability = o.durability == "none" ? sb::config::durability::none
                            : o.durability == "os" ? sb::config::durability::os
                                                   : sb::config::durability::fsync;
  // Rate limits would measure the limiter, not the path.
  for (auto& t : cfg->tenants) {
    t.rate_limit = {};
  }
  auto targets = sb::loadtest::targets_from(*cfg, w.scenario);
  if (!targets) {
    std::cerr << targets.err().message << "\n";
    std::exit(2);
  }
  w.cfg = cfg;
  w.gen = std::make_unique<sb::loadtest::generator>(
      w.scenario, std::move(*targets),
      static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count()));
  return w;
}

/// "/webhooks/{tenant}/{channel}" -> channel.
std::string channel_of(const std::string& target) {
  return target.substr(target.rfind('/') + 1);
}

std::vector<sb::adapters::header> headers_of(const sb::loadtest::webhook& w) {
  std::vector<sb::adapters::header> h;
  for (const auto& [name, value] : w.headers) {
    h.push_back({name, value});
  }
  return h;
}

struct io_counters {
  std::uint64_t wchar = 0;
  std::uint64_t write_bytes = 0;
};

io_counters read_io() {
  io_counters c;
  std::ifstream f("/proc/self/io");
  std::string k;
  std::uint64_t v;
  while (f >> k >> v) {
    if (k == "wchar:") {
      c.wchar = v;
    } else if (k == "write_bytes:") {
      c.write_bytes = v;
    }
  }
  return c;
}

std::uint64_t dir_bytes(const std::string& dir) {
  std::uint64_t total = 0;
  std::error_code ec;
  for (const auto& e : fs::recursive_directory_iterator(dir, ec)) {
    if (e.is_regular_file(ec)) {
      total += e.file_size(ec);
    }
  }
  return total;
}

struct latencies {
  std::vector<std::uint32_t> ns;
  void add(clk::duration d) {
    ns.push_back(static_cast<std::uint32_t>(
        std::min<std::int64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count(),
                               UINT32_MAX)));
  }
  double pct(double p) {
    if (ns.empty()) {
      return 0;
    }
    auto k = static_cast<std::size_t>(p / 100.0 * static_cast<double>(ns.size() - 1));
    std::nth_element(ns.begin(), ns.begin() + static_cast<std::ptrdiff_t>(k), ns.end());
    return ns[k] / 1000.0;
  }
};

/// Removes the store made in `dir`, unless SB_BENCH_KEEP is set: then the path is printed, for
/// a look at what the bytes were spent on (`sqlite3 DIR/events.db` and its dbstat table).
void remove_unless_kept(const std::string& dir) {
  if (std::getenv("SB_BENCH_KEEP") != nullptr) {
    std::printf("kept %s\n", dir.c_str());
    return;
  }
  fs::remove_all(dir);
}

std::string fresh_dir(const options& o) {
  std::string t = o.dir + "/sb-bench-XXXXXX";
  if (mkdtemp(t.data()) == nullptr) {
    std::perror("mkdtemp");
    std::exit(1);
  }
  return t;
}

int run_store(const options& o) {
  const std::string dir = fresh_dir(o);
  auto work = make_workload(o, dir);
  const auto& cfg = work.cfg;
  sb::store::stores stores;
  if (o.backend == "sqlite") {
    auto s = sb::store::make_sqlite_stores(dir, cfg->storage.durability, cfg->storage.master_key);
    if (!s) {
      std::cerr << "cannot open the store: " << s.err().message << "\n";
      return 1;
    }
    stores = std::move(s.value());
  } else if (o.backend == "postgres") {
    // The event log of issue 13 on the database of --dsn (its server's own durability settings
    // apply; --durability does not). Appends from one thread, as the store writer's.
    if (o.dsn.empty()) {
      usage("--backend postgres needs --dsn");
    }
    auto conns = sb::store::pg::pool::make(o.dsn, 2);
    auto c = conns->take();
    if (!c) {
      std::cerr << "cannot connect: " << c.err().message << "\n";
      return 1;
    }
    if (auto st = sb::store::pg::migrate(**c, sb::store::pg::schema_versions(), "bench"); !st) {
      std::cerr << "cannot migrate: " << st.err().message << "\n";
      return 1;
    }
    // A bench database is never rotated: its root key is the loader's, the master key.
    auto log = sb::store::pg::make_event_log(conns, cfg->storage.root_key, cfg->storage.master_key);
    if (!log) {
      std::cerr << "cannot open the store: " << log.err().message << "\n";
      return 1;
    }
    stores.log = std::move(log).value();
  } else {
    stores = sb::store::make_memory_stores();
  }
  // One channel_logic per channel, as each channel actor has one.
  std::map<std::string, std::unique_ptr<sb::actors::channel_logic>> channels;
  auto logic_of = [&](const sb::loadtest::webhook& w) -> sb::actors::channel_logic& {
    const std::string name = channel_of(w.target);
    auto& slot = channels[w.tenant + "/" + name];
    if (!slot) {
      const auto* tenant = cfg->find_tenant(w.tenant);
      const auto* ch = tenant->find_channel(name);
      slot = std::make_unique<sb::actors::channel_logic>(
          w.tenant, *ch, *sb::adapters::find(ch->type), cfg->storage.root_key, tenant->privacy);
    }
    return *slot;
  };

  latencies lat;
  std::uint64_t events = 0;
  io_counters io0{};
  std::uint64_t bytes0 = 0;
  bool measuring = false;
  const auto start = clk::now();
  auto measured_from = start;
  for (;;) {
    const auto now = clk::now();
    if (!measuring && now - start >= std::chrono::duration<double>(o.warmup)) {
      measuring = true;
      measured_from = now;
      io0 = read_io();
      bytes0 = dir_bytes(dir);
    }
    if (measuring && now - measured_from >= std::chrono::duration<double>(o.seconds)) {
      break;
    }
    std::vector<sb::store::append_request> reqs(o.batch);
    std::size_t batch_events = 0;
    for (auto& r : reqs) {
      auto w = work.next();
      const auto headers = headers_of(w);
      std::string body = std::move(w.body);
      body.reserve(body.size() + 64);
      auto outcome = logic_of(w).ingest("POST", "", headers, body, true);
      auto* ev = std::get_if<sb::actors::store_events>(&outcome);
      if (ev == nullptr) {
        std::cerr << "a generated " << w.type << " body did not parse\n";
        return 1;
      }
      r.tenant = w.tenant;
      r.events = std::move(ev->events);
      batch_events += r.events.size();
    }
    std::vector<std::vector<sb::store::append_outcome>> out;
    const auto t0 = clk::now();
    if (auto st = stores.log->append(reqs, out); !st) {
      std::cerr << "append failed: " << st.err().message << "\n";
      return 1;
    }
    if (measuring) {
      lat.add(clk::now() - t0);
      events += batch_events;
    }
  }
  const double secs = std::chrono::duration<double>(clk::now() - measured_from).count();
  if (o.backend == "postgres") {  // the bytes are the server's to count, not this process's
    std::printf("store %-8s batch %-4zu %9.0f events/s  append p50 %8.1f us  p90 %8.1f us  "
                "p99 %8.1f us  max %8.1f us\n",
                o.backend.c_str(), o.batch, events / secs, lat.pct(50), lat.pct(90), lat.pct(99),
                lat.pct(100));
    stores = {};
    remove_unless_kept(dir);
    return 0;
  }
  const auto io1 = read_io();
  const auto bytes1 = dir_bytes(dir);
  std::printf(
      "store %-6s %-5s batch %-4zu %9.0f events/s  append p50 %8.1f us  p90 %8.1f us  p99 %8.1f "
      "us  max %8.1f us  written %6.0f B/event (block layer %6.0f)  files +%6.0f B/event\n",
      o.backend.c_str(), o.durability.c_str(), o.batch, events / secs, lat.pct(50), lat.pct(90),
      lat.pct(99), lat.pct(100), double(io1.wchar - io0.wchar) / double(events),
      double(io1.write_bytes - io0.write_bytes) / double(events),
      (double(bytes1) - double(bytes0)) / double(events));
  stores = {};
  remove_unless_kept(dir);
  return 0;
}

int run_pipeline(const options& o) {
  const std::string dir = fresh_dir(o);
  auto work = make_workload(o, dir);
  auto gw = sb::actors::gateway::start(work.cfg);
  while (!gw->ready()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::mutex m;
  std::condition_variable cv;
  latencies lat;
  std::atomic<bool> stop{false};
  std::atomic<bool> measuring{false};
  std::atomic<std::uint64_t> done{0};
  std::atomic<std::uint64_t> failed{0};
  std::size_t running = o.inflight;

  // One client slot: submits, and on the answer records it and submits the next.
  std::function<void()> submit;
  submit = [&] {
    sb::actors::webhook_submission w;
    sb::loadtest::webhook hook;
    {
      std::lock_guard lock(m);
      hook = work.next();
    }
    w.tenant = hook.tenant;
    w.channel = channel_of(hook.target);
    w.method = "POST";
    w.headers = headers_of(hook);
    w.body = std::move(hook.body);
    w.body.reserve(w.body.size() + 64);
    w.verified = true;
    const auto t0 = clk::now();
    w.reply = std::make_shared<sb::actors::responder>([&, t0](sb::http::response r) {
      const auto d = clk::now() - t0;
      if (measuring.load()) {
        std::lock_guard lock(m);
        lat.add(d);
        if (r.status == 200) {
          done.fetch_add(1);
        } else {
          failed.fetch_add(1);
        }
      }
      if (!stop.load()) {
        submit();
      } else {
        std::lock_guard lock(m);
        if (--running == 0) {
          cv.notify_all();
        }
      }
    });
    gw->submit(std::move(w));
  };
  for (std::size_t i = 0; i < o.inflight; ++i) {
    submit();
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(o.warmup));
  const auto io0 = read_io();
  measuring.store(true);
  const auto t0 = clk::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(o.seconds));
  measuring.store(false);
  const double secs = std::chrono::duration<double>(clk::now() - t0).count();
  const auto io1 = read_io();
  stop.store(true);
  {
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return running == 0; });
  }
  const auto n = done.load();
  std::printf(
      "pipeline %-6s %-5s inflight %-4zu %9.0f req/s  p50 %8.1f us  p90 %8.1f us  p99 %8.1f "
      "us  max %8.1f us  non-200 %llu  written %6.0f B/event\n",
      o.backend.c_str(), o.durability.c_str(), o.inflight, n / secs, lat.pct(50), lat.pct(90),
      lat.pct(99), lat.pct(100), static_cast<unsigned long long>(failed.load()),
      n == 0 ? 0.0 : double(io1.wchar - io0.wchar) / double(n));
  gw->shutdown();
  gw.reset();
  remove_unless_kept(dir);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const options o = parse_args(argc, argv);
  return o.mode == "store" ? run_store(o) : run_pipeline(o);
}
