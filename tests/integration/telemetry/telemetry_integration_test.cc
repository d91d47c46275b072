// The telemetry stage as a real process behind a real broker: sample rate,
// alert + recovery without flapping, inventory on start and on request, and
// the operator commands (`gpu --json`, `check`).
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "broker/bus.h"
#include "schema/event_messages.h"
#include "schema/telemetry_messages.h"
#include "schema/topics.h"
#include "base/process.h"
#include "tests/support/child_process.h"

namespace nightshift {
namespace {

using namespace std::chrono_literals;
using testing::ChildProcess;
using Clock = std::chrono::steady_clock;

// Vendor libraries and a sysfs tree that exist nowhere, so a test that wants
// every vendor backend unavailable gets that on any host, GPUs or not.
constexpr const char* kNoVendorLibraries =
    "  nvml_library: /nonexistent/libnvidia-ml.so.1\n"
    "  levelzero_library: /nonexistent/libze_loader.so.1\n"
    "  rocm_library: /nonexistent/librocm_smi64.so\n"
    "  sysfs_root: /nonexistent\n";

class TelemetryStageTest : public ::testing::Test {
 protected:
  void start_bus(const std::string& telemetry_yaml) {
    bus_ = testing::make_test_bus(telemetry_yaml);
    broker_ = start({"broker"});
    ASSERT_TRUE(broker_->wait_for_output("broker up", 5s)) << broker_->stderr_text();
  }

  std::unique_ptr<ChildProcess> start(std::vector<std::string> args) {
    args.insert(args.begin(), {testing::nightshift_binary(), "--config", bus_.config_path});
    return std::make_unique<ChildProcess>(args);
  }

  bus::Subscriber subscribe(const std::vector<std::string>& prefixes) {
    auto sub = bus::Subscriber::connect(context_, bus_.config.bus, prefixes);
    EXPECT_TRUE(sub.ok());
    std::this_thread::sleep_for(300ms);  // let the subscription reach the broker
    return std::move(*sub);
  }

  zmq::context_t context_{1};
  testing::TestBus bus_;
  std::unique_ptr<ChildProcess> broker_;
};

TEST_F(TelemetryStageTest, PublishesAtTheConfiguredRate) {
  start_bus("telemetry:\n  interval_ms: 100\n  backends: [simulated]\n  simulated:\n    gpus: 2\n");
  auto sub = subscribe({"telemetry.gpu", "telemetry.host"});
  auto stage = start({"telemetry"});
  ASSERT_TRUE(sub.receive(5s).has_value()) << stage->stderr_text();

  std::map<std::string, int> counts;
  auto end = Clock::now() + 5s;
  while (Clock::now() < end) {
    auto env = sub.receive(100ms);
    if (!env) continue;
    ++counts[env->topic];
    if (env->frame.header.type == GpuSample::kType) {
      auto gpu = decode_payload<GpuSample>(env->frame);
      ASSERT_TRUE(gpu.ok()) << gpu.error();
      EXPECT_TRUE(gpu->simulated);
      EXPECT_EQ(gpu->backend, "simulated");
      EXPECT_EQ(env->topic, topics::telemetry_gpu(host_name(), gpu->index));
    }
  }
  // 10 Hz over 5 s: 50 samples per topic, ±20 %.
  std::string host = host_name();
  for (const auto& topic : {topics::telemetry_host(host), topics::telemetry_gpu(host, 0),
                            topics::telemetry_gpu(host, 1)}) {
    EXPECT_GE(counts[topic], 40) << topic;
    EXPECT_LE(counts[topic], 60) << topic;
  }
  EXPECT_EQ(counts.size(), 3u);
  EXPECT_EQ(stage->stop(), 0);  // SIGTERM: clean exit
}

// The stage sleeps in one ppoll per interval with SIGTERM let through only
// there: a stop signal must end that wait at once, not at the next sample.
TEST_F(TelemetryStageTest, StopsPromptlyInTheMiddleOfALongInterval) {
  start_bus("telemetry:\n  interval_ms: 60000\n  backends: [simulated]\n");
  auto sub = subscribe({"telemetry.host"});
  auto stage = start({"telemetry"});
  ASSERT_TRUE(sub.receive(5s).has_value()) << stage->stderr_text();  // the first sample
  std::this_thread::sleep_for(200ms);
  auto stopped_at = Clock::now();
  EXPECT_EQ(stage->stop(), 0);
  EXPECT_LT(Clock::now() - stopped_at, 1s);
}

TEST_F(TelemetryStageTest, AlertAndRecoveryWithoutFlapping) {
  // 50 ms per sample, 5 samples per step: 60 → 85 (warning + critical fire),
  // wobbling 79/81 around the critical threshold (no new alerts), → 60 (both
  // resolve).
  start_bus(
      "telemetry:\n  interval_ms: 50\n  backends: [simulated]\n  disks: []\n"
      "  simulated:\n    gpus: 1\n    step_samples: 5\n"
      "    temp_profile_c: [60, 60, 60, 85, 79, 81, 79, 81, 79, 60]\n");
  auto sub = subscribe({"alert."});
  auto stage = start({"telemetry"});
  std::vector<std::pair<std::string, Alert>> alerts;
  auto end = Clock::now() + 5s;  // the profile ends after ~2.5 s + start-up
  while (Clock::now() < end) {
    auto env = sub.receive(100ms);
    if (!env) continue;
    auto alert = decode_payload<Alert>(env->frame);
    ASSERT_TRUE(alert.ok()) << alert.error();
    if (alert->metric == "gpu0.temp_c") alerts.emplace_back(env->topic, *alert);
  }
  ASSERT_EQ(alerts.size(), 4u) << stage->stderr_text();
  std::string host = topics::segment(host_name());
  EXPECT_EQ(alerts[0].first, "alert.warning." + host + ".gpu0_temp_c");
  EXPECT_EQ(alerts[0].second.state, "firing");
  EXPECT_EQ(alerts[0].second.value, 85);
  EXPECT_EQ(alerts[1].first, "alert.critical." + host + ".gpu0_temp_c");
  EXPECT_EQ(alerts[1].second.state, "firing");
  EXPECT_EQ(alerts[2].second.level, "critical");
  EXPECT_EQ(alerts[2].second.state, "resolved");
  EXPECT_EQ(alerts[2].second.value, 60);
  EXPECT_EQ(alerts[3].second.level, "warning");
  EXPECT_EQ(alerts[3].second.state, "resolved");
  EXPECT_EQ(stage->stop(), 0);
}

TEST_F(TelemetryStageTest, InventoryOnStartAndOnRequest) {
  start_bus(std::string("telemetry:\n  interval_ms: 200\n"
                        "  backends: [nvml, levelzero, rocm, simulated]\n") +
            kNoVendorLibraries);
  auto sub = subscribe({"telemetry.inventory"});
  auto stage = start({"telemetry"});
  auto first = sub.receive(5s);
  ASSERT_TRUE(first.has_value()) << stage->stderr_text();
  EXPECT_EQ(first->topic, "telemetry.inventory." + topics::segment(host_name()));
  auto inventory = decode_payload<GpuInventory>(first->frame);
  ASSERT_TRUE(inventory.ok()) << inventory.error();
  ASSERT_EQ(inventory->backends.size(), 4u);
  EXPECT_FALSE(inventory->backends[0].available);
  EXPECT_NE(inventory->backends[0].reason, "");
  EXPECT_TRUE(inventory->backends[3].available);
  ASSERT_EQ(inventory->devices.size(), 1u);
  EXPECT_TRUE(inventory->devices[0].simulated);

  auto publisher = bus::Publisher::connect(context_, bus_.config.bus, bus::self_source("test"));
  ASSERT_TRUE(publisher.ok());
  std::this_thread::sleep_for(300ms);  // PUB slow joiner
  Event request{"telemetry.inventory.request", {}};
  publisher->publish("telemetry.inventory.request", request);
  std::optional<bus::Envelope> again;
  auto end = Clock::now() + 5s;
  while (Clock::now() < end && !again) {
    auto env = sub.receive(100ms);
    if (env && env->frame.header.type == GpuInventory::kType) again = std::move(env);
  }
  ASSERT_TRUE(again.has_value());
  EXPECT_GT(again->frame.header.seq, first->frame.header.seq);
  EXPECT_EQ(stage->stop(), 0);
}

TEST_F(TelemetryStageTest, GpuJsonAndCheckSayWhyBackendsAreUnavailable) {
  bus_ = testing::make_test_bus(
      std::string("telemetry:\n  backends: [nvml, levelzero, rocm, simulated]\n") +
      kNoVendorLibraries);
  auto gpu = start({"gpu", "--json"});
  ASSERT_EQ(gpu->wait(30s), 0) << gpu->stderr_text();
  auto json = nlohmann::json::parse(gpu->stdout_text());
  ASSERT_EQ(json["gpus"].size(), 1u);
  EXPECT_EQ(json["gpus"][0]["backend"], "simulated");
  EXPECT_EQ(json["gpus"][0]["simulated"], true);
  EXPECT_TRUE(json["host"]["cpu_pct"].is_number());
  ASSERT_EQ(json["backends"].size(), 4u);
  EXPECT_EQ(json["backends"][0]["name"], "nvml");
  EXPECT_EQ(json["backends"][0]["available"], false);
  EXPECT_EQ(gpu->stderr_text(), "");

  auto check = start({"check"});
  ASSERT_EQ(check->wait(30s), 0) << check->stderr_text();
  std::string out = check->stdout_text();
  for (const char* name : {"nvml", "levelzero", "rocm", "sysfs", "simulated"}) {
    EXPECT_NE(out.find(std::string(name) + " "), std::string::npos) << out;
  }
  EXPECT_NE(out.find("unavailable"), std::string::npos) << out;
  EXPECT_EQ(check->stderr_text(), "");  // rsmi_init's complaints are swallowed
}

// The real binary against the fake vendor libraries: `gpu --json` shows the
// scripted values in wire units, and `check` names every unavailable field
// of every device with its reason.
TEST_F(TelemetryStageTest, GpuJsonAndCheckAgainstFakeVendorLibraries) {
  std::string fakes = FAKES_DIR;
  std::string yaml = "telemetry:\n  backends: [nvml, levelzero, rocm]\n";
  yaml += "  nvml_library: " + fakes + "/libnvidia-ml.so.1\n";
  yaml += "  levelzero_library: " + fakes + "/libze_loader.so.1\n";
  yaml += "  rocm_library: " + fakes + "/librocm_smi64.so\n";
  yaml += "  sysfs_root: /nonexistent\n";
  bus_ = testing::make_test_bus(yaml);
  auto write = [&](const std::string& name, const std::string& text) {
    std::string path = bus_.dir + "/" + name;
    std::ofstream(path) << text;
    return path;
  };
  std::map<std::string, std::string> env = {
      {"NIGHTSHIFT_FAKE_NVML",
       write("nvml.script",
             "count = 1\n0.name = Fake A100\n0.pci = 00000000:3B:00.0\n0.temp = 65\n"
             "0.util = 87\n0.power_mw = 251234\n0.energy_mj = 123456789\n0.fan_pct = 112\n"
             "0.memory_v2 = !999\n0.memory_v1 = ok\n0.mem_total = 17179869184\n"
             "0.mem_v1_used = 4294967296\n")},
      {"NIGHTSHIFT_FAKE_LEVEL_ZERO",
       write("level_zero.script",
             "count = 1\n0.name = Intel Arc A770\n0.pci = 0000:04:00.0\n0.power = tile0\n"
             "0.card_power = ok\n0.energy.card = 1000000, 151000000\n"
             "0.energy_ts.card = 1000000, 2000000\n0.memory = device system\n"
             "0.mem.0.size = 16106127360\n0.mem.0.free = 12884901888\n"
             "0.mem.1.size = 1000\n0.mem.1.free = 1\n")},
      {"NIGHTSHIFT_FAKE_ROCM",
       write("rocm.script",
             "count = 1\nversion = 1\nabi = 6\n0.name = Fake MI300X\n0.bdfid = 0x300\n"
             "0.temp.junction = 71000\n0.power_ave = !2\n0.socket_power = 95500000\n"
             "0.sclk = 0 500000000 2100000000 / 2\n")}};
  std::vector<std::string> args = {testing::nightshift_binary(), "--config", bus_.config_path};
  args.push_back("gpu");
  args.push_back("--json");
  ChildProcess gpu(args, env);
  ASSERT_EQ(gpu.wait(30s), 0) << gpu.stderr_text();
  EXPECT_EQ(gpu.stderr_text(), "");
  auto json = nlohmann::json::parse(gpu.stdout_text());
  ASSERT_EQ(json["gpus"].size(), 3u) << json.dump(2);
  const auto& nvml = json["gpus"][0];
  EXPECT_EQ(nvml["backend"], "nvml");
  EXPECT_EQ(nvml["pci_bus_id"], "0000:3b:00.0");
  EXPECT_EQ(nvml["temp_c"], 65.0);
  EXPECT_EQ(nvml["util_pct"], 87.0);
  EXPECT_EQ(nvml["power_w"], 251.234);
  EXPECT_EQ(nvml["energy_j"], 123456.789);
  EXPECT_EQ(nvml["fan_pct"], 100.0);
  EXPECT_EQ(nvml["mem_used_bytes"], 4294967296u);
  EXPECT_EQ(nvml["mem_used_source"], "nvml_v1_includes_reserved");
  const auto& intel = json["gpus"][1];
  EXPECT_EQ(intel["backend"], "levelzero");
  EXPECT_EQ(intel["power_w"], 150.0);
  EXPECT_EQ(intel["energy_j"], 151.0);
  EXPECT_EQ(intel["mem_used_bytes"], 3221225472u);
  EXPECT_EQ(intel["mem_total_bytes"], 16106127360u);
  const auto& amd = json["gpus"][2];
  EXPECT_EQ(amd["backend"], "rocm");
  EXPECT_EQ(amd["pci_bus_id"], "0000:03:00.0");
  EXPECT_EQ(amd["temp_c"], 71.0);
  EXPECT_EQ(amd["power_w"], 95.5);
  EXPECT_EQ(amd["sm_clock_mhz"], 2100.0);

  args.resize(3);
  args.push_back("check");
  ChildProcess check(args, env);
  ASSERT_EQ(check.wait(30s), 0) << check.stderr_text();
  std::string out = check.stdout_text();
  EXPECT_NE(out.find("nvml       usable       1 device(s)"), std::string::npos) << out;
  std::size_t explained = 0;
  for (const auto& g : json["gpus"]) {
    for (const auto& [field, why] : g["unavailable"].items()) {
      if (field == "power_w" || field == "util_pct") continue;  // rates: check reads once
      std::string line = "gpu" + std::to_string(g["index"].get<int>()) + " " + field;
      EXPECT_NE(out.find(line), std::string::npos) << line << "\n" << out;
      EXPECT_NE(out.find(why.get<std::string>()), std::string::npos) << why << "\n" << out;
      ++explained;
    }
  }
  EXPECT_GT(explained, 10u) << out;
  EXPECT_EQ(check.stderr_text(), "");
}

// `gpu --watch` refreshes until a stop signal, then exits 0 at once (it does
// not finish sleeping out the interval first).
TEST_F(TelemetryStageTest, GpuWatchRefreshesUntilInterrupted) {
  bus_ = testing::make_test_bus("telemetry:\n  backends: [simulated]\n  simulated:\n    gpus: 2\n");
  auto json = start({"gpu", "--watch", "--json", "--interval", "0.2"});
  ASSERT_TRUE(json->wait_for_lines(3, 10s)) << json->stderr_text();
  std::istringstream lines(json->stdout_text());
  std::string line;
  for (int i = 0; i < 3 && std::getline(lines, line); ++i) {
    auto snapshot = nlohmann::json::parse(line);  // one JSON document per line
    ASSERT_EQ(snapshot["gpus"].size(), 2u) << line;
    EXPECT_EQ(snapshot["gpus"][1]["index"], 1);
    EXPECT_EQ(snapshot["gpus"][0]["simulated"], true);
    EXPECT_TRUE(snapshot["host"]["cpu_pct"].is_number()) << line;
  }
  json->signal(SIGINT);
  EXPECT_EQ(json->wait(2s), 0);
  EXPECT_EQ(json->stderr_text(), "");

  // The table, with a long interval: SIGTERM must not wait it out.
  auto table = start({"gpu", "--watch", "--interval", "30"});
  ASSERT_TRUE(table->wait_for_output("[simulated]", 10s)) << table->stderr_text();
  std::this_thread::sleep_for(200ms);
  auto stopped_at = Clock::now();
  table->signal(SIGTERM);
  EXPECT_EQ(table->wait(2s), 0);
  EXPECT_LT(Clock::now() - stopped_at, 2s);
  std::string out = table->stdout_text();
  EXPECT_NE(out.find("Simulated GPU 1"), std::string::npos) << out;
  EXPECT_NE(out.find("backend simulated  2 device(s)"), std::string::npos) << out;
  EXPECT_NE(out.find("host: cpu "), std::string::npos) << out;
  EXPECT_EQ(table->stderr_text(), "");
}

}  // namespace
}  // namespace nightshift
