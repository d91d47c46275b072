// A job's MemoryProbe (schema/job_messages.h) carried out: memory allocated
// and touched on purpose, so the worker's hard memory cap and soft restart
// threshold can be reached in tests and diagnosed on a real machine.
#pragma once

#include <memory>
#include <optional>

#include "schema/job_messages.h"

namespace nightshift::trainer {

// Allocates and touches probe->alloc_mb (returned: freed when the caller
// drops it, at the end of the job) and probe->retain_mb (kept until the
// process exits, like a leak). Throws std::bad_alloc past the memory cap,
// as a job that needs too much memory would.
std::unique_ptr<char[]> apply_memory_probe(const std::optional<MemoryProbe>& probe);

}  // namespace nightshift::trainer
