#include "loadtest/scenario.hpp"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "adapters/adapter.hpp"

namespace sb::loadtest {

namespace {

error bad(const std::string& what) {
  return error{errc::bad_request, "scenario: " + what};
}

}  // namespace

result<scenario> parse_scenario(const std::string& yaml_text, const std::string& base_dir) {
  scenario s;
  try {
    const YAML::Node root = YAML::Load(yaml_text);
    if (!root.IsMap()) {
      return bad("the file must be a mapping");
    }
    for (const auto& kv : root) {
      const auto key = kv.first.as<std::string>();
      const auto& v = kv.second;
      if (key == "gateway") {
        s.gateway_url = v.as<std::string>();
      } else if (key == "config") {
        s.config_path = v.as<std::string>();
      } else if (key == "mix") {
        for (const auto& m : v) {
          s.mix.push_back({m.first.as<std::string>(), m.second.as<double>()});
        }
      } else if (key == "batch_max") {
        s.batch_max = v.as<int>();
      } else if (key == "conversations") {
        s.conversations = v.as<std::uint64_t>();
      } else if (key == "zipf_s") {
        s.zipf_s = v.as<double>();
      } else if (key == "text_sizes") {
        for (const auto& m : v) {
          s.text_sizes.push_back({m["bytes"].as<std::size_t>(), m["weight"].as<double>(1.0)});
        }
      } else if (key == "duplicate_ratio") {
        s.duplicate_ratio = v.as<double>();
      } else if (key == "invalid_ratio") {
        s.invalid_ratio = v.as<double>();
      } else if (key == "mode") {
        const auto m = v.as<std::string>();
        if (m != "open" && m != "closed") {
          return bad("mode must be open or closed, not " + m);
        }
        s.mode = m == "open" ? loop_mode::open : loop_mode::closed;
      } else if (key == "rate") {
        s.rate = v.as<double>();
      } else if (key == "connections") {
        s.connections = v.as<int>();
      } else if (key == "duration_s") {
        s.duration_s = v.as<double>();
      } else if (key == "count") {
        s.count = v.as<std::uint64_t>();
      } else if (key == "warmup_s") {
        s.warmup_s = v.as<double>();
      } else if (key == "drain_s") {
        s.drain_s = v.as<double>();
      } else if (key == "timeout_s") {
        s.timeout_s = v.as<double>();
      } else if (key == "seed") {
        s.seed = v.as<std::uint64_t>();
      } else if (key == "stream_tokens") {
        for (const auto& m : v) {
          s.stream_tokens[m.first.as<std::string>()] = m.second.as<std::string>();
        }
      } else {
        return bad("unknown key `" + key + "`");
      }
    }
  } catch (const std::exception& e) {
    return bad(e.what());
  }
  if (s.config_path.empty()) {
    return bad("`config` (path to the gateway's switchboard.yaml) is required");
  }
  if (std::filesystem::path(s.config_path).is_relative() && !base_dir.empty()) {
    s.config_path = (std::filesystem::path(base_dir) / s.config_path).lexically_normal().string();
  }
  if (s.mix.empty()) {
    return bad("`mix` needs at least one platform");
  }
  if (s.text_sizes.empty()) {
    s.text_sizes.push_back({40, 1});
  }
  if (s.rate <= 0 || s.connections <= 0 || s.conversations == 0 || s.batch_max < 1) {
    return bad("rate, connections, conversations and batch_max must be positive");
  }
  if (s.duplicate_ratio < 0 || s.invalid_ratio < 0 || s.duplicate_ratio + s.invalid_ratio >= 1) {
    return bad("duplicate_ratio and invalid_ratio must be >= 0 and sum below 1");
  }
  if (s.duration_s <= 0 && s.count == 0) {
    return bad("give duration_s or count");
  }
  return s;
}

result<scenario> load_scenario(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return bad("cannot read " + path);
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_scenario(ss.str(), std::filesystem::path(path).parent_path().string());
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
