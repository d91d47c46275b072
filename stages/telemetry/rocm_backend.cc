#include "stages/telemetry/rocm_backend.h"

#include <rocm_smi/rocm_smi.h>

#include <cstdio>

#include "stages/telemetry/rocm_smi_abi.h"

namespace nightshift::telemetry {

struct RocmBackend::Api {
  decltype(&::rsmi_init) init = nullptr;
  decltype(&::rsmi_shut_down) shut_down = nullptr;
  decltype(&::rsmi_status_string) status_string = nullptr;
  decltype(&::rsmi_num_monitor_devices) num_devices = nullptr;
  decltype(&::rsmi_dev_name_get) name = nullptr;
  decltype(&::rsmi_dev_pci_id_get) pci_id = nullptr;
  decltype(&::rsmi_dev_temp_metric_get) temp = nullptr;
  decltype(&::rsmi_dev_busy_percent_get) busy = nullptr;
  decltype(&::rsmi_dev_memory_usage_get) mem_used = nullptr;
  decltype(&::rsmi_dev_memory_total_get) mem_total = nullptr;
  decltype(&::rsmi_version_get) version = nullptr;
  decltype(&::rsmi_dev_power_ave_get) power_ave = nullptr;
  decltype(&::rsmi_dev_current_socket_power_get) socket_power = nullptr;  // ROCm >= 5.6
  decltype(&::rsmi_dev_energy_count_get) energy = nullptr;
  decltype(&::rsmi_dev_gpu_clk_freq_get) clock = nullptr;
  decltype(&::rsmi_dev_fan_rpms_get) fan_rpm = nullptr;
  decltype(&::rsmi_dev_fan_speed_get) fan_speed = nullptr;
  decltype(&::rsmi_dev_fan_speed_max_get) fan_max = nullptr;
  // The rsmi_frequencies_t layout this library writes (rocm_smi_abi.h).
  rsmi_abi::Layout frequency_layout = rsmi_abi::Layout::kEither;
};

RocmBackend::RocmBackend(std::string library)
    : library_name_(std::move(library)), api_(std::make_unique<Api>()) {}

RocmBackend::~RocmBackend() { shutdown(); }

Status RocmBackend::load_api() {
  auto library = SharedLibrary::open(library_name_);
  if (!library) return library.take_error();
  library_.emplace(std::move(*library));
  const SharedLibrary& l = *library_;
  Api& a = *api_;
  bool ok = l.load("rsmi_init", a.init) && l.load("rsmi_shut_down", a.shut_down) &&
            l.load("rsmi_num_monitor_devices", a.num_devices);
  if (!ok) return make_error("library too old: " + library_name_ + " lacks rsmi_init");
  l.load("rsmi_status_string", a.status_string);
  l.load("rsmi_dev_name_get", a.name);
  l.load("rsmi_dev_pci_id_get", a.pci_id);
  l.load("rsmi_dev_temp_metric_get", a.temp);
  l.load("rsmi_dev_busy_percent_get", a.busy);
  l.load("rsmi_dev_memory_usage_get", a.mem_used);
  l.load("rsmi_dev_memory_total_get", a.mem_total);
  l.load("rsmi_version_get", a.version);
  l.load("rsmi_dev_power_ave_get", a.power_ave);
  l.load("rsmi_dev_current_socket_power_get", a.socket_power);
  l.load("rsmi_dev_energy_count_get", a.energy);
  l.load("rsmi_dev_gpu_clk_freq_get", a.clock);
  l.load("rsmi_dev_fan_rpms_get", a.fan_rpm);
  l.load("rsmi_dev_fan_speed_get", a.fan_speed);
  l.load("rsmi_dev_fan_speed_max_get", a.fan_max);
  return Status::success();
}

std::string RocmBackend::describe(int status) const {
  if (status == RSMI_STATUS_PERMISSION) return "permission denied";
  if (status == RSMI_STATUS_NOT_SUPPORTED) return "not supported by this device";
  const char* text = nullptr;
  if (api_->status_string != nullptr &&
      api_->status_string(static_cast<rsmi_status_t>(status), &text) == RSMI_STATUS_SUCCESS &&
      text != nullptr) {
    return text;
  }
  return "rsmi status " + std::to_string(status);
}

Status RocmBackend::init() {
  if (Status loaded = load_api(); !loaded) return loaded;
  rsmi_status_t r;
  {
    QuietStderr quiet;  // rsmi_init prints when there is no amdgpu driver
    r = api_->init(0);
  }
  if (r != RSMI_STATUS_SUCCESS) return make_error("no device: rsmi_init failed: " + describe(r));
  initialised_ = true;
  rsmi_version_t version{};
  if (api_->version && api_->version(&version) == RSMI_STATUS_SUCCESS)
    api_->frequency_layout = rsmi_abi::layout_for_version(version.major);
  uint32_t count = 0;
  r = api_->num_devices(&count);
  if (r != RSMI_STATUS_SUCCESS)
    return make_error("rsmi_num_monitor_devices failed: " + describe(r));
  for (uint32_t dv = 0; dv < count; ++dv) {
    GpuDeviceInfo info;
    char name[128] = {};
    if (api_->name && api_->name(dv, name, sizeof name) == RSMI_STATUS_SUCCESS)
      info.name = name;
    else
      info.name = "AMD GPU " + std::to_string(dv);
    uint64_t bdf = 0;
    if (api_->pci_id && api_->pci_id(dv, &bdf) == RSMI_STATUS_SUCCESS) {
      // BDFID bits: domain 63:32, bus 15:8, device 7:3, function 2:0.
      char bus_id[32];
      std::snprintf(bus_id, sizeof bus_id, "%04x:%02x:%02x.%x", static_cast<unsigned>(bdf >> 32),
                    static_cast<unsigned>((bdf >> 8) & 0xff),
                    static_cast<unsigned>((bdf >> 3) & 0x1f), static_cast<unsigned>(bdf & 0x7));
      info.pci_bus_id = bus_id;
    }
    devices_.push_back(info);
  }
  if (devices_.empty()) return make_error("no device: ROCm SMI found no AMD GPU");
  return Status::success();
}

void RocmBackend::refresh(std::size_t device, int64_t, GpuSample& out) {
  uint32_t dv = static_cast<uint32_t>(device);
  read_temperatures(dv, out);
  uint32_t busy = 0;
  rsmi_status_t r = api_->busy ? api_->busy(dv, &busy) : RSMI_STATUS_NOT_SUPPORTED;
  if (r == RSMI_STATUS_SUCCESS)
    out.util_pct = busy;
  else
    mark_unavailable(out, "util_pct", describe(r));
  read_memory(dv, out);
  read_power(dv, out);
  read_clocks(dv, out);
  read_fan(dv, out);
}

void RocmBackend::read_temperatures(uint32_t dv, GpuSample& out) const {
  auto read = [&](rsmi_temperature_type_t type) -> Result<double> {
    int64_t millideg = 0;
    rsmi_status_t r =
        api_->temp ? api_->temp(dv, type, RSMI_TEMP_CURRENT, &millideg) : RSMI_STATUS_NOT_SUPPORTED;
    if (r != RSMI_STATUS_SUCCESS) return make_error(describe(r));
    return static_cast<double>(millideg) / 1000.0;
  };
  auto put = [&](const Result<double>& t, std::optional<double>& field, const char* name) {
    if (t)
      field = *t;
    else
      mark_unavailable(out, name, t.error());
  };
  Result<double> edge = read(RSMI_TEMP_TYPE_EDGE);
  Result<double> junction = read(RSMI_TEMP_TYPE_JUNCTION);
  // Data-centre parts (MI200, MI300) have no edge sensor: temp_c, which the
  // alerts watch, is then the junction (hotspot) temperature.
  put(edge || !junction ? edge : junction, out.temp_c, "temp_c");
  put(junction, out.temp_junction_c, "temp_junction_c");
  put(read(RSMI_TEMP_TYPE_MEMORY), out.temp_mem_c, "temp_mem_c");
}

void RocmBackend::read_memory(uint32_t dv, GpuSample& out) const {
  uint64_t used = 0, total = 0;
  rsmi_status_t r =
      api_->mem_used ? api_->mem_used(dv, RSMI_MEM_TYPE_VRAM, &used) : RSMI_STATUS_NOT_SUPPORTED;
  if (r == RSMI_STATUS_SUCCESS)
    out.mem_used_bytes = used;
  else
    mark_unavailable(out, "mem_used_bytes", describe(r));
  r = api_->mem_total ? api_->mem_total(dv, RSMI_MEM_TYPE_VRAM, &total) : RSMI_STATUS_NOT_SUPPORTED;
  if (r == RSMI_STATUS_SUCCESS)
    out.mem_total_bytes = total;
  else
    mark_unavailable(out, "mem_total_bytes", describe(r));
}

void RocmBackend::read_power(uint32_t dv, GpuSample& out) const {
  uint64_t microwatts = 0;
  rsmi_status_t ave =
      api_->power_ave ? api_->power_ave(dv, 0, &microwatts) : RSMI_STATUS_NOT_SUPPORTED;
  // Cards without an averaging sensor report only the current socket power,
  // and the fleet serves no sysfs fallback for a card ROCm reads.
  rsmi_status_t current = RSMI_STATUS_NOT_SUPPORTED;
  if (ave != RSMI_STATUS_SUCCESS && api_->socket_power)
    current = api_->socket_power(dv, &microwatts);
  if (ave == RSMI_STATUS_SUCCESS || current == RSMI_STATUS_SUCCESS) {
    out.power_w = static_cast<double>(microwatts) / 1e6;
  } else {
    mark_unavailable(out, "power_w",
                     "rsmi_dev_power_ave_get: " + describe(ave) +
                         "; rsmi_dev_current_socket_power_get: " +
                         (api_->socket_power ? describe(current) : "not in this library"));
  }
  uint64_t ticks = 0, timestamp = 0;
  float resolution_uj = 0;
  rsmi_status_t r = api_->energy ? api_->energy(dv, &ticks, &resolution_uj, &timestamp)
                                 : RSMI_STATUS_NOT_SUPPORTED;
  if (r == RSMI_STATUS_SUCCESS)
    out.energy_j = static_cast<double>(ticks) * resolution_uj / 1e6;
  else
    mark_unavailable(out, "energy_j", describe(r));
}

void RocmBackend::read_clocks(uint32_t dv, GpuSample& out) const {
  auto read = [&](rsmi_clk_type_t type, std::optional<double>& field, const char* name) {
    // Larger than both layouts: a 6.x library writes 280 bytes, not 264.
    rsmi_abi::FrequencyBuffer buffer;
    rsmi_status_t r =
        api_->clock ? api_->clock(dv, type, buffer.as_frequencies()) : RSMI_STATUS_NOT_SUPPORTED;
    if (r != RSMI_STATUS_SUCCESS) return mark_unavailable(out, name, describe(r));
    auto table = rsmi_abi::decode(buffer, api_->frequency_layout);
    if (!table) return mark_unavailable(out, name, table.error());
    field = static_cast<double>(table->hz[table->current]) / 1e6;  // Hz -> MHz
  };
  read(RSMI_CLK_TYPE_SYS, out.sm_clock_mhz, "sm_clock_mhz");
  read(RSMI_CLK_TYPE_MEM, out.mem_clock_mhz, "mem_clock_mhz");
}

void RocmBackend::read_fan(uint32_t dv, GpuSample& out) const {
  int64_t rpm = 0;
  rsmi_status_t r = api_->fan_rpm ? api_->fan_rpm(dv, 0, &rpm) : RSMI_STATUS_NOT_SUPPORTED;
  if (r == RSMI_STATUS_SUCCESS)
    out.fan_rpm = static_cast<double>(rpm);
  else
    mark_unavailable(out, "fan_rpm", describe(r));
  int64_t speed = 0;
  uint64_t max_speed = 0;
  r = api_->fan_speed ? api_->fan_speed(dv, 0, &speed) : RSMI_STATUS_NOT_SUPPORTED;
  if (r == RSMI_STATUS_SUCCESS)
    r = api_->fan_max ? api_->fan_max(dv, 0, &max_speed) : RSMI_STATUS_NOT_SUPPORTED;
  if (r != RSMI_STATUS_SUCCESS) return mark_unavailable(out, "fan_pct", describe(r));
  if (max_speed == 0) return mark_unavailable(out, "fan_pct", "maximum fan speed reported as 0");
  out.fan_pct = 100.0 * static_cast<double>(speed) / static_cast<double>(max_speed);
}

void RocmBackend::shutdown() {
  if (initialised_ && api_->shut_down != nullptr) api_->shut_down();
  initialised_ = false;
}

}  // namespace nightshift::telemetry
