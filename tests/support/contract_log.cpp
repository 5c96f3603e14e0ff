#include "support/contract_log.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>

namespace sb::test::contract {

namespace {

const std::string& directory() {
  static const std::string dir = [] {
    const char* d = std::getenv("SB_CONTRACT_LOG");
    std::string dir(d == nullptr ? "" : d);
    if (!dir.empty()) {
      std::error_code ec;  // a failure shows as a missing log, which the contract tests report
      std::filesystem::create_directories(dir, ec);
    }
    return dir;
  }();
  return dir;
}

void escape(std::string& out, const std::string& s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
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
  out += '"';
}

void field(std::string& out, const char* name, const std::string& value) {
  out += ",\"";
  out += name;
  out += "\":";
  escape(out, value);
}

void headers_field(std::string& out, const header_list& headers) {
  out += ",\"headers\":{";
  bool first = true;
  // The last value of a name wins, as in a JSON object read by JavaScript.
  for (const auto& [name, value] : headers) {
    if (!first) {
      out += ',';
    }
    first = false;
    escape(out, name);
    out += ':';
    escape(out, value);
  }
  out += '}';
}

std::string header(const header_list& headers, const std::string& name) {
  std::string v;
  for (const auto& h : headers) {
    if (h.first == name) {
      v = h.second;
    }
  }
  return v;
}

bool json_type(const std::string& content_type) {
  return content_type.rfind("application/json", 0) == 0 ||
         content_type.rfind("application/problem+json", 0) == 0;
}

void append(const std::string& line) {
  static std::mutex m;
  std::lock_guard<std::mutex> lock(m);
  std::ofstream out(directory() + "/e2e-" + std::to_string(::getpid()) + ".jsonl",
                    std::ios::app | std::ios::binary);
  out << line << '\n';
}

}  // namespace

bool enabled() { return !directory().empty(); }

void record_http(const std::string& method, const std::string& url, long status,
                 const header_list& headers, const std::string& body) {
  if (!enabled()) {
    return;
  }
  const std::string type = header(headers, "content-type");
  std::string line = "{\"kind\":\"http\"";
  field(line, "method", method);
  field(line, "url", url);
  line += ",\"status\":" + std::to_string(status);
  field(line, "content_type", type);
  headers_field(line, headers);
  field(line, "body", json_type(type) ? body : std::string());
  line += '}';
  append(line);
}

void record_sse(const std::string& url, long status, const std::string& event,
                const std::string& id, const std::string& data, const header_list& headers) {
  if (!enabled()) {
    return;
  }
  std::string line = "{\"kind\":\"sse\"";
  field(line, "url", url);
  line += ",\"status\":" + std::to_string(status);
  field(line, "event", event);
  field(line, "id", id);
  field(line, "data", data);
  headers_field(line, headers);
  line += '}';
  append(line);
}

void record_push(const std::string& url, const header_list& headers, const std::string& body) {
  if (!enabled()) {
    return;
  }
  std::string line = "{\"kind\":\"push\"";
  field(line, "url", url);
  headers_field(line, headers);
  field(line, "body", body);
  line += '}';
  append(line);
}

}  // namespace sb::test::contract
