#include "stages/trainer/bars_csv.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

namespace nightshift::trainer {
namespace {

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream ss(line);
  std::string cell;
  while (std::getline(ss, cell, ',')) {
    while (!cell.empty() && (cell.back() == '\r' || cell.back() == ' ')) cell.pop_back();
    out.push_back(cell);
  }
  return out;
}

bool parse_number(const std::string& text, double& out) {
  char* end = nullptr;
  out = std::strtod(text.c_str(), &end);
  return end != text.c_str() && *end == '\0';
}

}  // namespace

Result<Bars> read_bars_csv(const std::string& path) {
  std::ifstream in(path);
  if (!in) return make_error("cannot open CSV " + path);
  std::string line;
  if (!std::getline(in, line)) return make_error(path + ": empty file");
  const std::array<std::string, 6> wanted = {"ts", "open", "high", "low", "close", "volume"};
  std::array<std::size_t, 6> column{};
  auto header = split(line);
  for (std::size_t k = 0; k < wanted.size(); ++k) {
    auto it = std::find(header.begin(), header.end(), wanted[k]);
    if (it == header.end()) return make_error(path + ": header lacks column '" + wanted[k] + "'");
    column[k] = static_cast<std::size_t>(it - header.begin());
  }
  Bars bars;
  for (std::size_t row = 2; std::getline(in, line); ++row) {
    if (line.empty()) continue;
    auto cells = split(line);
    std::array<double, 6> v{};
    for (std::size_t k = 0; k < wanted.size(); ++k) {
      if (column[k] >= cells.size() || !parse_number(cells[column[k]], v[k])) {
        return make_error(path + ":" + std::to_string(row) + ": bad or missing " + wanted[k]);
      }
    }
    bars.push_back({static_cast<int64_t>(v[0]), v[1], v[2], v[3], v[4], v[5]});
  }
  return bars;
}

}  // namespace nightshift::trainer
