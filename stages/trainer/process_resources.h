// What a worker process uses, and the hard memory cap it runs under.
//
// The cap is RLIMIT_DATA (Linux >= 4.7 counts every private writable
// mapping, i.e. heap and anonymous mmap, but not code or PROT_NONE
// reservations such as idle malloc arenas), so an allocation past it makes
// operator new throw std::bad_alloc, which a job turns into "memory limit".
#pragma once

#include <cstdint>

#include "schema/result.h"

namespace nightshift::trainer {

Status apply_memory_cap(uint64_t cap_bytes);

uint64_t current_rss_bytes();
// Peak RSS since the last reset_peak_rss() (VmHWM; lifetime peak if the
// kernel does not allow the reset).
uint64_t peak_rss_bytes();
void reset_peak_rss();
double process_cpu_seconds();

}  // namespace nightshift::trainer
