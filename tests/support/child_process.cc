#include "tests/support/child_process.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace nightshift::testing {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Deep-merges `extra` into `base`: maps merge key by key, anything else replaces.
void merge(YAML::Node base, const YAML::Node& extra) {
  if (!extra.IsMap()) return;
  for (const auto& kv : extra) {
    std::string key = kv.first.Scalar();
    if (kv.second.IsMap() && base[key].IsMap()) {
      merge(base[key], kv.second);
    } else {
      base[key] = kv.second;
    }
  }
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

std::string nightshift_binary() { return NIGHTSHIFT_BINARY; }
std::string source_dir() { return NIGHTSHIFT_SOURCE_DIR; }

std::string make_temp_dir(const std::string& prefix) {
  std::string pattern = "/tmp/" + prefix + "-XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (mkdtemp(buffer.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return buffer.data();
}

ChildProcess::ChildProcess(std::vector<std::string> argv,
                           std::map<std::string, std::string> env) {
  dir_ = make_temp_dir("nightshift-child");
  std::string out_path = dir_ + "/stdout";
  std::string err_path = dir_ + "/stderr";
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(out, STDOUT_FILENO);
    dup2(err, STDERR_FILENO);
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, STDIN_FILENO);
    setpgid(0, 0);  // own process group: a test's SIGINT does not reach it
    for (const auto& [key, value] : env) setenv(key.c_str(), value.c_str(), 1);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !status_) {
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
}

bool ChildProcess::running() {
  if (status_) return false;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    status_ = decode_status(status);
    return false;
  }
  return true;
}

void ChildProcess::signal(int signo) {
  if (running()) kill(pid_, signo);
}

std::optional<int> ChildProcess::wait(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (running()) {
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return status_;
}

int ChildProcess::stop(std::chrono::milliseconds grace) {
  signal(SIGTERM);
  if (auto status = wait(grace)) return *status;
  signal(SIGKILL);
  return wait(std::chrono::seconds(5)).value_or(-1);
}

std::string ChildProcess::stdout_text() const { return read_file(dir_ + "/stdout"); }
std::string ChildProcess::stderr_text() const { return read_file(dir_ + "/stderr"); }

bool ChildProcess::wait_for_lines(std::size_t lines, std::chrono::milliseconds timeout) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  do {
    std::string text = stdout_text();
    if (static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) >= lines) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  } while (std::chrono::steady_clock::now() < deadline);
  return false;
}

bool ChildProcess::wait_for_output(const std::string& needle,
                                   std::chrono::milliseconds timeout) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  do {
    if (stdout_text().find(needle) != std::string::npos ||
        stderr_text().find(needle) != std::string::npos) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  } while (std::chrono::steady_clock::now() < deadline);
  return false;
}

// Never the same port twice in one process: the kernel may hand a port just
// closed out again, and two endpoints on one port make the second bind fail.
int free_port() {
  static std::mutex mutex;
  static std::set<int> given;
  std::lock_guard lock(mutex);
  while (true) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    socklen_t len = sizeof(addr);
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    int port = ntohs(addr.sin_port);
    close(fd);
    if (given.insert(port).second) return port;
  }
}

TestBus make_test_bus(const std::string& extra_yaml) {
  TestBus bus;
  bus.dir = make_temp_dir("nightshift-bus");
  auto endpoint = [] { return "tcp://127.0.0.1:" + std::to_string(free_port()); };
  auto& b = bus.config.bus;
  b.events_in = endpoint();
  b.events_out = endpoint();
  b.jobs_in = endpoint();
  b.jobs_out = endpoint();
  b.results_in = endpoint();
  b.results_out = endpoint();
  b.control = endpoint();
  b.heartbeat_ivl_ms = 200;
  b.heartbeat_timeout_ms = 1000;
  b.heartbeat_ttl_ms = 2000;
  b.linger_ms = 100;
  bus.config.storage.results_db = bus.dir + "/nightshift.db";
  bus.config.storage.market_db = bus.dir + "/market.db";
  bus.config.storage.artifacts_dir = bus.dir + "/models";
  bus.config.storage.backups_dir = bus.dir + "/backups";
  bus.config.fetcher.dataset_endpoint = endpoint();
  bus.config.dashboard.port = free_port();
  YAML::Node root;
  root["bus"]["events_in"] = b.events_in;
  root["bus"]["events_out"] = b.events_out;
  root["bus"]["jobs_in"] = b.jobs_in;
  root["bus"]["jobs_out"] = b.jobs_out;
  root["bus"]["results_in"] = b.results_in;
  root["bus"]["results_out"] = b.results_out;
  root["bus"]["control"] = b.control;
  root["bus"]["heartbeat_ivl_ms"] = b.heartbeat_ivl_ms;
  root["bus"]["heartbeat_timeout_ms"] = b.heartbeat_timeout_ms;
  root["bus"]["heartbeat_ttl_ms"] = b.heartbeat_ttl_ms;
  root["bus"]["linger_ms"] = b.linger_ms;
  root["storage"]["results_db"] = bus.config.storage.results_db;
  root["storage"]["market_db"] = bus.config.storage.market_db;
  root["storage"]["artifacts_dir"] = bus.config.storage.artifacts_dir;
  root["storage"]["backups_dir"] = bus.config.storage.backups_dir;
  root["fetcher"]["dataset_endpoint"] = bus.config.fetcher.dataset_endpoint;
  root["dashboard"]["port"] = bus.config.dashboard.port;
  if (!extra_yaml.empty()) merge(root, YAML::Load(extra_yaml));
  std::ostringstream yaml;
  yaml << root;
  bus.config_path = bus.dir + "/nightshift.yaml";
  std::ofstream(bus.config_path) << yaml.str() << "\n";
  auto loaded = config::load_config(bus.config_path);
  if (!loaded) throw std::runtime_error("test config invalid: " + loaded.error());
  bus.config = *loaded;
  return bus;
}

}  // namespace nightshift::testing
