// Runs the real `nightshift` binary once and collects what it said: exit
// code, stdout, the non-empty lines of stderr, and how long it took.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/child_process.h"

namespace nightshift::testing {

struct CliOutcome {
  int exit_code = -1;  // -1: still running at the limit (then killed)
  std::string stdout_text;
  std::vector<std::string> stderr_lines;
  std::chrono::milliseconds took{0};

  std::string describe() const {
    std::string text = "exit " + std::to_string(exit_code) + "\nstderr:\n";
    for (const auto& line : stderr_lines) text += line + "\n";
    return text + "stdout:\n" + stdout_text;
  }
};

// `nightshift ARGS...`; a test failure if it is still running after `limit`.
inline CliOutcome run_cli(std::vector<std::string> args, std::chrono::seconds limit,
                          std::map<std::string, std::string> env = {}) {
  args.insert(args.begin(), nightshift_binary());
  auto started = std::chrono::steady_clock::now();
  ChildProcess child(args, std::move(env));
  auto status = child.wait(limit);
  CliOutcome out;
  out.took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  EXPECT_TRUE(status.has_value()) << args[1] << "...: still running after " << limit.count()
                                  << " s";
  out.exit_code = status.value_or(-1);
  out.stdout_text = child.stdout_text();
  std::istringstream err(child.stderr_text());
  for (std::string line; std::getline(err, line);) {
    if (!line.empty()) out.stderr_lines.push_back(line);
  }
  return out;
}

// Exactly one line on stderr, containing every needle, and `exit_code`.
inline void expect_one_line_error(const CliOutcome& out, const std::vector<std::string>& needles,
                                  int exit_code) {
  EXPECT_EQ(out.exit_code, exit_code) << out.describe();
  ASSERT_EQ(out.stderr_lines.size(), 1u) << out.describe();
  for (const auto& needle : needles) {
    EXPECT_NE(out.stderr_lines[0].find(needle), std::string::npos)
        << "'" << needle << "' not in: " << out.stderr_lines[0];
  }
}

}  // namespace nightshift::testing
