#include "schema/codec.h"

#include <gtest/gtest.h>

#include "schema/event_messages.h"
#include "schema/job_messages.h"
#include "schema/telemetry_messages.h"

namespace nightshift {
namespace {

Header test_header() {
  Header h;
  h.ts_ns = 1'700'000'000'000'000'000;
  h.src = {"host-a", "test", 42};
  h.seq = 7;
  return h;
}

TEST(SchemaCodec, GpuSampleRoundTripKeepsAbsentFieldsAbsent) {
  GpuSample s;
  s.host = "host-a";
  s.index = 1;
  s.backend = "sysfs";
  s.name = "Arc A770";
  s.temp_c = 61.5;
  s.mem_used_bytes = 1234;
  s.unavailable["power_w"] = "permission denied";
  auto decoded = decode<GpuSample>(encode(test_header(), s));
  ASSERT_TRUE(decoded) << decoded.error();
  EXPECT_EQ(decoded->header.type, "telemetry.gpu");
  EXPECT_EQ(decoded->header.seq, 7u);
  EXPECT_EQ(decoded->header.src.pid, 42);
  EXPECT_EQ(decoded->payload.temp_c, 61.5);
  EXPECT_EQ(decoded->payload.mem_used_bytes, 1234u);
  EXPECT_FALSE(decoded->payload.power_w.has_value());
  EXPECT_EQ(decoded->payload.unavailable.at("power_w"), "permission denied");
}

TEST(SchemaCodec, JobAndResultRoundTrip) {
  Job job;
  job.key = {"run1", "BTCUSDT.1h.h3.logreg_l2", 4};
  job.attempt = 2;
  job.kind = nightshift::JobKind::trial;
  job.params["C"] = 0.5;
  auto decoded_job = decode<Job>(encode(test_header(), job));
  ASSERT_TRUE(decoded_job) << decoded_job.error();
  EXPECT_EQ(decoded_job->payload.key.study, "BTCUSDT.1h.h3.logreg_l2");
  EXPECT_EQ(decoded_job->payload.params.at("C"), 0.5);

  JobResult result;
  result.key = job.key;
  result.status = nightshift::ResultStatus::ok;
  result.folds.push_back(FoldMetrics{{{"auc", 0.55}}, 100, 20});
  result.promoted = true;
  auto decoded = decode<JobResult>(encode(test_header(), result));
  ASSERT_TRUE(decoded) << decoded.error();
  ASSERT_EQ(decoded->payload.folds.size(), 1u);
  EXPECT_EQ(decoded->payload.folds[0].metrics.at("auc"), 0.55);
  EXPECT_EQ(decoded->payload.promoted, true);
}

TEST(SchemaCodec, StreamDecodingIntoOneZoneMatchesTheOwningDecoder) {
  msgpack::zone zone;
  for (int trial = 0; trial < 50; ++trial) {  // many messages, one zone
    JobResult result;
    result.key = {"run1", "ETHUSDT.5m.h1.logreg_l2." + std::string(40, 'x'), trial};
    result.status = nightshift::ResultStatus::ok;
    result.worker = "host-a/" + std::to_string(trial);
    result.metrics = {{"auc", 0.5 + trial / 1000.0}};
    result.folds.push_back(FoldMetrics{{{"auc", 0.55}}, 100, 20});
    std::string bytes = encode(test_header(), result);
    zone.clear();
    auto streamed = decode_frame(bytes, zone);
    ASSERT_TRUE(streamed) << streamed.error();
    EXPECT_EQ(streamed->handle, nullptr) << "the zone, not the frame, owns the tree";
    auto payload = decode_payload<JobResult>(*streamed);
    ASSERT_TRUE(payload) << payload.error();
    EXPECT_EQ(payload->key.study, result.key.study);
    EXPECT_EQ(payload->key.trial, trial);
    EXPECT_EQ(payload->worker, result.worker);
    EXPECT_EQ(payload->metrics.at("auc"), result.metrics.at("auc"));
  }
  // Bad input gives the same errors on both paths.
  std::string good = encode(test_header(), Event{"x", {{"a", "b"}}});
  for (const std::string& bad : {std::string(), std::string("\xc1"), good.substr(0, 9),
                                 good + "x"}) {
    zone.clear();
    auto streamed = decode_frame(bad, zone);
    auto owning = decode_frame(bad);
    ASSERT_FALSE(streamed);
    ASSERT_FALSE(owning);
    EXPECT_EQ(streamed.error(), owning.error());
  }
}

TEST(SchemaCodec, OneAnnouncementCarriesEveryJobOfACommit) {
  JobsPersisted persisted;
  persisted.run = "run1";
  persisted.jobs.push_back(PersistedResult{{"run1", "S", 0}, 1, ResultStatus::ok, "", "host/1"});
  persisted.jobs.push_back(PersistedResult{{"run1", "S", 1}, 3, ResultStatus::failed, "boom", "host/2"});
  auto decoded = decode<JobsPersisted>(encode(test_header(), persisted));
  ASSERT_TRUE(decoded) << decoded.error();
  EXPECT_EQ(decoded->header.type, "job.persisted");
  ASSERT_EQ(decoded->payload.jobs.size(), 2u);
  EXPECT_EQ(decoded->payload.jobs[1].key.trial, 1);
  EXPECT_EQ(decoded->payload.jobs[1].status, ResultStatus::failed);
  EXPECT_EQ(decoded->payload.jobs[1].attempt, 3u);
  EXPECT_EQ(decoded->payload.jobs[1].reason, "boom");
}

TEST(SchemaCodec, EveryTypeIsKnown) {
  for (const char* type : {HostSample::kType, GpuSample::kType, Alert::kType, Job::kType,
                           JobResult::kType, Heartbeat::kType, JobEvent::kType,
                           JobsPersisted::kType, RunProgress::kType, Event::kType,
                           DataNotice::kType}) {
    EXPECT_TRUE(is_known_type(type)) << type;
  }
  EXPECT_FALSE(is_known_type("nope"));
}

TEST(SchemaCodec, WrongTypeForPayloadIsAnError) {
  Event e{"x", {}};
  auto decoded = decode<Job>(encode(test_header(), e));
  ASSERT_FALSE(decoded);
  EXPECT_NE(decoded.error().find("unexpected type"), std::string::npos);
}

std::string pack(const auto& value) {
  msgpack::sbuffer buffer;
  msgpack::pack(buffer, value);
  return std::string(buffer.data(), buffer.size());
}

TEST(SchemaCodec, RejectsRandomAndTruncatedBytes) {
  EXPECT_FALSE(decode_frame(""));
  EXPECT_FALSE(decode_frame("\xc1"));  // never-used msgpack byte
  std::string good = encode(test_header(), Event{"x", {{"a", "b"}}});
  for (std::size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(decode_frame(good.substr(0, n))) << "prefix " << n;
  }
  EXPECT_TRUE(decode_frame(good));
  EXPECT_FALSE(decode_frame(good + "x")) << "trailing bytes";
}

TEST(SchemaCodec, RejectsHugeDeclaredLengthsWithoutAllocating) {
  // array32 declaring 4 billion elements, map32 likewise, str32 of 4 GiB.
  EXPECT_FALSE(decode_frame(std::string("\xdd\xff\xff\xff\xff", 5)));
  EXPECT_FALSE(decode_frame(std::string("\xdf\xff\xff\xff\xff", 5)));
  EXPECT_FALSE(decode_frame(std::string("\xdb\xff\xff\xff\xff", 5)));
}

TEST(SchemaCodec, RejectsDeepNesting) {
  std::string deep(100, '\x91');  // 100 nested one-element arrays
  deep += '\x01';
  auto frame = decode_frame(deep);
  ASSERT_FALSE(frame);
}

TEST(SchemaCodec, RejectsOversizedFrame) {
  DecodeLimits limits;
  limits.max_frame_bytes = 64;
  std::string good = encode(test_header(), Event{"x", {{"a", std::string(100, 'b')}}});
  auto frame = decode_frame(good, limits);
  ASSERT_FALSE(frame);
  EXPECT_NE(frame.error().find("exceeds cap"), std::string::npos);
}

TEST(SchemaCodec, RejectsWrongMajorVersionUnknownTypeAndMissingFields) {
  Header h = test_header();
  h.v = 2;
  auto v2 = decode_frame(encode(h, Event{"x", {}}));
  ASSERT_FALSE(v2);
  EXPECT_NE(v2.error().find("major version 2"), std::string::npos);

  auto bad_type = decode_frame(pack(std::map<std::string, int>{{"v", 1}}));
  ASSERT_FALSE(bad_type);
  EXPECT_NE(bad_type.error().find("field 'type': missing"), std::string::npos);

  // A GpuSample whose required 'index' is a string.
  GpuSample s;
  s.host = "h";
  std::string bytes = encode(test_header(), s);
  auto ok = decode<GpuSample>(bytes);
  ASSERT_TRUE(ok);
  Event wrong{"x", {}};
  auto wrong_payload = decode<HostSample>(encode(test_header(), wrong));
  EXPECT_FALSE(wrong_payload);
}

TEST(SchemaCodec, FieldTypeMismatchNamesTheField) {
  // {v:1, type:"event", ts:0, src:{host:"h",stage:"s",pid:1}, seq:1, data:{name: 5, attrs:{}}}
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> pk(buffer);
  pk.pack_map(6);
  pk.pack(std::string("v")), pk.pack(1);
  pk.pack(std::string("type")), pk.pack(std::string("event"));
  pk.pack(std::string("ts")), pk.pack(0);
  pk.pack(std::string("src"));
  pk.pack_map(3);
  pk.pack(std::string("host")), pk.pack(std::string("h"));
  pk.pack(std::string("stage")), pk.pack(std::string("s"));
  pk.pack(std::string("pid")), pk.pack(1);
  pk.pack(std::string("seq")), pk.pack(1);
  pk.pack(std::string("data"));
  pk.pack_map(2);
  pk.pack(std::string("name")), pk.pack(5);
  pk.pack(std::string("attrs")), pk.pack_map(0);
  auto decoded = decode<Event>(std::string_view(buffer.data(), buffer.size()));
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error(), "field 'data.name': expected a string");
}

}  // namespace
}  // namespace nightshift
