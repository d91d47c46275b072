// Every message type of schema/, in one list. The seed corpus holds a frame
// of each (corpus.cc), the fuzzer decodes every input as each of them
// (codec_fuzzer.cc), and corpus_test fails when this list and the kType
// declarations in schema/*.h differ, so a new type cannot be left out.
#pragma once

#include "schema/data_messages.h"
#include "schema/event_messages.h"
#include "schema/job_messages.h"
#include "schema/telemetry_messages.h"

namespace nightshift::fuzz {

template <typename... Types>
struct TypeList {};

using MessageTypes =
    TypeList<HostSample, GpuSample, GpuInventory, Alert, Job, JobResult, Heartbeat, JobEvent,
             JobsPersisted, RunProgress, RunCheckpoint, Event, DataNotice, DatasetRequest,
             DatasetReply>;

// Calls f.template operator()<T>() for each T of the list, in order.
template <typename F, typename... Types>
void for_each_type(TypeList<Types...>, F&& f) {
  (f.template operator()<Types>(), ...);
}

}  // namespace nightshift::fuzz
