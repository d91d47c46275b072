// ROCm SMI across its ABI versions. The packaged header (rocm_smi.h 5.x)
// declares rsmi_frequencies_t as {num_supported, current, frequency[32]}
// (264 bytes); ROCm 6 puts `bool has_deep_sleep` first and has 33 entries
// (280 bytes), so a 6.x library writes past a 5.x-sized struct. The library
// version does not settle it: builds without a release tag report 1.x with
// either layout. So the table is fetched into a zeroed buffer larger than
// both and decoded by the layout the version implies, or, for 1.x, by the one
// that reads as a valid table (the two are exclusive, see the .cc).
#pragma once

#include <rocm_smi/rocm_smi.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "schema/result.h"

namespace nightshift::telemetry::rsmi_abi {

// rsmi_frequencies_t of ROCm >= 6.0.
inline constexpr std::size_t kV6MaxFrequencies = 33;
struct FrequenciesV6 {
  bool has_deep_sleep;
  uint32_t num_supported;
  uint32_t current;
  uint64_t frequency[kV6MaxFrequencies];
};
static_assert(sizeof(FrequenciesV6) == 280, "rsmi_frequencies_t of ROCm 6.x");
static_assert(sizeof(rsmi_frequencies_t) == 264, "the packaged header is the 5.x layout");

enum class Layout { kV5, kV6, kEither };

// The layout a library reporting `major` (rsmi_version_get) writes.
Layout layout_for_version(uint32_t major);

// Zeroed, aligned, larger than either layout: what rsmi_dev_gpu_clk_freq_get
// is given (as an rsmi_frequencies_t*).
struct alignas(8) FrequencyBuffer {
  unsigned char bytes[512] = {};
  rsmi_frequencies_t* as_frequencies() { return reinterpret_cast<rsmi_frequencies_t*>(bytes); }
};

struct FrequencyTable {
  uint32_t current = 0;
  std::vector<uint64_t> hz;  // num_supported entries
};

// The table in `buffer`, or why it cannot be read.
Result<FrequencyTable> decode(const FrequencyBuffer& buffer, Layout layout);

}  // namespace nightshift::telemetry::rsmi_abi

// Declared in ROCm >= 5.6's rocm_smi.h, absent from the packaged 5.x one:
// the current (not averaged) socket power in microwatts.
extern "C" rsmi_status_t rsmi_dev_current_socket_power_get(uint32_t dv_ind, uint64_t* socket_power);
