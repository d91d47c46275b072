// The replay stage: puts a stored run's events back on the bus.
//
// Reads the run's events from the results database in order (schema/
// event_log.h: a paged cursor, constant memory) and publishes each under
// replay.<original topic>, its stored body unchanged but for one added
// entry, "replay" (schema/envelope.h ReplayPosition), so the original header
// (ts, src, seq) travels with the replay's own position. The gaps between
// events are the stored gaps divided by the speed (replay_clock.h); at max
// speed the publisher waits at its high-water mark instead of dropping.
//
// Steered while it runs through its control endpoint (replay_control.h,
// `nightshift replay-ctl`) and, on a terminal, keys. Progress goes to
// stderr and as an Event on replay.<run>.progress about once a second.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "config/config.h"

namespace nightshift::replay {

struct ReplayOptions {
  std::string run;
  double speed = 1.0;               // 0: as fast as possible (--max-speed)
  std::vector<std::string> topics;  // prefixes of original topics; empty: all
  std::string from;                 // replay_time.h; empty: the run's first event
  std::string to;                   // empty: its last
  bool loop = false;
  bool keys = true;                 // read keys when stdin is a terminal
  // Publishers' messages are dropped until the broker has passed the
  // subscriptions on: how long to wait after connecting before the first.
  std::chrono::milliseconds warmup{500};
};

// The stage's whole life. An unknown run, an empty range, a database of a
// newer nightshift or a broker that does not answer: one line on stderr and
// exit 1. Returns the process exit code.
int run_replay_stage(const config::Config& config, const ReplayOptions& options);

// "replay.<run>.progress"
std::string progress_topic(const std::string& run);

}  // namespace nightshift::replay
