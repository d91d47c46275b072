#include "stages/trainer/memory_probe.h"

#include <cstring>
#include <vector>

namespace nightshift::trainer {
namespace {

std::vector<std::unique_ptr<char[]>> g_retained;

std::unique_ptr<char[]> touched_block(std::size_t mb) {
  if (mb == 0) return nullptr;
  auto block = std::make_unique<char[]>(mb << 20);  // throws std::bad_alloc past the cap
  std::memset(block.get(), 1, mb << 20);
  return block;
}

}  // namespace

std::unique_ptr<char[]> apply_memory_probe(const std::optional<MemoryProbe>& probe) {
  if (!probe) return nullptr;
  auto scratch = touched_block(probe->alloc_mb);
  if (auto retained = touched_block(probe->retain_mb)) g_retained.push_back(std::move(retained));
  return scratch;
}

}  // namespace nightshift::trainer
