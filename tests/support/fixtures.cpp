#include "support/fixtures.hpp"

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

std::string padded(std::string body) {
  body.reserve(body.size() + 64);
  return body;
}

}  // namespace sb::test
