// libFuzzer target for the bus decoder: any bytes must decode to a value or
// an error, never crash, hang or allocate without bound.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "schema/codec.h"
#include "schema/json.h"
#include "tests/fuzz/message_types.h"

namespace {

// Every type, whatever the header says: a payload of one type read as
// another is the decoder's job to refuse.
void decode_all(const nightshift::DecodedFrame& frame) {
  nightshift::fuzz::for_each_type(nightshift::fuzz::MessageTypes{}, [&]<typename Payload>() {
    (void)nightshift::decode_payload<Payload>(frame);
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  // The persister's path: one zone reused across inputs, strings in place.
  static msgpack::zone zone;
  zone.clear();
  auto streamed = nightshift::decode_frame(bytes, zone);
  if (streamed) decode_all(*streamed);
  auto frame = nightshift::decode_frame(bytes);
  if (!frame) return 0;
  decode_all(*frame);
  (void)nightshift::dump_json(nightshift::frame_to_json("fuzz", *frame));
  return 0;
}
