#include "support/fixtures.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace sb::test {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw std::runtime_error("cannot read " + path);
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string fixture(const std::string& relative) {
  return read_file(std::string(SB_FIXTURES_DIR) + "/" + relative);
}

std::string all_file_bytes(const std::string& dir) {
  std::string out;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.is_regular_file()) {
      std::ifstream in(entry.path(), std::ios::binary);
      std::ostringstream ss;
      ss << in.rdbuf();
      out += ss.str();
    }
  }
  return out;
}

std::string padded(std::string body) {
  body.reserve(body.size() + 64);
  return body;
}

}  // namespace sb::test
