#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

/// End-to-end support: the real `switchboard` binary as a child process, and the YAML configs the
/// e2e tests start it with. Everything here is for tests only.
namespace sb::test {

/// How a terminated child ended.
struct exit_status {
  bool exited = false;                   ///< ended by exit(); `code` is valid
  int code = -1;                         ///< exit code when `exited`
  bool signaled = false;                 ///< killed by a signal; `signal` is valid
  int signal = 0;                        ///< the signal when `signaled`
  bool timed_out = false;                ///< still running when the deadline passed
  std::chrono::milliseconds elapsed{0};  ///< from the signal to the reaped exit (or deadline)
};

/// How the child is started, beyond its config (all optional).
struct process_options {
  /// RLIMIT_NOFILE (soft and hard) of the child; 0 = inherited.
  std::uint64_t open_files_limit = 0;
  /// Arguments after `--config <file>`, e.g. {"--log-level", "debug"}.
  std::vector<std::string> extra_args;
  /// Variables set in the child's environment ("NAME=value"), over the test's own.
  std::vector<std::string> environment;
};

/// The switchboard binary (SB_BINARY) started with `--config <temp file>`.
///
/// The constructor writes `config_yaml` into a fresh temporary directory under /tmp, starts the
/// binary, reads its stderr (and stdout) on a thread, and waits up to `startup_deadline` for the
/// line `... listening on http://<host>:<port>`. On failure it throws std::runtime_error whose
/// message carries everything the process wrote. The destructor SIGKILLs the process if it is
/// still running, joins the reader and removes the temporary directory.
///
/// Not thread-safe: use one object from one thread (the accessors of the captured output are
/// the exception: `output()` may be called from any thread).
class gateway_process {
 public:
  explicit gateway_process(const std::string& config_yaml,
                           std::chrono::milliseconds startup_deadline = std::chrono::seconds(20));
  /// As above, started as `options` says.
  gateway_process(const std::string& config_yaml, const process_options& options,
                  std::chrono::milliseconds startup_deadline = std::chrono::seconds(20));
  ~gateway_process();
  gateway_process(const gateway_process&) = delete;
  gateway_process& operator=(const gateway_process&) = delete;

  const std::string& host() const { return host_; }
  std::uint16_t port() const { return port_; }
  /// "http://<host>:<port>" without a trailing slash.
  std::string base_url() const;
  pid_t pid() const { return pid_; }
  /// The directory that holds the config (removed by the destructor).
  const std::string& dir() const { return dir_; }

  /// Everything the process wrote to stderr/stdout so far.
  std::string output() const;

  /// True while the child has not been reaped (reaps it when it has exited).
  bool running();

  /// Sends SIGTERM and waits up to `deadline` for the process to end. When it does not end in
  /// time, `timed_out` is set and the process is left running (the destructor kills it).
  exit_status terminate(std::chrono::milliseconds deadline = std::chrono::seconds(5));

 private:
  void start(std::chrono::milliseconds startup_deadline);
  void init(const std::string& config_yaml, std::chrono::milliseconds startup_deadline);
  void read_output(int fd);
  void kill_and_reap();

  process_options options_;
  std::string dir_;
  std::string config_path_;
  pid_t pid_ = -1;
  bool reaped_ = false;
  int wait_status_ = 0;
  std::string host_;
  std::uint16_t port_ = 0;

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::string output_;
  bool output_closed_ = false;
  std::thread reader_;
};

/// How a run of the binary to its end went (`run_switchboard`).
struct finished_run {
  int code = -1;       ///< the exit code; -1 when a signal ended it or it ran past the deadline
  std::string output;  ///< everything it wrote to stdout and stderr, interleaved
};

/// Runs the switchboard binary (SB_BINARY) with `args`, each passed as it is (no shell), in the
/// test's environment, and waits for it to exit: a command such as `migrate` or
/// `--check-config`, not a gateway (`gateway_process`). Past `deadline` it is SIGKILLed (code -1,
/// and the output says so).
finished_run run_switchboard(const std::vector<std::string>& args,
                             std::chrono::milliseconds deadline = std::chrono::seconds(60));

/// The 64-hex-character master key every test config uses.
inline constexpr const char* test_master_key =
    "6f1c2a9b3e4d5f60718293a4b5c6d7e8f90a1b2c3d4e5f6071829304a5b6c7d8";

/// A tenant of the standard e2e config, with five channels:
///   wa-main (whatsapp), tg (telegram), fb (messenger), ig (instagram), shop (shopify)
/// and one subscriber "backend" holding `token` with every scope. Secrets are derived from the
/// tenant id so that two tenants never share one.
struct test_tenant {
  std::string id;
  std::string token;

  std::string wa_app_secret() const { return "wa-app-secret-" + id; }
  std::string wa_verify_token() const { return "wa-verify-" + id; }
  std::string wa_phone_number_id() const { return "106540352242922"; }
  std::string tg_secret_token() const { return "tg-secret-token-" + id; }
  std::string fb_app_secret() const { return "fb-app-secret-" + id; }
  std::string fb_verify_token() const { return "fb-verify-" + id; }
  std::string fb_page_id() const { return "106540352242923"; }
  std::string ig_app_secret() const { return "ig-app-secret-" + id; }
  std::string ig_verify_token() const { return "ig-verify-" + id; }
  std::string ig_page_id() const { return "17841400000000000"; }
  std::string shop_client_secret() const { return "shop-client-secret-" + id; }
  std::string shop_domain() const { return id + "-test.myshopify.com"; }
};

/// Server settings a test may change; the rest keeps the gateway's defaults.
struct test_server {
  std::uint64_t max_body_bytes = 0;  ///< 0 = default
  int idle_timeout_ms = 0;           ///< 0 = default
  /// YAML lines added to the `server:` section as they are (each indented by two spaces and
  /// ending in a newline), e.g. "  trusted_proxies: [\"127.0.0.1\"]\n".
  std::string extra_server_yaml;
  /// YAML appended at the end of the file as it is: more top-level sections, e.g. "limits:\n...".
  std::string extra_yaml;
  /// A channel added to every tenant after the five, e.g. by the e2e tests of a platform that is
  /// not among them: no line here is needed for a new platform.
  struct channel {
    std::string name;
    std::string type;
    std::vector<std::pair<std::string, std::string>> settings;  ///< key, value (quoted as is)
  };
  std::vector<channel> extra_channels;
};

/// A complete switchboard.yaml: listen on 127.0.0.1:0, in-memory storage, the given tenants.
std::string test_config(const std::vector<test_tenant>& tenants, const test_server& server = {});

/// Lower-case hex SHA-256 of `token`, as `subscribers[].token_sha256` wants it.
std::string token_sha256(const std::string& token);

}  // namespace sb::test
