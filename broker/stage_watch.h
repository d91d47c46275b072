// What the operator's commands hear of a live night on the bus: which stages
// announced themselves (alive events, worker heartbeats, telemetry samples),
// the run's progress, and what the persister says of its commits (its alive
// events carry "stalled" and the problem while commits fail, e.g. disk full).
#pragma once

#include <zmq.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "broker/bus.h"
#include "config/config.h"
#include "schema/job_messages.h"

namespace nightshift::bus {

// For a persister's alive event: its problem ("" while commits succeed, e.g.
// "persister cannot commit: disk full (12 results waiting)"). nullopt for
// any other message.
std::optional<std::string> persister_problem(const Envelope& envelope);

struct HeardStages {
  std::map<std::string, int64_t> stages;  // "worker host/pid", "persister", ... -> last ts_ns
  std::string persister_problem;          // as its last alive event said
  std::string persister_refused;          // messages it refused (forged or invalid), "" unheard
  // Per host (src.host): the workers heard (by pid) and whether telemetry was.
  struct Host {
    std::set<int64_t> workers;
    bool telemetry = false;
  };
  std::map<std::string, Host> hosts;
};

// Listens for `window` (less once the persister and scheduler have been
// heard, when `until_core_heard`).
HeardStages hear_stages(const config::BusConfig& bus, std::chrono::milliseconds window,
                        bool until_core_heard = false);

// The supervisor's view of its run: progress and the persister's problem.
class RunWatch {
 public:
  static Result<RunWatch> connect(zmq::context_t& context, const config::BusConfig& bus,
                                  const std::string& run);
  struct Update {
    std::optional<RunProgress> progress;
    std::optional<std::string> persister_problem;
  };
  // The next message of either kind within `timeout`.
  std::optional<Update> receive(std::chrono::milliseconds timeout);

 private:
  explicit RunWatch(Subscriber subscriber) : subscriber_(std::move(subscriber)) {}
  Subscriber subscriber_;
};

}  // namespace nightshift::bus
