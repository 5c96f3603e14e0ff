// switchboard-bench: benchmarks below HTTP, so a regression shows where it comes from
// (docs/performance.md). A benchmark, not a test: it prints figures and asserts nothing.
//
//   switchboard-bench store    [options]   the event log alone: realistic Telegram events,
//                                          stamped as a channel stamps them, appended through
//                                          `store::event_log` in batches of `--batch`
//   switchboard-bench pipeline [options]   the actor pipeline without HTTP: verified webhooks
//                                          submitted to `actors::gateway` (tenant, channel,
//                                          store writer, commit) with `--inflight` in flight
//
// Options: --backend sqlite|memory [sqlite] --durability fsync|os|none [fsync]
//   --dir DIR [/var/tmp] (where a fresh store is made and removed; a real disk, not tmpfs)
//   --seconds S [5] --warmup S [1] --chats N [10000] --batch N [1] (store)
//   --inflight N [1] (pipeline)
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
#include "store/sqlite_log.hpp"
#include "store/stores.hpp"

namespace fs = std::filesystem;
using clk = std::chrono::steady_clock;

namespace {

struct options {
  std::string mode;
  std::string backend = "sqlite";
  std::string durability = "fsync";
  std::string dir = "/var/tmp";
  double seconds = 5;
  double warmup = 1;
  std::uint64_t chats = 10000;
  std::size_t batch = 1;
  std::size_t inflight = 1;
};

constexpr const char* k_secret = "bench-tg-secret-token";
constexpr const char* k_master_key =
    "6f1c2a9b3e4d5f60718293a4b5c6d7e8f90a1b2c3d4e5f6071829304a5b6c7d8";

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "switchboard-bench: " << why
            << "\nusage: switchboard-bench store|pipeline [--backend sqlite|memory] "
               "[--durability fsync|os|none] [--dir DIR] [--seconds S] [--warmup S] "
               "[--chats N] [--batch N] [--inflight N]\n";
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
    if (a == "--backend") {
      o.backend = v;
    } else if (a == "--durability") {
      o.durability = v;
    } else if (a == "--dir") {
      o.dir = v;
    } else if (a == "--seconds") {
      o.seconds = std::stod(v);
    } else if (a == "--warmup") {
      o.warmup = std::stod(v);
    } else if (a == "--chats") {
      o.chats = std::stoull(v);
    } else if (a == "--batch") {
      o.batch = std::stoul(v);
    } else if (a == "--inflight") {
      o.inflight = std::stoul(v);
    } else {
      usage("unknown option " + a);
    }
  }
  if (o.batch == 0 || o.inflight == 0 || o.chats == 0) {
    usage("--batch, --inflight and --chats must be positive");
  }
  return o;
}

std::shared_ptr<const sb::config::config> make_config(const options& o, const std::string& path) {
  std::string yaml = "server: {listen: \"127.0.0.1:0\", io_threads: 1}\n"
                     "storage: {backend: " +
                     o.backend + ", path: \"" + path + "\", durability: " + o.durability +
                     ", master_key: \"" + k_master_key +
                     "\"}\n"
                     "tenants:\n"
                     "  - id: acme\n"
                     "    channels:\n"
                     "      - {name: tg, type: telegram, secret_token: \"" +
                     k_secret + "\"}\n";
  auto r = sb::config::load_string(yaml, "bench.yaml", sb::adapters::schemas());
  if (!r.ok()) {
    for (const auto& p : r.errors.problems) {
      std::cerr << p << "\n";
    }
    std::exit(1);
  }
  return r.cfg;
}

/// A Telegram text message from one of `chats` private chats (as the load tester's scenario).
class bodies {
 public:
  explicit bodies(std::uint64_t chats) : chats_(chats), rng_(42) {}
  std::string next() {
    const std::uint64_t n = ++n_;
    const std::uint64_t chat = 100000000 + rng_() % chats_;
    std::string b;
    b.reserve(512);
    b += "{\"update_id\":";
    b += std::to_string(900000000 + n);
    b += ",\"message\":{\"message_id\":";
    b += std::to_string(n);
    b += ",\"from\":{\"id\":";
    b += std::to_string(chat);
    b += ",\"is_bot\":false,\"first_name\":\"Ana\",\"last_name\":\"Souza\",\"username\":\"ana";
    b += std::to_string(chat);
    b += "\",\"language_code\":\"pt-br\"},\"chat\":{\"id\":";
    b += std::to_string(chat);
    b += ",\"first_name\":\"Ana\",\"last_name\":\"Souza\",\"username\":\"ana";
    b += std::to_string(chat);
    b += "\",\"type\":\"private\"},\"date\":1764770000,\"text\":\"Hi, is order #";
    b += std::to_string(n % 100000);
    b += " on its way? I ordered it on Monday and the tracking page still says pending.\"}}";
    return b;
  }

 private:
  std::uint64_t chats_;
  std::mt19937_64 rng_;
  std::uint64_t n_ = 0;
};

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
  auto cfg = make_config(o, dir);
  sb::store::stores stores;
  if (o.backend == "sqlite") {
    auto s = sb::store::make_sqlite_stores(dir, cfg->storage.durability, cfg->storage.master_key);
    if (!s) {
      std::cerr << "cannot open the store: " << s.err().message << "\n";
      return 1;
    }
    stores = std::move(s.value());
  } else {
    stores = sb::store::make_memory_stores();
  }
  const auto& ch = cfg->tenants.front().channels.front();
  sb::actors::channel_logic logic("acme", ch, *sb::adapters::find("telegram"),
                                  cfg->storage.master_key, cfg->tenants.front().privacy);
  bodies gen(o.chats);
  std::vector<sb::adapters::header> headers{{"x-telegram-bot-api-secret-token", k_secret}};

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
    for (auto& r : reqs) {
      std::string body = gen.next();
      body.reserve(body.size() + 64);
      auto outcome = logic.ingest("POST", "", headers, body, true);
      auto* ev = std::get_if<sb::actors::store_events>(&outcome);
      if (ev == nullptr) {
        std::cerr << "the generated body did not parse\n";
        return 1;
      }
      r.tenant = "acme";
      r.events = std::move(ev->events);
    }
    std::vector<std::vector<sb::store::append_outcome>> out;
    const auto t0 = clk::now();
    if (auto st = stores.log->append(reqs, out); !st) {
      std::cerr << "append failed: " << st.err().message << "\n";
      return 1;
    }
    if (measuring) {
      lat.add(clk::now() - t0);
      events += o.batch;
    }
  }
  const double secs = std::chrono::duration<double>(clk::now() - measured_from).count();
  const auto io1 = read_io();
  const auto bytes1 = dir_bytes(dir);
  std::printf(
      "store %-6s %-5s batch %-4zu %9.0f events/s  append p50 %8.1f us  p90 %8.1f us  p99 %8.1f "
      "us  written %6.0f B/event (block layer %6.0f)  files +%6.0f B/event\n",
      o.backend.c_str(), o.durability.c_str(), o.batch, events / secs, lat.pct(50), lat.pct(90),
      lat.pct(99), double(io1.wchar - io0.wchar) / double(events),
      double(io1.write_bytes - io0.write_bytes) / double(events),
      (double(bytes1) - double(bytes0)) / double(events));
  stores = {};
  fs::remove_all(dir);
  return 0;
}

int run_pipeline(const options& o) {
  const std::string dir = fresh_dir(o);
  auto cfg = make_config(o, dir);
  auto gw = sb::actors::gateway::start(cfg);
  while (!gw->ready()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::mutex m;
  std::condition_variable cv;
  bodies gen(o.chats);
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
    w.tenant = "acme";
    w.channel = "tg";
    w.method = "POST";
    w.headers = {{"x-telegram-bot-api-secret-token", k_secret}};
    {
      std::lock_guard lock(m);
      w.body = gen.next();
    }
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
      "pipeline %-6s %-5s inflight %-4zu %9.0f events/s  p50 %8.1f us  p90 %8.1f us  p99 %8.1f "
      "us  non-200 %llu  written %6.0f B/event\n",
      o.backend.c_str(), o.durability.c_str(), o.inflight, n / secs, lat.pct(50), lat.pct(90),
      lat.pct(99), static_cast<unsigned long long>(failed.load()),
      n == 0 ? 0.0 : double(io1.wchar - io0.wchar) / double(n));
  gw->shutdown();
  gw.reset();
  fs::remove_all(dir);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const options o = parse_args(argc, argv);
  return o.mode == "store" ? run_store(o) : run_pipeline(o);
}
