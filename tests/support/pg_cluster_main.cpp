// sb_pg_cluster start|stop DIR: the PostgreSQL cluster one CTest run shares
// (tests/support/pg_cluster.hpp; the fixture tests pg_cluster.start and pg_cluster.stop).
#include <exception>
#include <iostream>
#include <string>

#include "support/pg_cluster.hpp"

int main(int argc, char** argv) {
  const std::string what = argc == 3 ? argv[1] : "";
  if (what != "start" && what != "stop") {
    std::cerr << "usage: sb_pg_cluster start|stop DIR\n";
    return 2;
  }
  try {
    if (what == "start") {
      sb::test::pg_cluster::start_shared(argv[2]);
    } else {
      sb::test::pg_cluster::stop_shared(argv[2]);
    }
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  return 0;
}
