#include "stages/telemetry/nvml_api.h"

#include <cctype>

namespace nightshift::telemetry::nvml {

MemoryUse memory_use(const MemoryV2& v2) { return MemoryUse{v2.used, v2.total, v2.reserved, 2}; }

MemoryUse memory_use(const MemoryV1& v1) { return MemoryUse{v1.used, v1.total, std::nullopt, 1}; }

bool should_fall_back_to_v1(Return result) {
  return result == kErrorFunctionNotFound || result == kErrorArgumentVersionMismatch ||
         result == kErrorNotSupported || result == kErrorUnknown;
}

std::string normalize_pci_bus_id(const std::string& bus_id) {
  std::string out;
  for (char c : bus_id) {
    if (c == '\0') break;
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  auto colon = out.find(':');
  if (colon == 8 && out.compare(0, 4, "0000") == 0) out.erase(0, 4);
  return out;
}

}  // namespace nightshift::telemetry::nvml
