#include "broker/stage_watch.h"

#include "base/process.h"
#include "schema/event_messages.h"
#include "schema/topics.h"

namespace nightshift::bus {

std::optional<std::string> persister_problem(const Envelope& envelope) {
  const Header& header = envelope.frame.header;
  if (header.src.stage != "persister" || header.type != Event::kType) return std::nullopt;
  auto alive = decode_payload<Event>(envelope.frame);
  if (!alive || alive->name != "alive") return std::nullopt;
  auto stalled = alive->attrs.find("stalled");
  if (stalled == alive->attrs.end() || stalled->second != "true") return std::string();
  auto problem = alive->attrs.find("problem");
  return problem != alive->attrs.end() ? problem->second : std::string("persister cannot commit");
}

HeardStages hear_stages(const config::BusConfig& bus, std::chrono::milliseconds window,
                        bool until_core_heard) {
  HeardStages heard;
  zmq::context_t context(1);
  auto sub = Subscriber::connect(context, bus, {"worker.", "stage.", "telemetry."});
  if (!sub) return heard;
  auto deadline = std::chrono::steady_clock::now() + window;
  while (std::chrono::steady_clock::now() < deadline && !stop_requested()) {
    if (until_core_heard && heard.stages.count("persister") && heard.stages.count("scheduler")) break;
    auto e = sub->receive(std::chrono::milliseconds(100));
    if (!e) continue;
    const Header& header = e->frame.header;
    if (e->topic.rfind("worker.", 0) == 0) {
      heard.stages["worker " + header.src.host + "/" + std::to_string(header.src.pid)] = header.ts_ns;
      heard.hosts[header.src.host].workers.insert(header.src.pid);
    } else if (e->topic.rfind("telemetry.", 0) == 0) {
      heard.stages["telemetry"] = header.ts_ns;
      heard.hosts[header.src.host].telemetry = true;
    } else {
      heard.stages[header.src.stage] = header.ts_ns;
      if (auto problem = persister_problem(*e)) {
        heard.persister_problem = std::move(*problem);
        if (auto alive = decode_payload<Event>(e->frame)) {
          auto refused = alive->attrs.find("refused");
          if (refused != alive->attrs.end()) heard.persister_refused = refused->second;
        }
      }
    }
  }
  return heard;
}

Result<RunWatch> RunWatch::connect(zmq::context_t& context, const config::BusConfig& bus,
                                   const std::string& run) {
  auto subscriber = Subscriber::connect(
      context, bus, {topics::run_progress(run), "stage." + topics::segment(host_name()) + ".persister"});
  if (!subscriber) return subscriber.take_error();
  return RunWatch(std::move(*subscriber));
}

std::optional<RunWatch::Update> RunWatch::receive(std::chrono::milliseconds timeout) {
  auto envelope = subscriber_.receive(timeout);
  if (!envelope) return std::nullopt;
  Update update;
  if (envelope->frame.header.type == RunProgress::kType) {
    auto progress = decode_payload<RunProgress>(envelope->frame);
    if (!progress) return std::nullopt;
    update.progress = std::move(*progress);
    return update;
  }
  update.persister_problem = persister_problem(*envelope);
  if (!update.persister_problem) return std::nullopt;
  return update;
}

}  // namespace nightshift::bus
