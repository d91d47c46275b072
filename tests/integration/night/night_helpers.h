// What the night-run tests read of a run from outside: its processes in
// /proc and counts in its results database.
#pragma once

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "schema/results_store.h"

namespace nightshift::testing {

// Live processes (not zombies, not this one) whose command line (arguments
// joined by spaces) contains `needle`, and whose parent is `parent` unless 0.
inline std::vector<pid_t> processes_with(const std::string& needle, pid_t parent = 0) {
  std::vector<pid_t> out;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return out;
  while (dirent* entry = readdir(proc)) {
    pid_t pid = static_cast<pid_t>(std::atoi(entry->d_name));
    if (pid <= 0 || pid == getpid()) continue;
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    std::getline(stat, line);
    auto close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    char state = 0;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (state == 'Z' || (parent != 0 && ppid != parent)) continue;
    std::ifstream cmd("/proc/" + std::to_string(pid) + "/cmdline");
    std::string cmdline((std::istreambuf_iterator<char>(cmd)), std::istreambuf_iterator<char>());
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    if (cmdline.find(needle) != std::string::npos) out.push_back(pid);
  }
  closedir(proc);
  return out;
}

// One number from the results database at `db`; -1 when it cannot be read
// (not there yet, no schema yet, a bad query).
inline int64_t query_db(const std::string& db, const std::string& sql) {
  auto store = ResultsStore::open_read_only(db);
  if (!store || !store->has_schema()) return -1;
  auto n = store->db().query_int(sql);
  return n ? *n : -1;
}

}  // namespace nightshift::testing
