#include "support/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string_view>

#include "core/crypto.hpp"

namespace sb::test {

namespace {

using clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::string_view listening_marker = "listening on http://";

std::string make_temp_dir() {
  std::string tmpl = "/tmp/sb-e2e-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    throw std::runtime_error(std::string("mkdtemp failed: ") + std::strerror(errno));
  }
  return tmpl;
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) {
    throw std::runtime_error("cannot write " + path);
  }
}

/// Parses "<host>:<port>" (host possibly "[v6]") from the text after the marker.
bool parse_endpoint(std::string_view text, std::string& host, std::uint16_t& port) {
  auto end = text.find_first_of(" \t\r\n/\"");  // '"': the end of a JSON log line's msg
  text = text.substr(0, end);
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 >= text.size()) {
    return false;
  }
  unsigned long value = 0;
  for (char c : text.substr(colon + 1)) {
    if (c < '0' || c > '9') {
      return false;
    }
    value = value * 10 + static_cast<unsigned long>(c - '0');
    if (value > 65535) {
      return false;
    }
  }
  if (value == 0) {
    return false;
  }
  host = std::string(text.substr(0, colon));
  port = static_cast<std::uint16_t>(value);
  return true;
}

std::string describe(int wait_status) {
  std::ostringstream s;
  if (WIFEXITED(wait_status)) {
    s << "exited with code " << WEXITSTATUS(wait_status);
  } else if (WIFSIGNALED(wait_status)) {
    s << "killed by signal " << WTERMSIG(wait_status);
  } else {
    s << "wait status " << wait_status;
  }
  return s.str();
}

}  // namespace

gateway_process::gateway_process(const std::string& config_yaml,
                                 std::chrono::milliseconds startup_deadline) {
  init(config_yaml, startup_deadline);
}

gateway_process::gateway_process(const std::string& config_yaml, const process_options& options,
                                 std::chrono::milliseconds startup_deadline)
    : options_(options) {
  init(config_yaml, startup_deadline);
}

void gateway_process::init(const std::string& config_yaml,
                           std::chrono::milliseconds startup_deadline) {
  dir_ = make_temp_dir();
  config_path_ = dir_ + "/switchboard.yaml";
  try {
    write_text(config_path_, config_yaml);
    start(startup_deadline);
  } catch (...) {
    kill_and_reap();
    if (reader_.joinable()) {
      reader_.join();
    }
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
    throw;
  }
}

gateway_process::~gateway_process() {
  kill_and_reap();
  if (reader_.joinable()) {
    reader_.join();
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

void gateway_process::start(milliseconds startup_deadline) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    throw std::runtime_error(std::string("pipe2 failed: ") + std::strerror(errno));
  }
  // Everything the child needs is prepared before fork: between fork and exec only
  // async-signal-safe calls are allowed (the test process has other threads).
  std::string binary = SB_BINARY;
  std::vector<std::string> args{binary, "--config", config_path_};
  args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());
  rlimit files{};
  files.rlim_cur = files.rlim_max = static_cast<rlim_t>(options_.open_files_limit);
  std::vector<char*> argv;
  for (auto& a : args) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  // The test's environment, with `options_.environment` replacing variables of the same name.
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view var(*e);
    bool replaced = false;
    for (const auto& mine : options_.environment) {
      auto name = std::string_view(mine).substr(0, mine.find('=') + 1);
      replaced = replaced || var.substr(0, name.size()) == name;
    }
    if (!replaced) {
      env_strings.emplace_back(var);
    }
  }
  env_strings.insert(env_strings.end(), options_.environment.begin(), options_.environment.end());
  std::vector<char*> envp;
  for (auto& e : env_strings) {
    envp.push_back(e.data());
  }
  envp.push_back(nullptr);
  pid_t parent = ::getpid();

  pid_t pid = ::fork();
  if (pid < 0) {
    int err = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    throw std::runtime_error(std::string("fork failed: ") + std::strerror(err));
  }
  if (pid == 0) {
    // Child. dup2 clears FD_CLOEXEC on the targets.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) {
      ::_exit(127);
    }
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) {
      ::dup2(devnull, STDIN_FILENO);
    }
    ::dup2(fds[1], STDOUT_FILENO);
    ::dup2(fds[1], STDERR_FILENO);
    if (files.rlim_max != 0 && ::setrlimit(RLIMIT_NOFILE, &files) != 0) {
      static const char msg[] = "e2e: setrlimit(RLIMIT_NOFILE) failed\n";
      ssize_t ignored = ::write(STDERR_FILENO, msg, sizeof msg - 1);
      (void)ignored;
      ::_exit(127);
    }
    ::execve(argv[0], argv.data(), envp.data());
    static const char msg[] = "e2e: execv of SB_BINARY failed\n";
    ssize_t ignored = ::write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)ignored;
    ::_exit(127);
  }
  pid_ = pid;
  ::close(fds[1]);
  int read_fd = fds[0];
  reader_ = std::thread([this, read_fd] { read_output(read_fd); });

  auto deadline = clock::now() + startup_deadline;
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    auto at = output_.find(listening_marker);
    if (at != std::string::npos && output_.find('\n', at) != std::string::npos) {
      std::string_view rest(output_);
      rest.remove_prefix(at + listening_marker.size());
      if (!parse_endpoint(rest, host_, port_)) {
        throw std::runtime_error("switchboard logged an unparseable listen line; output:\n" +
                                 output_);
      }
      return;
    }
    if (output_closed_) {
      lock.unlock();
      // The output closes as the process exits: give the exit a moment to be reaped.
      auto reap_until = clock::now() + milliseconds(2000);
      while (running() && clock::now() < reap_until) {
        std::this_thread::sleep_for(milliseconds(10));
      }
      std::string status = running() ? "closed its output" : describe(wait_status_);
      throw std::runtime_error("switchboard " + status + " before listening (binary " + binary +
                               ", config " + config_path_ + "); output:\n" + output());
    }
    if (changed_.wait_until(lock, deadline) == std::cv_status::timeout &&
        output_.find(listening_marker) == std::string::npos) {
      std::string captured = output_;
      lock.unlock();
      throw std::runtime_error("switchboard did not log 'listening on http://' within " +
                               std::to_string(startup_deadline.count()) + " ms; output:\n" +
                               captured);
    }
  }
}

void gateway_process::read_output(int fd) {
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    output_.append(buf, static_cast<std::size_t>(n));
    changed_.notify_all();
  }
  ::close(fd);
  std::lock_guard<std::mutex> lock(mutex_);
  output_closed_ = true;
  changed_.notify_all();
}

std::string gateway_process::base_url() const {
  return "http://" + host_ + ":" + std::to_string(port_);
}

std::string gateway_process::output() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return output_;
}

bool gateway_process::running() {
  if (pid_ <= 0 || reaped_) {
    return false;
  }
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    reaped_ = true;
    wait_status_ = status;
    return false;
  }
  return r == 0;
}

exit_status gateway_process::terminate(milliseconds deadline) {
  exit_status result;
  if (!running()) {
    throw std::runtime_error("terminate(): switchboard is not running (" + describe(wait_status_) +
                             ")");
  }
  auto started = clock::now();
  ::kill(pid_, SIGTERM);
  auto until = started + deadline;
  while (running()) {
    if (clock::now() >= until) {
      result.timed_out = true;
      result.elapsed = std::chrono::duration_cast<milliseconds>(clock::now() - started);
      return result;
    }
    std::this_thread::sleep_for(milliseconds(5));
  }
  result.elapsed = std::chrono::duration_cast<milliseconds>(clock::now() - started);
  if (WIFEXITED(wait_status_)) {
    result.exited = true;
    result.code = WEXITSTATUS(wait_status_);
  } else if (WIFSIGNALED(wait_status_)) {
    result.signaled = true;
    result.signal = WTERMSIG(wait_status_);
  }
  return result;
}

void gateway_process::kill_and_reap() {
  if (pid_ <= 0 || reaped_) {
    return;
  }
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  reaped_ = true;
  wait_status_ = status;
}

finished_run run_switchboard(const std::vector<std::string>& args, milliseconds deadline) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    throw std::runtime_error(std::string("pipe2 failed: ") + std::strerror(errno));
  }
  // As `gateway_process::start`: everything prepared before fork, only async-signal-safe calls
  // between fork and exec.
  std::vector<std::string> all{SB_BINARY};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    throw std::runtime_error(std::string("fork failed: ") + std::strerror(err));
  }
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) {
      ::_exit(127);
    }
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) {
      ::dup2(devnull, STDIN_FILENO);
    }
    ::dup2(fds[1], STDOUT_FILENO);
    ::dup2(fds[1], STDERR_FILENO);
    ::execv(argv[0], argv.data());
    static const char msg[] = "e2e: execv of SB_BINARY failed\n";
    ssize_t ignored = ::write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)ignored;
    ::_exit(127);
  }
  ::close(fds[1]);
  finished_run run;
  bool killed = false;
  const auto until = clock::now() + deadline;
  char buf[4096];
  for (;;) {
    const auto left = std::chrono::duration_cast<milliseconds>(until - clock::now()).count();
    pollfd p{fds[0], POLLIN, 0};
    const int ready = left > 0 ? ::poll(&p, 1, static_cast<int>(left)) : 0;
    if (ready < 0 && errno == EINTR) {
      continue;
    }
    if (ready == 0) {
      ::kill(pid, SIGKILL);
      killed = true;
      break;
    }
    const ssize_t n = ready < 0 ? -1 : ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break;  // end of output: the process has exited (or closed it)
    }
    run.output.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (killed) {
    run.output += "\n[run_switchboard: killed after " + std::to_string(deadline.count()) + " ms]";
  } else if (WIFEXITED(status)) {
    run.code = WEXITSTATUS(status);
  }
  return run;
}

std::string token_sha256(const std::string& token) {
  return crypto::to_hex(crypto::sha256(token));
}

std::string test_config(const std::vector<test_tenant>& tenants, const test_server& server) {
  std::ostringstream y;
  y << "server:\n"
    << "  listen: \"127.0.0.1:0\"\n"
    << "  io_threads: 2\n";
  if (server.max_body_bytes != 0) {
    y << "  max_body_bytes: " << server.max_body_bytes << "\n";
  }
  if (server.idle_timeout_ms != 0) {
    y << "  idle_timeout_ms: " << server.idle_timeout_ms << "\n";
  }
  y << server.extra_server_yaml;
  y << "storage:\n"
    << "  backend: memory\n"
    << "  master_key: \"" << test_master_key << "\"\n"
    << "tenants:\n";
  for (const auto& t : tenants) {
    y << "  - id: " << t.id << "\n"
      << "    channels:\n"
      << "      - name: wa-main\n"
      << "        type: whatsapp\n"
      << "        app_secret: \"" << t.wa_app_secret() << "\"\n"
      << "        verify_token: \"" << t.wa_verify_token() << "\"\n"
      << "        access_token: \"wa-access-token-" << t.id << "\"\n"
      << "        phone_number_id: \"" << t.wa_phone_number_id() << "\"\n"
      << "      - name: tg\n"
      << "        type: telegram\n"
      << "        secret_token: \"" << t.tg_secret_token() << "\"\n"
      << "        bot_token: \"123456789:tg-bot-token-" << t.id << "\"\n"
      << "      - name: fb\n"
      << "        type: messenger\n"
      << "        app_secret: \"" << t.fb_app_secret() << "\"\n"
      << "        verify_token: \"" << t.fb_verify_token() << "\"\n"
      << "        access_token: \"fb-access-token-" << t.id << "\"\n"
      << "        page_id: \"" << t.fb_page_id() << "\"\n"
      << "      - name: ig\n"
      << "        type: instagram\n"
      << "        app_secret: \"" << t.ig_app_secret() << "\"\n"
      << "        verify_token: \"" << t.ig_verify_token() << "\"\n"
      << "        access_token: \"ig-access-token-" << t.id << "\"\n"
      << "        page_id: \"" << t.ig_page_id() << "\"\n"
      << "      - name: shop\n"
      << "        type: shopify\n"
      << "        client_secret: \"" << t.shop_client_secret() << "\"\n"
      << "        shop_domain: " << t.shop_domain() << "\n";
    for (const auto& ch : server.extra_channels) {
      y << "      - name: " << ch.name << "\n"
        << "        type: " << ch.type << "\n";
      for (const auto& [key, value] : ch.settings) {
        y << "        " << key << ": \"" << value << "\"\n";
      }
    }
    y << "    subscribers:\n"
      << "      - name: backend\n"
      << "        token_sha256: \"" << token_sha256(t.token) << "\"\n"
      << "        scopes: [stream, send, privacy, admin]\n";
  }
  y << server.extra_yaml;
  return y.str();
}

}  // namespace sb::test
