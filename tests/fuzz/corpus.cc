#include "tests/fuzz/corpus.h"

#include "schema/codec.h"
#include "tests/fuzz/message_types.h"

namespace nightshift::fuzz {

template <>
HostSample corpus_sample() {
  HostSample host;
  host.host = "h";
  host.cpu_pct = 12.5;
  host.disks.push_back({"/", 1, 2});
  host.processes.push_back({42, "worker", 1 << 20, 50});
  return host;
}

template <>
GpuSample corpus_sample() {
  GpuSample gpu;
  gpu.host = "h";
  gpu.backend = "simulated";
  gpu.pci_bus_id = "0000:01:00.0";
  gpu.temp_c = 55;
  gpu.mem_used_bytes = 1 << 30;
  gpu.unavailable["fan_rpm"] = "not supported";
  return gpu;
}

template <>
GpuInventory corpus_sample() {
  GpuInventory inventory;
  inventory.host = "h";
  inventory.backends.push_back({"nvml", false, "libnvidia-ml.so.1 not found", 0});
  inventory.backends.push_back({"simulated", true, "", 1});
  inventory.devices.push_back({0, "simulated", "Simulated GPU", true, "0000:01:00.0", 8u << 30});
  return inventory;
}

template <>
Alert corpus_sample() {
  return Alert{"warning", "firing", "h", "gpu0.temp_c", 75, 70, "hot"};
}

template <>
Job corpus_sample() {
  Job job;
  job.key = {"r", "BTCUSDT.1h.h1.logreg_l2", 3};
  job.kind = nightshift::JobKind::trial;
  job.params["C"] = 1.0;
  job.cv.scheme = CvScheme::purged_kfold;
  job.feature_spec = "ohlcv_basic/v1";
  job.memory_probe = MemoryProbe{1, 0};
  job.dispatch_token = "0123456789abcdef0123456789abcdef";
  return job;
}

template <>
JobResult corpus_sample() {
  JobResult result;
  result.folds.push_back({{{"auc", 0.5}}, 1, 1});
  result.dispatch_token = "0123456789abcdef0123456789abcdef";
  return result;
}

template <>
Heartbeat corpus_sample() {
  Heartbeat beat;
  beat.host = "h";
  beat.worker_id = "1";
  beat.current_job = JobKey{"r", "s", -1};
  return beat;
}

template <>
JobEvent corpus_sample() {
  return JobEvent{{"r", "s", 1}, JobStep::failed, 2, "timeout", "w"};
}

template <>
JobsPersisted corpus_sample() {
  JobsPersisted persisted;
  persisted.run = "r";
  persisted.jobs.push_back(PersistedResult{{"r", "s", 1}, 1, ResultStatus::ok, "", "w"});
  persisted.jobs.push_back(PersistedResult{{"r", "s", 2}, 3, ResultStatus::failed, "boom", "w"});
  return persisted;
}

template <>
RunProgress corpus_sample() {
  RunProgress progress;
  progress.run = "r";
  progress.total = 10;
  progress.done = 4;
  progress.eta_s = 12.5;
  return progress;
}

template <>
RunCheckpoint corpus_sample() {
  RunCheckpoint checkpoint;
  checkpoint.run = "r";
  checkpoint.status = nightshift::RunStatus::running;
  checkpoint.jobs.push_back({corpus_sample<Job>(), WorkState::pending, ""});
  checkpoint.dispatch_key = std::string(64, 'a');
  return checkpoint;
}

template <>
Event corpus_sample() {
  return Event{"e", {{"k", "v"}}};
}

template <>
DataNotice corpus_sample() {
  return DataNotice{"ready", "synthetic", "BTCUSDT", "1h", 100, ""};
}

template <>
DatasetRequest corpus_sample() {
  DatasetRequest request;
  request.source = "synthetic";
  request.symbol = "BTCUSDT";
  request.timeframe = "1h";
  request.have_fingerprint = "abc";
  return request;
}

template <>
DatasetReply corpus_sample() {
  DatasetReply reply;
  reply.status = "ok";
  reply.bars.ts = {1, 2};
  reply.bars.open = reply.bars.high = reply.bars.low = reply.bars.close = reply.bars.volume = {1, 2};
  return reply;
}

std::vector<std::string> corpus_frames() {
  Header header;
  header.src = {"host", "corpus", 1};
  std::vector<std::string> frames;
  for_each_type(MessageTypes{}, [&]<typename Payload>() {
    frames.push_back(encode(header, corpus_sample<Payload>()));
  });
  return frames;
}

}  // namespace nightshift::fuzz
