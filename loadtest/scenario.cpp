#include "loadtest/scenario.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "adapters/adapter.hpp"
#include "config/loader.hpp"

namespace sb::loadtest {

namespace {

error bad(const std::string& what) {
  return error{errc::bad_request, "scenario: " + what};
}

/// A scalar quoted for a message, cut short when long.
std::string quote(const YAML::Node& n) {
  std::string v;
  if (n.IsScalar()) {
    v = n.Scalar();
  } else if (n.IsSequence()) {
    v = "a list";
  } else if (n.IsMap()) {
    v = "a mapping";
  } else {
    v = "nothing";
  }
  constexpr std::size_t max = 40;
  return n.IsScalar() ? "'" + (v.size() <= max ? v : v.substr(0, max) + "...") + "'" : v;
}

/// Every problem of one file, each `file:line: key: problem`.
class problems {
 public:
  explicit problems(std::string file) : file_(std::move(file)) {}

  void add(const YAML::Mark& at, const std::string& key, const std::string& problem) {
    std::string where = file_;
    if (!at.is_null() && at.line >= 0) {
      where += ":" + std::to_string(at.line + 1);
    }
    lines_.push_back(where + ": " + (key.empty() ? "" : key + ": ") + problem);
  }
  void add(const YAML::Node& at, const std::string& key, const std::string& problem) {
    add(at.IsDefined() ? at.Mark() : YAML::Mark::null_mark(), key, problem);
  }

  bool empty() const { return lines_.empty(); }
  std::string text() const {
    std::string out;
    for (const auto& l : lines_) {
      out += (out.empty() ? "" : "\n") + l;
    }
    return out;
  }

 private:
  std::string file_;
  std::vector<std::string> lines_;
};

/// Reads a scalar of type T into `out`; a problem (and `out` unchanged) when it does not convert.
template <typename T>
bool read(problems& p, const YAML::Node& n, const std::string& key, T& out, const char* expected) {
  if (n.IsScalar()) {
    try {
      out = n.as<T>();
      return true;
    } catch (const YAML::Exception&) {
      // reported below
    }
  }
  p.add(n, key, std::string("expected ") + expected + ", got " + quote(n));
  return false;
}

bool read_number(problems& p, const YAML::Node& n, const std::string& key, double& out) {
  return read(p, n, key, out, "a number");
}

}  // namespace

const std::vector<std::string>& scenario_keys() {
  static const std::vector<std::string> keys{
      "gateway",       "config",          "stream_tokens", "mix",        "batch_max",
      "conversations", "zipf_s",          "text_sizes",    "duplicate_ratio",
      "invalid_ratio", "mode",            "rate",          "connections", "duration_s",
      "count",         "warmup_s",        "drain_s",       "timeout_s",  "seed"};
  return keys;
}

std::string unknown_name_problem(const std::string& key, const std::vector<std::string>& known,
                                 const std::string& what) {
  std::string best;
  std::size_t best_distance = 3;  // suggest only close matches
  for (const auto& k : known) {
    const auto shorter = std::min(key.size(), k.size());
    std::size_t d = config::edit_distance(key, k);
    // A truncated or extended name ("duration" for "duration_s") is close too.
    if (shorter >= 4 && k.compare(0, shorter, key, 0, shorter) == 0) {
      d = std::min<std::size_t>(d, 2);
    }
    if (d < best_distance) {
      best = k;
      best_distance = d;
    }
  }
  if (!best.empty()) {
    return "unknown " + what + "; did you mean '" + best + "'?";
  }
  std::string list;
  for (const auto& k : known) {
    list += (list.empty() ? "" : ", ") + k;
  }
  return "unknown " + what + "; known: " + list;
}

result<scenario> parse_scenario(const std::string& yaml_text, const std::string& base_dir,
                                const std::string& file) {
  scenario s;
  problems p(file);
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::ParserException& e) {
    p.add(e.mark, "", e.msg);
    return error{errc::bad_request, p.text()};
  } catch (const std::exception& e) {
    p.add(YAML::Mark::null_mark(), "", e.what());
    return error{errc::bad_request, p.text()};
  }
  if (!root.IsMap()) {
    p.add(root, "", "the file must be a mapping of the scenario keys (loadtest/README.md)");
    return error{errc::bad_request, p.text()};
  }
  std::map<std::string, YAML::Node> at;  // where each key was given, for the checks below
  try {
    for (const auto& kv : root) {
      const auto key = kv.first.Scalar();
      const auto& v = kv.second;
      at[key] = kv.first;
      if (key == "gateway") {
        read(p, v, key, s.gateway_url, "a URL");
      } else if (key == "config") {
        read(p, v, key, s.config_path, "a path");
      } else if (key == "mix") {
        if (!v.IsMap()) {
          p.add(v, key, "expected a mapping of platform: weight, got " + quote(v));
          continue;
        }
        std::vector<std::string> types;
        for (const auto& a : adapters::all()) {
          if (a.synthesize != nullptr && a.sign != nullptr) {
            types.push_back(a.type);
          }
        }
        for (const auto& m : v) {
          const auto type = m.first.Scalar();
          const std::string k = "mix." + type;
          double w = 0;
          if (std::find(types.begin(), types.end(), type) == types.end()) {
            const auto* info = adapters::find(type);
            p.add(m.first, k,
                  info != nullptr ? "the load tester cannot generate this platform's webhooks"
                                  : unknown_name_problem(type, types, "platform"));
          } else if (read_number(p, m.second, k, w)) {
            if (w < 0) {
              p.add(m.second, k, "weight must be >= 0");
            }
            s.mix.push_back({type, w});
          }
        }
      } else if (key == "batch_max") {
        read(p, v, key, s.batch_max, "an integer");
      } else if (key == "conversations") {
        read(p, v, key, s.conversations, "a positive integer");
      } else if (key == "zipf_s") {
        read_number(p, v, key, s.zipf_s);
      } else if (key == "text_sizes") {
        if (!v.IsSequence()) {
          p.add(v, key, "expected a list of {bytes, weight}, got " + quote(v));
          continue;
        }
        for (std::size_t i = 0; i < v.size(); ++i) {
          const auto& m = v[i];
          const std::string k = "text_sizes[" + std::to_string(i) + "]";
          if (!m.IsMap()) {
            p.add(m, k, "expected {bytes: N, weight: W}, got " + quote(m));
            continue;
          }
          weighted_size ws;
          bool ok = true;
          for (const auto& f : m) {
            const auto name = f.first.Scalar();
            if (name == "bytes") {
              ok = read(p, f.second, k + ".bytes", ws.bytes, "a byte count") && ok;
            } else if (name == "weight") {
              ok = read_number(p, f.second, k + ".weight", ws.weight) && ok;
            } else {
              p.add(f.first, k + "." + name, unknown_name_problem(name, {"bytes", "weight"}));
              ok = false;
            }
          }
          if (!m["bytes"]) {
            p.add(m, k + ".bytes", "required");
            ok = false;
          } else if (ok && ws.bytes == 0) {
            p.add(m["bytes"], k + ".bytes", "must be > 0");
            ok = false;
          }
          if (ok) {
            s.text_sizes.push_back(ws);
          }
        }
      } else if (key == "duplicate_ratio") {
        read_number(p, v, key, s.duplicate_ratio);
      } else if (key == "invalid_ratio") {
        read_number(p, v, key, s.invalid_ratio);
      } else if (key == "mode") {
        std::string m;
        if (read(p, v, key, m, "open or closed")) {
          if (m != "open" && m != "closed") {
            p.add(v, key, "must be open or closed, not " + quote(v));
          }
          s.mode = m == "open" ? loop_mode::open : loop_mode::closed;
        }
      } else if (key == "rate") {
        read_number(p, v, key, s.rate);
      } else if (key == "connections") {
        read(p, v, key, s.connections, "an integer");
      } else if (key == "duration_s") {
        read_number(p, v, key, s.duration_s);
      } else if (key == "count") {
        read(p, v, key, s.count, "a non-negative integer");
      } else if (key == "warmup_s") {
        read_number(p, v, key, s.warmup_s);
      } else if (key == "drain_s") {
        read_number(p, v, key, s.drain_s);
      } else if (key == "timeout_s") {
        read_number(p, v, key, s.timeout_s);
      } else if (key == "seed") {
        read(p, v, key, s.seed, "a non-negative integer");
      } else if (key == "stream_tokens") {
        if (!v.IsMap()) {
          p.add(v, key, "expected a mapping of tenant: token, got " + quote(v));
          continue;
        }
        for (const auto& m : v) {
          std::string token;
          if (read(p, m.second, key + "." + m.first.Scalar(), token, "a token")) {
            s.stream_tokens[m.first.Scalar()] = token;
          }
        }
      } else {
        p.add(kv.first, key, unknown_name_problem(key, scenario_keys()));
      }
    }
  } catch (const std::exception& e) {
    p.add(YAML::Mark::null_mark(), "", e.what());
  }
  // Range checks, each at the line of its key (or of the file when the key is absent).
  auto check = [&](bool ok, const std::string& key, const std::string& problem) {
    if (!ok) {
      const auto it = at.find(key);
      if (it != at.end()) {
        p.add(it->second, key, problem);
      } else {
        p.add(YAML::Mark::null_mark(), key, problem);
      }
    }
  };
  check(!s.config_path.empty() || at.count("config") > 0, "config",
        "required (the path of the gateway's switchboard.yaml, or --config)");
  check(!s.mix.empty() || at.count("mix") > 0, "mix", "required: at least one platform: weight");
  check(s.rate > 0, "rate", "must be > 0 (requests per second, open loop)");
  check(s.connections > 0, "connections", "must be > 0");
  check(s.conversations > 0, "conversations", "must be > 0");
  check(s.batch_max >= 1, "batch_max", "must be >= 1");
  check(s.duplicate_ratio >= 0 && s.duplicate_ratio < 1, "duplicate_ratio", "must be in [0, 1)");
  check(s.invalid_ratio >= 0 && s.invalid_ratio < 1, "invalid_ratio", "must be in [0, 1)");
  check(s.duplicate_ratio < 0 || s.duplicate_ratio >= 1 || s.invalid_ratio < 0 ||
            s.invalid_ratio >= 1 || s.duplicate_ratio + s.invalid_ratio < 1,
        "invalid_ratio",
        "duplicate_ratio + invalid_ratio must be below 1");
  check(s.duration_s >= 0, "duration_s", "must be >= 0");
  check(s.duration_s > 0 || s.count > 0, at.count("count") > 0 ? "count" : "duration_s",
        "give duration_s (seconds) or count (requests)");
  check(s.warmup_s >= 0, "warmup_s", "must be >= 0");
  check(s.drain_s >= 0, "drain_s", "must be >= 0");
  check(s.timeout_s > 0, "timeout_s", "must be > 0");
  if (!p.empty()) {
    return error{errc::bad_request, p.text()};
  }
  if (std::filesystem::path(s.config_path).is_relative() && !base_dir.empty()) {
    s.config_path = (std::filesystem::path(base_dir) / s.config_path).lexically_normal().string();
  }
  if (s.text_sizes.empty()) {
    s.text_sizes.push_back({40, 1});
  }
  return s;
}

result<scenario> load_scenario(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return error{errc::bad_request, path + ": cannot read the scenario file"};
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_scenario(ss.str(), std::filesystem::path(path).parent_path().string(), path);
}

result<std::vector<target>> targets_from(const config::config& cfg, const scenario& s) {
  std::vector<target> out;
  for (const auto& m : s.mix) {
    const auto* info = adapters::find(m.type);
    if (info == nullptr) {
      return bad("mix: unknown platform `" + m.type + "`");
    }
    if (info->synthesize == nullptr || info->sign == nullptr) {
      return bad("mix: the load tester cannot generate `" + m.type + "` webhooks");
    }
    bool found = false;
    for (const auto& t : cfg.tenants) {
      for (const auto& c : t.channels) {
        if (c.type == m.type) {
          out.push_back({t.id, c.name, c.type, info->account(c), c.settings});
          found = true;
        }
      }
    }
    if (!found) {
      return bad("mix: the gateway config has no `" + m.type + "` channel");
    }
  }
  return out;
}

}  // namespace sb::loadtest
