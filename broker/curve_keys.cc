#include "broker/curve_keys.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <zmq.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "base/private_dir.h"

namespace nightshift::bus {
namespace {

namespace fs = std::filesystem;

bool valid_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '_' || c == '.';
  }) && name[0] != '.';
}

bool valid_z85_key(const std::string& text) {
  uint8_t raw[32];
  return text.size() == 40 && zmq_z85_decode(raw, text.c_str()) != nullptr;
}

// `key = "value"` lines; # comments. Unknown keys are kept, not refused.
Result<std::map<std::string, std::string>> read_fields(const std::string& path) {
  std::ifstream in(path);
  if (!in) return make_error(ErrorKind::not_found, path + ": cannot read (missing?)");
  std::map<std::string, std::string> fields;
  int number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    auto eq = line.find('=');
    if (eq == std::string::npos) {
      return make_error(ErrorKind::invalid_input,
                        path + ":" + std::to_string(number) + ": expected key = \"value\"");
    }
    auto trim = [](std::string t) {
      t.erase(0, t.find_first_not_of(" \t"));
      t.erase(t.find_last_not_of(" \t\r") + 1);
      if (t.size() >= 2 && t.front() == '"' && t.back() == '"') t = t.substr(1, t.size() - 2);
      return t;
    };
    fields[trim(line.substr(0, eq))] = trim(line.substr(eq + 1));
  }
  return fields;
}

Status write_file(const std::string& path, const std::string& text, mode_t mode) {
  std::error_code ec;
  if (fs::exists(path, ec)) return make_error(ErrorKind::busy, path + ": exists; not overwritten");
  // Created with its final mode: a secret is never readable by others, not
  // even for the moment between open and chmod.
  mode_t old = umask(0077);
  std::ofstream out(path);
  umask(old);
  if (!out) return make_error(ErrorKind::unavailable, path + ": cannot write");
  out << text;
  out.close();
  if (!out || chmod(path.c_str(), mode) != 0) {
    return make_error(ErrorKind::unavailable, path + ": cannot write");
  }
  return Status::success();
}

bool loopback_endpoint(const std::string& endpoint) {
  if (endpoint.rfind("tcp://", 0) != 0) return true;  // ipc, inproc: this host only
  std::string host = endpoint.substr(6);
  host = host.substr(0, host.rfind(':'));
  return host.rfind("127.", 0) == 0 || host == "localhost" || host == "[::1]";
}

}  // namespace

const std::vector<std::string>& curve_roles() {
  static const std::vector<std::string> roles = {"head", "worker", "telemetry"};
  return roles;
}

bool role_may(const std::string& role, const std::string& domain) {
  if (role.empty() || role == "head") return true;
  if (role == "worker") {
    return domain == "events_in" || domain == "events_out" || domain == "jobs_out" ||
           domain == "results_in" || domain == "control" || domain == "dataset";
  }
  if (role == "telemetry") return domain == "events_in" || domain == "control";
  return false;
}

Result<std::string> generate_key_pair(const std::string& dir, const std::string& name,
                                      const std::string& role) {
  if (!valid_name(name)) {
    return make_error(ErrorKind::invalid_input,
                      "key name '" + name + "': use letters, digits, '-', '_' and '.'");
  }
  if (!role.empty() && std::find(curve_roles().begin(), curve_roles().end(), role) ==
                           curve_roles().end()) {
    return make_error(ErrorKind::invalid_input,
                      "role '" + role + "': expected head, worker or telemetry");
  }
  if (std::string why = make_private_dir(dir); !why.empty()) {
    return make_error(ErrorKind::unavailable, dir + ": " + why);
  }
  char public_key[41];
  char secret_key[41];
  if (zmq_curve_keypair(public_key, secret_key) != 0) {
    return make_error(ErrorKind::unavailable,
                      "this libzmq cannot make CURVE keys (zmq_has(\"curve\") is false)");
  }
  std::string header = "# nightshift CURVE key '" + name + "'\n";
  std::string role_line = role.empty() ? "" : "role = \"" + role + "\"\n";
  std::string pub = header + role_line + "public-key = \"" + public_key + "\"\n";
  std::string sec = header + "# SECRET: keep on this host, mode 0600\n" + role_line +
                    "public-key = \"" + public_key + "\"\nsecret-key = \"" + secret_key + "\"\n";
  std::string base = (fs::path(dir) / name).string();
  if (Status s = write_file(base + ".key_secret", sec, 0600); !s) return s.take_error();
  if (Status s = write_file(base + ".key", pub, 0644); !s) return s.take_error();
  return base + ".key";
}

Result<PublicKeyFile> read_public_key_file(const std::string& path) {
  auto fields = read_fields(path);
  if (!fields) return fields.take_error();
  if (fields->count("secret-key")) {
    return make_error(ErrorKind::invalid_input,
                      path + ": holds a secret key; authorize the public NAME.key instead");
  }
  PublicKeyFile key;
  key.name = fs::path(path).stem().string();
  key.public_key = (*fields)["public-key"];
  if (!valid_z85_key(key.public_key)) {
    return make_error(ErrorKind::invalid_input, path + ": no valid public-key (40 Z85 characters)");
  }
  key.role = (*fields)["role"];
  if (!key.role.empty() &&
      std::find(curve_roles().begin(), curve_roles().end(), key.role) == curve_roles().end()) {
    return make_error(ErrorKind::invalid_input,
                      path + ": role '" + key.role + "': expected head, worker or telemetry");
  }
  std::stringstream from((*fields)["from"]);
  for (std::string address; std::getline(from, address, ',');) {
    address.erase(0, address.find_first_not_of(' '));
    address.erase(address.find_last_not_of(' ') + 1);
    if (!address.empty()) key.from.push_back(address);
  }
  return key;
}

Result<std::string> authorize_key(const std::string& file, const std::string& dir) {
  auto key = read_public_key_file(file);
  if (!key) return key.take_error();
  if (std::string why = make_private_dir(dir); !why.empty()) {
    return make_error(ErrorKind::unavailable, dir + ": " + why);
  }
  std::string target = (fs::path(dir) / (key->name + ".key")).string();
  std::error_code ec;
  fs::copy_file(file, target, fs::copy_options::overwrite_existing, ec);
  if (ec) return make_error(ErrorKind::unavailable, target + ": " + ec.message());
  return target;
}

std::vector<PublicKeyFile> read_authorized_keys(const std::string& dir,
                                                std::vector<std::string>* problems) {
  std::vector<PublicKeyFile> keys;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() != ".key") continue;
    auto key = read_public_key_file(entry.path().string());
    if (key) {
      keys.push_back(std::move(*key));
    } else if (problems) {
      problems->push_back(key.error());
    }
  }
  std::sort(keys.begin(), keys.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  return keys;
}

Status load_security(config::Config& config) {
  const auto& security = config.security;
  std::vector<std::string> endpoints = {config.bus.events_in,  config.bus.events_out,
                                        config.bus.jobs_in,    config.bus.jobs_out,
                                        config.bus.results_in, config.bus.results_out,
                                        config.bus.control,    config.fetcher.dataset_endpoint};
  if (!security.curve) {
    for (const auto& endpoint : endpoints) {
      if (loopback_endpoint(endpoint)) continue;
      if (!security.insecure) {
        return make_error(ErrorKind::invalid_input,
                          "security: " + endpoint +
                              " is reachable from other hosts without CURVE; set "
                              "security.curve: true (or security.insecure: true to let anyone "
                              "who reaches it use the bus)");
      }
      spdlog::warn("security.insecure: {} is reachable from other hosts and not authenticated: "
                   "anyone who reaches it can read jobs and push results",
                   endpoint);
      break;
    }
    return Status::success();
  }
  if (!zmq_has("curve")) {
    return make_error(ErrorKind::unavailable,
                      "security.curve is on but this libzmq has no CURVE support "
                      "(zmq_has(\"curve\") is false)");
  }
  struct stat st{};
  if (stat(security.secret_key_file.c_str(), &st) != 0) {
    return make_error(ErrorKind::not_found,
                      "security.secret_key_file: " + security.secret_key_file +
                          ": missing (make one with `nightshift keys generate NAME`)");
  }
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return make_error(ErrorKind::invalid_input,
                      "security.secret_key_file: " + security.secret_key_file +
                          " is readable by group or others (mode " + mode + "); chmod 600 it");
  }
  auto secret = read_fields(security.secret_key_file);
  if (!secret) return secret.take_error();
  std::string secret_key = (*secret)["secret-key"];
  char public_key[41];
  if (!valid_z85_key(secret_key) || zmq_curve_public(public_key, secret_key.c_str()) != 0) {
    return make_error(ErrorKind::invalid_input, "security.secret_key_file: " +
                                                    security.secret_key_file +
                                                    ": no valid secret-key (40 Z85 characters)");
  }
  auto server = read_public_key_file(security.server_key_file);
  if (!server) return make_error(server.error_kind(), "security.server_key_file: " + server.error());
  auto& curve = config.bus.curve;
  curve.enabled = true;
  curve.secret_key = secret_key;
  curve.public_key = public_key;
  curve.server_key = server->public_key;
  curve.authorized_keys_dir = security.authorized_keys_dir;
  return Status::success();
}

}  // namespace nightshift::bus
