// Writes a seed corpus of valid frames (one per message type) for the fuzzer.
#include <fstream>
#include <string>

#include "schema/codec.h"
#include "schema/data_messages.h"
#include "schema/event_messages.h"
#include "schema/job_messages.h"
#include "schema/telemetry_messages.h"

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  std::string dir = argv[1];
  nightshift::Header h;
  h.src = {"host", "corpus", 1};
  int n = 0;
  auto write = [&](const std::string& bytes) {
    std::ofstream(dir + "/seed" + std::to_string(n++), std::ios::binary) << bytes;
  };
  nightshift::GpuSample gpu;
  gpu.temp_c = 55;
  gpu.unavailable["fan_rpm"] = "not supported";
  write(nightshift::encode(h, gpu));
  nightshift::HostSample host;
  host.disks.push_back({"/", 1, 2});
  write(nightshift::encode(h, host));
  nightshift::Job job;
  job.params["C"] = 1.0;
  write(nightshift::encode(h, job));
  nightshift::JobResult result;
  result.folds.push_back({{{"auc", 0.5}}, 1, 1});
  write(nightshift::encode(h, result));
  nightshift::JobsPersisted persisted;
  persisted.run = "r";
  persisted.jobs.push_back(nightshift::JobEvent{{"r", "s", 1}, "persisted", 1, "", "w"});
  write(nightshift::encode(h, persisted));
  write(nightshift::encode(h, nightshift::Event{"e", {{"k", "v"}}}));
  nightshift::DatasetReply reply;
  reply.bars.push_back({1, 1, 1, 1, 1, 1});
  reply.bars.push_back({2, 2, 2, 2, 2, 2});
  write(nightshift::encode(h, reply));
  write(nightshift::encode(h, nightshift::Alert{}));
  return 0;
}
