#include "stages/telemetry/gpu_fleet.h"

#include <set>

#include "stages/telemetry/levelzero_backend.h"
#include "stages/telemetry/nvml_backend.h"
#include "stages/telemetry/rocm_backend.h"
#include "stages/telemetry/simulated_backend.h"
#include "stages/telemetry/sysfs_backend.h"

namespace nightshift::telemetry {

std::unique_ptr<GpuBackend> make_backend(const std::string& name,
                                         const config::TelemetryConfig& config) {
  if (name == "nvml") return std::make_unique<NvmlBackend>(config.nvml_library);
  if (name == "levelzero") return std::make_unique<LevelZeroBackend>(config.levelzero_library);
  if (name == "rocm") return std::make_unique<RocmBackend>(config.rocm_library);
  if (name == "sysfs") return std::make_unique<SysfsBackend>(config.sysfs_root);
  if (name == "simulated") return std::make_unique<SimulatedBackend>(config.simulated);
  return nullptr;
}

GpuFleet GpuFleet::open(const config::TelemetryConfig& config, const std::string& host) {
  std::vector<std::unique_ptr<GpuBackend>> backends;
  for (const auto& name : config.backends) {
    if (auto backend = make_backend(name, config)) backends.push_back(std::move(backend));
  }
  return GpuFleet(std::move(backends), host);
}

GpuFleet::GpuFleet(std::vector<std::unique_ptr<GpuBackend>> backends, std::string host)
    : backends_(std::move(backends)), host_(std::move(host)) {
  std::set<std::string> served_pci;
  for (auto& backend : backends_) {
    BackendReport report;
    report.name = std::string(backend->name());
    Status status = backend->init();
    report.available = status.ok();
    report.reason = status.ok() ? "" : status.error();
    if (status.ok()) {
      const auto& devices = backend->devices();
      for (std::size_t i = 0; i < devices.size(); ++i) {
        const auto& pci = devices[i].pci_bus_id;
        if (pci && !served_pci.insert(*pci).second) continue;
        slots_.push_back(Slot{backend.get(), i, devices[i]});
        ++report.devices;
      }
    }
    reports_.push_back(report);
  }
}

GpuFleet::~GpuFleet() {
  for (auto& backend : backends_) {
    if (backend) backend->shutdown();
  }
}

GpuInventory GpuFleet::inventory() const {
  GpuInventory inventory;
  inventory.host = host_;
  inventory.backends = reports_;
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    InventoryDevice d;
    d.index = static_cast<uint32_t>(i);
    d.backend = std::string(slots_[i].backend->name());
    d.name = slots_[i].info.name;
    d.simulated = d.backend == "simulated";
    d.pci_bus_id = slots_[i].info.pci_bus_id;
    d.mem_total_bytes = slots_[i].info.mem_total_bytes;
    inventory.devices.push_back(d);
  }
  return inventory;
}

std::vector<GpuSample> GpuFleet::sample(int64_t mono_ns) {
  std::vector<GpuSample> samples;
  samples.reserve(slots_.size());
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    GpuSample s;
    s.host = host_;
    s.index = static_cast<uint32_t>(i);
    s.backend = std::string(slots_[i].backend->name());
    s.name = slots_[i].info.name;
    s.pci_bus_id = slots_[i].info.pci_bus_id;
    slots_[i].backend->refresh(slots_[i].local_index, mono_ns, s);
    samples.push_back(std::move(s));
  }
  return samples;
}

}  // namespace nightshift::telemetry
