// nightshift replay RUN | replay-ctl RUN COMMAND
#include <chrono>
#include <iostream>
#include <memory>

#include "apps/cli_context.h"
#include "broker/control_client.h"
#include "stages/replay/replay_control.h"
#include "stages/replay/replay_stage.h"

namespace nightshift::cli {
namespace {

struct ReplayCliOptions {
  replay::ReplayOptions replay;
  double speed = 1.0;
  bool max_speed = false;
  bool no_keys = false;
  double warmup_s = 0.5;
};

struct ReplayCtlOptions {
  std::string run;
  std::vector<std::string> words;
  double timeout_s = 3;
};

int run_replay_ctl(const GlobalOptions& global, const ReplayCtlOptions& options) {
  auto config = begin_command("replay-ctl", global, StopSignals::default_);
  if (!config) return 2;
  std::string command;
  for (const auto& word : options.words) command += (command.empty() ? "" : " ") + word;
  if (auto parsed = replay::parse_command(command); !parsed) {
    std::cerr << "nightshift replay-ctl: " << parsed.error() << "\n";
    return 2;
  }
  zmq::context_t context(1);
  auto endpoint = replay::control_endpoint(*config, options.run);
  auto reply = bus::ask_endpoint(context, endpoint, config->bus,
                                 std::chrono::milliseconds(static_cast<int64_t>(options.timeout_s * 1000)),
                                 command);
  if (!reply) {
    std::cerr << "nightshift replay-ctl: no replay of run '" << options.run
              << "' answered: " << reply.error() << "\n";
    return 1;
  }
  std::cout << *reply << "\n";
  return reply->find("\"error\"") == std::string::npos ? 0 : 1;
}

}  // namespace

void add_replay_commands(CLI::App& app, GlobalOptions& global, int& exit_code) {
  auto options = std::make_shared<ReplayCliOptions>();
  auto* replay = app.add_subcommand(
      "replay", "Put a stored run's events back on the bus under replay.<topic>, with the "
                "stored timing divided by --speed (see docs/replay.md)");
  replay->add_option("run", options->replay.run, "Run id (nightshift runs lists them)")->required();
  auto* speed = replay->add_option("--speed", options->speed, "Times faster than it happened")
                    ->check(CLI::Range(1e-3, 1e6));
  replay->add_flag("--max-speed", options->max_speed, "As fast as the bus takes them")
      ->excludes(speed);
  replay->add_option("--topics", options->replay.topics,
                     "Only events whose original topic starts with one of these prefixes");
  replay->add_option("--from", options->replay.from,
                     "Start here: offset from the run's first event (90s, 5m) or UTC time");
  replay->add_option("--to", options->replay.to, "Stop after this point (same forms as --from)");
  replay->add_flag("--loop", options->replay.loop, "Start again from --from at the end");
  replay->add_flag("--no-keys", options->no_keys, "Do not read keys even on a terminal");
  replay->add_option("--warmup", options->warmup_s,
                     "Seconds between connecting and the first event (subscriptions settle)")
      ->check(CLI::Range(0.0, 60.0));
  replay->callback([&, options] {
    auto config = begin_command("replay", global);
    if (!config) {
      exit_code = 2;
      return;
    }
    options->replay.speed = options->max_speed ? 0 : options->speed;
    options->replay.keys = !options->no_keys;
    options->replay.warmup = std::chrono::milliseconds(static_cast<int64_t>(options->warmup_s * 1000));
    exit_code = replay::run_replay_stage(*config, options->replay);
  });

  auto ctl = std::make_shared<ReplayCtlOptions>();
  auto* replay_ctl = app.add_subcommand(
      "replay-ctl", "Steer a running replay: pause | resume | seek T | speed X | status");
  replay_ctl->add_option("run", ctl->run, "The replayed run's id")->required();
  replay_ctl->add_option("command", ctl->words, "pause, resume, seek T, speed X (or max), status")
      ->required();
  replay_ctl->add_option("--timeout", ctl->timeout_s, "Seconds to wait for the replay to answer")
      ->check(CLI::PositiveNumber);
  replay_ctl->callback([&, ctl] { exit_code = run_replay_ctl(global, *ctl); });
}

}  // namespace nightshift::cli
