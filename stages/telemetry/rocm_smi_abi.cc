#include "stages/telemetry/rocm_smi_abi.h"

#include <cstring>

namespace nightshift::telemetry::rsmi_abi {
namespace {

uint32_t u32_at(const FrequencyBuffer& b, std::size_t offset) {
  uint32_t v;
  std::memcpy(&v, b.bytes + offset, sizeof v);
  return v;
}

uint64_t u64_at(const FrequencyBuffer& b, std::size_t offset) {
  uint64_t v;
  std::memcpy(&v, b.bytes + offset, sizeof v);
  return v;
}

// A table a successful call can return: at least one level, current among them.
bool plausible(uint32_t num_supported, uint32_t current, std::size_t max) {
  return num_supported >= 1 && num_supported <= max && current < num_supported;
}

FrequencyTable read_table(const FrequencyBuffer& b, uint32_t num_supported, uint32_t current,
                          std::size_t first_offset) {
  FrequencyTable t;
  t.current = current;
  for (uint32_t i = 0; i < num_supported; ++i) t.hz.push_back(u64_at(b, first_offset + 8 * i));
  return t;
}

// 5.x: num_supported @0, current @4, frequency[32] @8.
bool is_v5(const FrequencyBuffer& b) {
  return plausible(u32_at(b, 0), u32_at(b, 4), RSMI_MAX_NUM_FREQUENCIES);
}

// 6.x: has_deep_sleep @0 (0 or 1, then padding we zeroed), num_supported @4,
// current @8, frequency[33] @16. A valid 5.x table never reads as one: its
// word @0 is num_supported >= 1, so it would need num_supported == 1, and
// then its word @4 (current == 0) is not a valid 6.x num_supported.
bool is_v6(const FrequencyBuffer& b) {
  return u32_at(b, 0) <= 1 && plausible(u32_at(b, 4), u32_at(b, 8), kV6MaxFrequencies);
}

}  // namespace

Layout layout_for_version(uint32_t major) {
  if (major >= 6) return Layout::kV6;
  if (major >= 2) return Layout::kV5;
  return Layout::kEither;
}

Result<FrequencyTable> decode(const FrequencyBuffer& b, Layout layout) {
  // A 6.x library known by its version may leave garbage in the padding.
  bool v6 = layout == Layout::kV6 ? plausible(u32_at(b, 4), u32_at(b, 8), kV6MaxFrequencies)
                                  : layout == Layout::kEither && is_v6(b);
  bool v5 = layout != Layout::kV6 && !v6 && is_v5(b);
  if (v6) return read_table(b, u32_at(b, 4), u32_at(b, 8), 16);
  if (v5) return read_table(b, u32_at(b, 0), u32_at(b, 4), 8);
  return make_error(layout == Layout::kEither
                        ? "frequency table in neither the ROCm 5 nor the ROCm 6 layout"
                        : "no valid current frequency level");
}

}  // namespace nightshift::telemetry::rsmi_abi
