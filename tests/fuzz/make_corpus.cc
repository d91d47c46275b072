// Writes the seed corpus (corpus.h: one valid frame per message type) for
// the fuzzer into the folder named on the command line.
#include <fstream>
#include <iostream>
#include <string>

#include "tests/fuzz/corpus.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: fuzz_make_corpus DIR\n";
    return 2;
  }
  int n = 0;
  for (const auto& frame : nightshift::fuzz::corpus_frames()) {
    std::string path = std::string(argv[1]) + "/seed" + std::to_string(n++);
    std::ofstream out(path, std::ios::binary);
    out << frame;
    if (!out) {
      std::cerr << path << ": cannot write\n";
      return 1;
    }
  }
  return 0;
}
