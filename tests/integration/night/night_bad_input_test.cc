// Bad input to the real `nightshift` binary: a corrupt config, a broker that
// is not there, a results database that cannot be written. Each must end
// quickly with one line on stderr that names the cause, and a non-zero exit.
// The paths are chosen to be invalid for root too (CI may run as root, where
// a chmod does not stop writes): a folder "under" a regular file.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "tests/integration/night/cli_run.h"
#include "tests/support/child_process.h"

namespace nightshift {
namespace {

using namespace std::chrono_literals;

using testing::CliOutcome;
using testing::expect_one_line_error;

CliOutcome run_nightshift(std::vector<std::string> args, std::chrono::seconds limit,
                          std::map<std::string, std::string> env = {}) {
  return testing::run_cli(std::move(args), limit, std::move(env));
}

std::string write_file(const std::string& dir, const std::string& name, const std::string& text) {
  std::string path = dir + "/" + name;
  std::ofstream(path) << text;
  return path;
}

// A plain TCP listener that accepts connections and never speaks ZeroMQ:
// "the port is taken by something else".
class ForeignListener {
 public:
  explicit ForeignListener(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    bound_ = bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 && listen(fd_, 8) == 0;
  }
  ~ForeignListener() { close(fd_); }
  bool bound() const { return bound_; }

 private:
  int fd_ = -1;
  bool bound_ = false;
};

int port_of(const std::string& endpoint) { return std::stoi(endpoint.substr(endpoint.rfind(':') + 1)); }

std::vector<std::string> run_args(const testing::TestBus& bus) {
  return {"--config", bus.config_path, "run", "--workers", "1", "--no-telemetry"};
}

TEST(NightBadInput, ConfigWithAYamlSyntaxErrorIsOneLineNamingFileAndLine) {
  std::string dir = testing::make_temp_dir();
  std::string path = write_file(dir, "broken.yaml", "symbols: [BTCUSDT, ETHUSDT\ntimeframes: [1h]\n");
  auto out = run_nightshift({"--config", path, "run", "--workers", "1"}, 20s);
  expect_one_line_error(out, {"invalid configuration", path + ":", "YAML syntax error"}, 2);
}

TEST(NightBadInput, ConfigWithAnInvalidValueIsOneLineNamingFileLineAndKey) {
  std::string dir = testing::make_temp_dir();
  std::string path = write_file(dir, "bad.yaml", "horizons: [1, 3]\nscheduler:\n  lease_s: -5\n");
  auto out = run_nightshift({"--config", path, "run", "--workers", "1"}, 20s);
  expect_one_line_error(out, {path + ":3:", "scheduler.lease_s", "-5 is out of range"}, 2);
}

TEST(NightBadInput, ConfigListingASymbolTwiceIsRejectedBeforeItCanHangTheRun) {
  std::string dir = testing::make_temp_dir();
  std::string path = write_file(dir, "twice.yaml", "symbols: [BTCUSDT, ETHUSDT, BTCUSDT]\n");
  auto out = run_nightshift({"--config", path, "run", "--workers", "1"}, 20s);
  expect_one_line_error(out, {path + ":1:", "symbols", "'BTCUSDT' is listed twice"}, 2);
}

TEST(NightBadInput, InvalidEnvironmentOverrideNamesTheVariable) {
  auto bus = testing::make_test_bus();
  auto out = run_nightshift(run_args(bus), 20s, {{"NIGHTSHIFT_WORKERS", "many"}});
  expect_one_line_error(out, {"NIGHTSHIFT_WORKERS", "num_workers", "expected an integer"}, 2);
}

TEST(NightBadInput, MissingConfigFileIsOneLine) {
  std::string path = testing::make_temp_dir() + "/no-such.yaml";
  auto out = run_nightshift({"--config", path, "run"}, 20s);
  expect_one_line_error(out, {path, "cannot open config file"}, 2);
}

// Before, an ifstream opened a directory as an empty file: `config validate
// /tmp` passed and `run` went on with the built-in defaults.
TEST(NightBadInput, ConfigPathThatIsADirectoryOrADeviceIsOneLineNotTheDefaults) {
  std::string dir = testing::make_temp_dir();
  auto run = run_nightshift({"--config", dir, "run", "--workers", "1"}, 20s);
  expect_one_line_error(run, {"invalid configuration", dir + ": is a directory, not a config file"},
                        2);
  auto validate = run_nightshift({"config", "validate", dir}, 20s);
  expect_one_line_error(validate, {dir + ": is a directory, not a config file"}, 1);
  auto device = run_nightshift({"config", "validate", "/dev/null"}, 20s);
  expect_one_line_error(device, {"/dev/null: is a character device, not a config file"}, 1);
  auto show = run_nightshift({"config", "show", dir}, 20s);
  expect_one_line_error(show, {dir + ": is a directory, not a config file"}, 1);
  EXPECT_EQ(show.stdout_text, "");
}

// A stage started on its own (e.g. on another host) whose broker is not up
// must not wait forever: a bounded handshake, then the endpoint it tried.
TEST(NightBadInput, StagesPointedAtADeadBrokerSayWhichEndpointAndExit) {
  auto bus = testing::make_test_bus("telemetry:\n  enabled: false\n");  // nothing listens on its ports
  const std::string& control = bus.config.bus.control;
  std::vector<std::vector<std::string>> commands = {
      {"worker", "--id", "1"}, {"scheduler", "--run", "r1"}, {"persister"}, {"broker", "--stats"},
      {"health"}};
  for (const auto& command : commands) {
    SCOPED_TRACE(command[0]);
    std::vector<std::string> args{"--config", bus.config_path};
    args.insert(args.end(), command.begin(), command.end());
    auto out = run_nightshift(args, 20s);
    expect_one_line_error(out, {"broker unreachable", control}, 1);
    EXPECT_LT(out.took, 10s);
  }
}

// A run id names the log folder, topics and rows: one that is a path
// stops before anything starts or any folder is made.
TEST(NightBadInput, ARunIdThatIsAPathIsOneLineBeforeAnythingStarts) {
  auto bus = testing::make_test_bus();
  auto args = run_args(bus);
  args.insert(args.end(), {"--run-id", "../escape"});
  auto out = run_nightshift(args, 20s);
  expect_one_line_error(out, {"run id '../escape'", "must start with a letter"}, 2);
  EXPECT_FALSE(std::filesystem::exists(bus.dir + "/escape"));
  EXPECT_FALSE(std::filesystem::exists(bus.dir + "/logs"));
}

// A symbol whose study name would be a path: the scheduler refuses to plan
// it, and the run ends with that line instead of training anything.
TEST(NightBadInput, ASymbolThatIsAPathIsRefusedByTheScheduler) {
  auto bus = testing::make_test_bus("symbols: [\"../x\"]\ntelemetry:\n  enabled: false\n");
  auto out = run_nightshift(run_args(bus), 60s);
  EXPECT_EQ(out.exit_code, 1) << out.describe();
  std::string all;
  for (const auto& line : out.stderr_lines) all += line + "\n";
  EXPECT_NE(all.find("symbol '../x'"), std::string::npos) << out.describe();
}

// `nightshift run` starts its own broker; when an endpoint is taken by
// another program the broker cannot bind, and the run says so at once.
TEST(NightBadInput, RunWhoseBrokerCannotBindNamesTheEndpoint) {
  auto bus = testing::make_test_bus();
  ForeignListener squatter(port_of(bus.config.bus.jobs_in));
  ASSERT_TRUE(squatter.bound());
  auto out = run_nightshift(run_args(bus), 30s);
  expect_one_line_error(out, {"broker could not start", "cannot bind " + bus.config.bus.jobs_in,
                              "Address already in use"},
                        1);
  EXPECT_LT(out.took, 10s);
}

// The control endpoint answered by a program that accepts TCP but never
// speaks ZeroMQ: the handshake never completes, and the wait is bounded.
TEST(NightBadInput, StagePointedAtAListenerThatIsNoBrokerGivesUpNamingIt) {
  auto bus = testing::make_test_bus();
  ForeignListener impostor(port_of(bus.config.bus.control));
  ASSERT_TRUE(impostor.bound());
  auto out = run_nightshift({"--config", bus.config_path, "worker", "--id", "1"}, 20s);
  expect_one_line_error(out, {"broker unreachable", bus.config.bus.control}, 1);
  EXPECT_LT(out.took, 10s);
}

TEST(NightBadInput, ResultsDatabaseUnderARegularFileIsOneLineNamingIt) {
  std::string dir = testing::make_temp_dir();
  write_file(dir, "not-a-folder", "a regular file\n");
  std::string db = dir + "/not-a-folder/var/nightshift.db";
  auto bus = testing::make_test_bus("storage:\n  results_db: " + db + "\n");
  auto out = run_nightshift(run_args(bus), 20s);
  expect_one_line_error(out, {"results database " + db, "Not a directory"}, 1);
  EXPECT_LT(out.took, 5s);
  // The persister on its own says the same.
  out = run_nightshift({"--config", bus.config_path, "persister"}, 20s);
  expect_one_line_error(out, {"results database " + db, "Not a directory"}, 1);
}

TEST(NightBadInput, ResultsDatabaseThatIsADirectoryOrNotADatabaseIsOneLine) {
  std::string dir = testing::make_temp_dir();
  auto bus = testing::make_test_bus("storage:\n  results_db: " + dir + "\n");
  auto out = run_nightshift(run_args(bus), 20s);
  expect_one_line_error(out, {"results database " + dir, "is a directory"}, 1);

  std::string garbage = write_file(dir, "garbage.db", std::string(4096, 'x'));
  bus = testing::make_test_bus("storage:\n  results_db: " + garbage + "\n");
  out = run_nightshift(run_args(bus), 20s);
  expect_one_line_error(out, {"results database: ", garbage, "not a SQLite database"}, 1);
}

}  // namespace
}  // namespace nightshift
