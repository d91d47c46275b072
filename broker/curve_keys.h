// CURVE key files and the security preamble every process runs.
//
// A key pair NAME is two text files (the format of czmq's certificates):
//   NAME.key         public-key = "<Z85>"  (+ optional role = "...", from = "...")
//   NAME.key_secret  public-key and secret-key = "<Z85>", mode 0600
// `role` limits what a key may do on the head (curve_roles below); `from`
// lists the source addresses (IPv4, IPv4/CIDR or exact text) it may come from.
#pragma once

#include <string>
#include <vector>

#include "config/config.h"
#include "schema/result.h"

namespace nightshift::bus {

struct PublicKeyFile {
  std::string name;        // file name without .key
  std::string public_key;  // Z85, 40 characters
  std::string role;        // empty: any
  std::vector<std::string> from;  // empty: any address
};

// Roles a key file may name. "head" may do everything; "worker" pulls jobs,
// pushes results, publishes and subscribes, asks the dataset service;
// "telemetry" publishes events and pings the broker.
const std::vector<std::string>& curve_roles();
// Whether `role` (empty: any) may use the bound endpoint named `domain`
// (events_in, events_out, jobs_in, jobs_out, results_in, results_out,
// control, dataset).
bool role_may(const std::string& role, const std::string& domain);

// Writes DIR/NAME.key and DIR/NAME.key_secret (0600). Refuses to overwrite.
Result<std::string> generate_key_pair(const std::string& dir, const std::string& name,
                                      const std::string& role);
// Reads a public key file; refuses one that holds a secret key.
Result<PublicKeyFile> read_public_key_file(const std::string& path);
// Copies a public key file into `dir` (0700 folder) as NAME.key.
Result<std::string> authorize_key(const std::string& file, const std::string& dir);
// Every *.key in `dir`; a file that does not parse is an error line in `problems`.
std::vector<PublicKeyFile> read_authorized_keys(const std::string& dir,
                                                std::vector<std::string>* problems);

// The security preamble: with security.curve, checks libzmq has CURVE, loads
// this process's key pair (refusing a missing file or one readable by group
// or others) and the head's public key into config.bus.curve. Without it, a
// tcp endpoint reachable from other hosts is refused unless
// security.insecure, and then warned about. Errors are one line.
Status load_security(config::Config& config);

}  // namespace nightshift::bus
