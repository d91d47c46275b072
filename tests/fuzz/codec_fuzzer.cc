// libFuzzer target for the bus decoder: any bytes must decode to a value or
// an error, never crash, hang or allocate without bound.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "schema/codec.h"
#include "schema/data_messages.h"
#include "schema/event_messages.h"
#include "schema/job_messages.h"
#include "schema/json.h"
#include "schema/telemetry_messages.h"

namespace {

template <typename... Payloads>
void decode_all(const nightshift::DecodedFrame& frame) {
  ((void)nightshift::decode_payload<Payloads>(frame), ...);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  // The persister's path: one zone reused across inputs, strings in place.
  static msgpack::zone zone;
  zone.clear();
  auto streamed = nightshift::decode_frame(bytes, zone);
  if (streamed) decode_all<nightshift::JobResult, nightshift::RunCheckpoint>(*streamed);
  auto frame = nightshift::decode_frame(bytes);
  if (!frame) return 0;
  decode_all<nightshift::HostSample, nightshift::GpuSample, nightshift::Alert, nightshift::Job,
             nightshift::JobResult, nightshift::Heartbeat, nightshift::JobEvent,
             nightshift::JobsPersisted, nightshift::RunProgress, nightshift::Event,
             nightshift::DataNotice, nightshift::DatasetRequest, nightshift::DatasetReply>(*frame);
  (void)nightshift::dump_json(nightshift::frame_to_json("fuzz", *frame));
  return 0;
}
