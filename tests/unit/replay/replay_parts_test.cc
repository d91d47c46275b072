// The replay's clock (gaps / speed, pause, speed change, jump), its time
// arguments and control commands, and append_replay_position on every map
// header size.
#include <gtest/gtest.h>

#include "schema/codec.h"
#include "schema/event_messages.h"
#include "schema/json.h"
#include "stages/replay/replay_clock.h"
#include "stages/replay/replay_control.h"
#include "stages/replay/replay_time.h"

namespace nightshift::replay {
namespace {

constexpr int64_t kS = 1'000'000'000;

TEST(ReplayClock, GapsAreDividedBySpeedAndPauseStopsTime) {
  ReplayClock clock(100 * kS, 10, 0);
  EXPECT_EQ(clock.wait_ns(101 * kS, 0), kS / 10);  // 1 s stored at 10x
  EXPECT_EQ(clock.wait_ns(101 * kS, kS / 10), 0);
  clock.pause(kS / 20);  // stored time stops at +0.5 s
  EXPECT_EQ(clock.virtual_ns(5 * kS), 100 * kS + kS / 2);
  clock.resume(5 * kS);
  EXPECT_EQ(clock.wait_ns(101 * kS, 5 * kS), kS / 20);
  clock.set_speed(1, 5 * kS);
  EXPECT_EQ(clock.wait_ns(101 * kS, 5 * kS), kS / 2);
  clock.jump(200 * kS, 6 * kS);
  EXPECT_EQ(clock.virtual_ns(6 * kS), 200 * kS);
  ReplayClock max(0, 0, 0);
  EXPECT_EQ(max.wait_ns(1'000 * kS, 0), 0);
}

TEST(ReplayTime, OffsetsAndUtcTimes) {
  EXPECT_EQ(*resolve_time("90", 5), 5 + 90 * kS);
  EXPECT_EQ(*resolve_time("1.5m", 0), 90 * kS);
  EXPECT_EQ(*resolve_time("250ms", 0), kS / 4);
  EXPECT_EQ(*resolve_time("+2h", 0), 7200 * kS);
  EXPECT_EQ(*resolve_time("2026-12-03T15:04:05Z", 0), 1'796'310'245 * kS);
  EXPECT_EQ(*resolve_time("2026-12-03T15:04:05.5", 0), 1'796'310'245 * kS + kS / 2);
  for (const char* bad : {"", "x", "-5s", "5d", "2026-13-45T99:00:00Z", "1e300", "nan"}) {
    auto r = resolve_time(bad, 0);
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_NE(r.error().find("not a time"), std::string::npos);
    }
  }
  EXPECT_EQ(format_offset(3'723 * kS + kS / 2), "+1:02:03.5");
}

TEST(ReplayCommands, ParseAndRefuse) {
  using Kind = ReplayCommand::Kind;
  EXPECT_EQ(parse_command("pause")->kind, Kind::pause);
  EXPECT_EQ(parse_command("resume")->kind, Kind::resume);
  EXPECT_EQ(parse_command("seek 20s")->time, "20s");
  EXPECT_EQ(parse_command("speed 2.5")->value, 2.5);
  EXPECT_EQ(parse_command("speed max")->value, 0);
  for (const char* bad : {"", "rewind", "pause now", "seek", "speed", "speed 0", "speed -1", "speed fast"}) {
    EXPECT_FALSE(parse_command(bad)) << bad;
  }
}

// A body whose top map has `entries` entries (header + data + extra keys).
std::string body_with(std::size_t extra) {
  Event event;
  event.name = "x";
  std::string body = encode(Header{}, event);
  if (extra == 0) return body;
  // Rebuild with `extra` more keys: a map of 6 + extra entries.
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> pk(buffer);
  pk.pack_map(static_cast<uint32_t>(6 + extra));
  msgpack::object_handle handle = msgpack::unpack(body.data(), body.size());
  const auto& map = handle.get().via.map;
  for (uint32_t i = 0; i < map.size; ++i) {
    pk.pack(map.ptr[i].key);
    pk.pack(map.ptr[i].val);
  }
  for (std::size_t i = 0; i < extra; ++i) {
    pk.pack("k" + std::to_string(i));
    pk.pack(i);
  }
  return std::string(buffer.data(), buffer.size());
}

TEST(ReplayPosition, AddedToEveryMapSizeAndDecodedBack) {
  // 6 entries (fixmap), 15 (fixmap that must become map16), 16 (map16).
  for (std::size_t extra : {0u, 9u, 10u, 70'000u}) {
    std::string stored = body_with(extra);
    ReplayPosition position{"r1", 7, 9, 123, 42};
    std::string replayed;
    ASSERT_TRUE(append_replay_position(stored, position, replayed)) << extra;
    auto frame = decode_frame(replayed, DecodeLimits{16u << 20, 16, 1u << 20, 1u << 20});
    ASSERT_TRUE(frame) << extra << ": " << frame.error();
    auto json = frame_to_json("t", *frame);
    EXPECT_EQ(json["replay"]["run"], "r1");
    EXPECT_EQ(json["replay"]["index"], 7);
    EXPECT_EQ(json["replay"]["row"], 42);
    EXPECT_EQ(json["data"]["name"], "x");
    EXPECT_EQ(frame->data.via.map.size, 2u);
  }
  std::string out;
  EXPECT_FALSE(append_replay_position("", ReplayPosition{}, out));
  EXPECT_FALSE(append_replay_position("\x93\x01\x02\x03", ReplayPosition{}, out));  // an array
}

}  // namespace
}  // namespace nightshift::replay
