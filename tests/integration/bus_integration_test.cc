// The bus end to end, with real processes: a broker, `nightshift publish`
// publishers and `nightshift subscribe` subscribers on private loopback ports.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <sys/stat.h>

#include <map>
#include <random>
#include <sstream>
#include <thread>

#include "broker/bus.h"
#include "broker/socket_options.h"
#include "schema/event_messages.h"
#include "tests/support/child_process.h"

namespace nightshift {
namespace {

using namespace std::chrono_literals;
using testing::ChildProcess;

std::vector<nlohmann::json> json_lines(const std::string& text) {
  std::vector<nlohmann::json> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  }
  return out;
}

class BusTest : public ::testing::Test {
 protected:
  void SetUp() override { bus_ = testing::make_test_bus(); }

  std::unique_ptr<ChildProcess> start(std::vector<std::string> args,
                                      std::map<std::string, std::string> env = {}) {
    args.insert(args.begin(), {testing::nightshift_binary(), "--config", bus_.config_path});
    return std::make_unique<ChildProcess>(args, std::move(env));
  }

  std::unique_ptr<ChildProcess> start_broker() {
    auto broker = start({"broker"});
    EXPECT_TRUE(broker->wait_for_output("broker up", 5s)) << broker->stderr_text();
    return broker;
  }

  // Asks the broker's control endpoint for its counters (or `command`).
  nlohmann::json broker_stats(const std::string& command = "stats") {
    auto socket = bus::connect_socket(context_, zmq::socket_type::req, bus_.config.bus.control,
                                      bus_.config.bus);
    if (!socket) return {};
    (void)socket->send(zmq::buffer(command), zmq::send_flags::none);
    zmq::pollitem_t item{socket->handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, 3s) == 0) return {};
    zmq::message_t reply;
    (void)socket->recv(reply);
    return nlohmann::json::parse(reply.to_string());
  }

  // Waits until the broker reports `n` subscribers on the events device.
  void wait_for_subscribers(int n) {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      auto stats = broker_stats();
      if (!stats.is_null() && stats["devices"]["events"]["peers_out"].get<int>() >= n) return;
      std::this_thread::sleep_for(50ms);
    }
    FAIL() << "subscribers did not connect";
  }

  zmq::context_t context_{1};
  testing::TestBus bus_;
};

TEST_F(BusTest, EveryEventArrivesAndTopicFilteringWorks) {
  auto broker = start_broker();
  auto only_a = start({"subscribe", "demo.a", "--json", "--count", "20", "--timeout", "30"});
  auto all_demo = start({"subscribe", "demo", "--json", "--count", "40", "--timeout", "30"});
  wait_for_subscribers(2);
  auto pub_a = start({"publish", "demo.a", "-n", "20", "--rate", "200"});
  auto pub_b = start({"publish", "demo.b", "-n", "20", "--rate", "200"});
  auto pub_other = start({"publish", "other.topic", "-n", "20", "--rate", "200"});
  for (auto* p : {pub_a.get(), pub_b.get(), pub_other.get()}) EXPECT_EQ(p->wait(20s), 0);
  ASSERT_EQ(only_a->wait(30s), 0) << only_a->stderr_text();
  ASSERT_EQ(all_demo->wait(30s), 0) << all_demo->stderr_text();

  auto a_lines = json_lines(only_a->stdout_text());
  ASSERT_EQ(a_lines.size(), 20u);
  for (std::size_t i = 0; i < a_lines.size(); ++i) {
    EXPECT_EQ(a_lines[i]["topic"], "demo.a");
    EXPECT_EQ(a_lines[i]["type"], "event");
    EXPECT_EQ(a_lines[i]["seq"], i + 1) << "per-publisher sequence must be gap-free";
    EXPECT_EQ(a_lines[i]["data"]["attrs"]["i"], std::to_string(i));
  }
  auto demo_lines = json_lines(all_demo->stdout_text());
  ASSERT_EQ(demo_lines.size(), 40u);
  int a = 0, b = 0;
  for (const auto& line : demo_lines) {
    if (line["topic"] == "demo.a") ++a;
    if (line["topic"] == "demo.b") ++b;
  }
  EXPECT_EQ(a, 20);
  EXPECT_EQ(b, 20);
  EXPECT_EQ(broker->stop(), 0) << "broker exits cleanly on SIGTERM";
}

// Sends frames from the test's own PUB socket connected to `endpoint`.
class RawPublisher {
 public:
  RawPublisher(zmq::context_t& context, const config::BusConfig& bus, const std::string& endpoint,
               bool bind)
      : socket_(context, zmq::socket_type::pub) {
    bus::apply_options(socket_, bus);
    if (bind) {
      socket_.bind(endpoint);
    } else {
      socket_.connect(endpoint);
    }
  }
  void send(const std::vector<std::string>& parts) {
    for (std::size_t i = 0; i < parts.size(); ++i) {
      auto flags = i + 1 < parts.size() ? zmq::send_flags::sndmore : zmq::send_flags::none;
      (void)socket_.send(zmq::buffer(parts[i]), flags);
    }
  }
  void send_good(const std::string& topic, int i) {
    Header h;
    h.src = {"test", "raw", 1};
    h.seq = static_cast<uint64_t>(i + 1);
    send({topic, encode(h, Event{"good", {{"i", std::to_string(i)}}})});
  }
  // Every kind of bad frame the acceptance list names, and then some.
  void send_garbage(const std::string& topic) {
    std::mt19937 rng(7);
    std::string random(64, '\0');
    for (auto& c : random) c = static_cast<char>(rng());
    Header v2;
    v2.v = 2;
    std::string good = encode(Header{}, Event{"x", {}});
    send({topic + random});                                  // one frame only
    send({topic, random});                                   // random body
    send({topic, good.substr(0, good.size() / 2)});          // truncated msgpack
    send({topic, std::string("\xdd\xff\xff\xff\xff", 5)});   // array of 4G elements
    send({topic, std::string("\xdf\x7f\xff\xff\xff", 5)});   // map of 2G entries
    send({topic, encode(v2, Event{"x", {}})});               // wrong major version
    send({topic, std::string(200, '\x91') + "\x01"});        // nested too deep
    send({topic, good, "third frame"});                      // three frames
    send({topic, ""});                                       // empty body
  }

 private:
  zmq::socket_t socket_;
};

TEST_F(BusTest, MalformedFramesThroughTheBrokerAreDroppedAndGoodOnesStillFlow) {
  auto broker = start_broker();
  auto subscriber = start({"subscribe", "demo", "--json", "--count", "10", "--timeout", "30"});
  wait_for_subscribers(1);
  RawPublisher raw(context_, bus_.config.bus, bus_.config.bus.events_in, false);
  std::this_thread::sleep_for(500ms);  // subscription reaches our PUB
  for (int i = 0; i < 5; ++i) {
    raw.send_garbage("demo.bad");
    raw.send_good("demo.good", i);
  }
  // The broker is still alive and forwards a fresh publisher's events.
  auto publisher = start({"publish", "demo.late", "-n", "5", "--rate", "100"});
  EXPECT_EQ(publisher->wait(20s), 0);
  ASSERT_EQ(subscriber->wait(30s), 0) << subscriber->stderr_text();
  auto lines = json_lines(subscriber->stdout_text());
  ASSERT_EQ(lines.size(), 10u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(lines[i]["topic"], "demo.good");
  for (int i = 5; i < 10; ++i) EXPECT_EQ(lines[i]["topic"], "demo.late");
  EXPECT_NE(subscriber->stderr_text().find("dropped event"), std::string::npos);
  auto stats = broker_stats();
  ASSERT_FALSE(stats.is_null()) << "broker must still answer";
  EXPECT_EQ(stats["devices"]["events"]["dropped"], 10) << "2 frames of wrong arity, 5 rounds";
  EXPECT_TRUE(broker->running());
}

// The report that opened issue 13: a DEALER sending two frames without the
// empty delimiter aborted the broker (its REP socket threw on the reply).
TEST_F(BusTest, ControlSurvivesAnyFramesAndAnswersPingWithTheRunInstance) {
  auto broker = start({"broker"}, {{"NIGHTSHIFT_INSTANCE", "run-a"}});
  ASSERT_TRUE(broker->wait_for_output("broker up", 5s)) << broker->stderr_text();
  for (auto type : {zmq::socket_type::dealer, zmq::socket_type::req, zmq::socket_type::router}) {
    zmq::socket_t hostile(context_, type);
    hostile.set(zmq::sockopt::linger, 0);
    if (type == zmq::socket_type::req) hostile.set(zmq::sockopt::req_relaxed, 1);
    hostile.connect(bus_.config.bus.control);
    std::this_thread::sleep_for(100ms);
    for (int i = 0; i < 3; ++i) {
      (void)hostile.send(zmq::str_buffer("\x8f\x01random"), zmq::send_flags::sndmore);
      (void)hostile.send(zmq::str_buffer("\x00\xffrandom"), zmq::send_flags::dontwait);
      (void)hostile.send(zmq::message_t(), zmq::send_flags::dontwait);  // one empty frame
      (void)hostile.send(zmq::str_buffer(""), zmq::send_flags::sndmore);  // [empty][stats][x]
      (void)hostile.send(zmq::str_buffer("stats"), zmq::send_flags::sndmore);
      (void)hostile.send(zmq::str_buffer("x"), zmq::send_flags::dontwait);
    }
    std::this_thread::sleep_for(100ms);
  }
  auto stats = broker_stats();
  ASSERT_FALSE(stats.is_null()) << "the broker must still answer; " << broker->stderr_text();
  EXPECT_TRUE(broker->running());
  // DEALER: 3 x 3 malformed; REQ: its frames arrive enveloped, so only
  // [empty][stats][x] is malformed (and the lone [empty][empty] is a request);
  // ROUTER: addressed to no one, dropped by the sender.
  EXPECT_GE(stats["control"]["dropped"].get<int>(), 9) << stats.dump();
  EXPECT_EQ(stats["instance"], "run-a");
  auto pong = broker_stats("ping");
  ASSERT_FALSE(pong.is_null());
  EXPECT_EQ(pong["pong"], true);
  EXPECT_EQ(pong["instance"], "run-a");
  EXPECT_EQ(pong["pid"], broker->pid());
  EXPECT_NE(broker->stderr_text().find("control: dropped a request"), std::string::npos);
}

// A stage of a supervised run (one with an instance token) refuses another
// run's broker; a stage started by hand (no token) takes any broker.
TEST_F(BusTest, AStageWithAnInstanceTokenRefusesAnotherRunsBroker) {
  auto broker = start({"broker"}, {{"NIGHTSHIFT_INSTANCE", "run-a"}});
  ASSERT_TRUE(broker->wait_for_output("broker up", 5s)) << broker->stderr_text();
  auto foreign = start({"worker", "--id", "1"}, {{"NIGHTSHIFT_INSTANCE", "run-b"}});
  ASSERT_EQ(foreign->wait(15s), 1) << foreign->stderr_text();
  EXPECT_NE(foreign->stderr_text().find("belongs to another nightshift run (instance run-a), not "
                                        "to this one (instance run-b)"),
            std::string::npos)
      << foreign->stderr_text();
  auto by_hand = start({"broker", "--stats"});
  EXPECT_EQ(by_hand->wait(15s), 0) << by_hand->stderr_text();
}

TEST_F(BusTest, SubscriberSurvivesMalformedFramesSentDirectly) {
  // No broker: the test itself binds where subscribers connect.
  RawPublisher raw(context_, bus_.config.bus, bus_.config.bus.events_out, true);
  auto subscriber = start({"subscribe", "demo", "--json", "--count", "5", "--timeout", "30"});
  std::this_thread::sleep_for(1s);
  for (int i = 0; i < 5; ++i) {
    raw.send_garbage("demo.bad");
    raw.send_good("demo.good", i);
  }
  ASSERT_EQ(subscriber->wait(30s), 0) << subscriber->stderr_text();
  auto lines = json_lines(subscriber->stdout_text());
  ASSERT_EQ(lines.size(), 5u);
  for (const auto& line : lines) EXPECT_EQ(line["data"]["name"], "good");
  EXPECT_NE(subscriber->stderr_text().find("received 5, dropped 45 malformed"),
            std::string::npos)
      << subscriber->stderr_text();
}

TEST_F(BusTest, PublishersAndSubscribersReconnectAfterBrokerRestart) {
  auto broker = start_broker();
  auto subscriber = start({"subscribe", "tick", "--json"});
  wait_for_subscribers(1);
  auto publisher = start({"publish", "tick", "-n", "0", "--rate", "50"});
  ASSERT_TRUE(subscriber->wait_for_lines(10, 10s));

  broker->signal(SIGKILL);
  ASSERT_TRUE(broker->wait(5s));
  std::size_t before = json_lines(subscriber->stdout_text()).size();
  std::this_thread::sleep_for(1s);
  EXPECT_LE(json_lines(subscriber->stdout_text()).size(), before + 1) << "nothing flows meanwhile";

  auto restarted = start_broker();
  EXPECT_TRUE(subscriber->wait_for_lines(before + 20, 15s))
      << "traffic must resume without restarting publisher or subscriber";
  EXPECT_TRUE(publisher->running());
  EXPECT_TRUE(subscriber->running());
  EXPECT_EQ(subscriber->stop(), 0);
  EXPECT_EQ(publisher->stop(), 0);
  EXPECT_EQ(restarted->stop(), 0);
}

TEST(BusIpcTest, IpcEndpointsWorkToo) {
  std::string dir = testing::make_temp_dir("nightshift-ipc");
  auto bus = testing::make_test_bus("bus:\n  events_in: ipc://" + dir + "/events_in\n  events_out: ipc://" +
                                    dir + "/events_out\n");
  auto start = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {testing::nightshift_binary(), "--config", bus.config_path});
    return std::make_unique<ChildProcess>(args);
  };
  auto broker = start({"broker"});
  ASSERT_TRUE(broker->wait_for_output("broker up", 5s)) << broker->stderr_text();
  auto subscriber = start({"subscribe", "ipc", "--json", "--count", "3", "--timeout", "20"});
  std::this_thread::sleep_for(500ms);
  auto publisher = start({"publish", "ipc.hello", "-n", "0", "--rate", "20"});
  ASSERT_EQ(subscriber->wait(25s), 0) << subscriber->stderr_text();
  EXPECT_EQ(json_lines(subscriber->stdout_text()).size(), 3u);
  EXPECT_EQ(publisher->stop(), 0);
  EXPECT_EQ(broker->stop(), 0);
}

// ZeroMQ unlinks the file at an ipc path before it binds; without a check a
// second broker would silently take over a live broker's endpoints.
TEST(BusIpcTest, ASecondBrokerCannotTakeOverLiveIpcEndpointsInAPrivateFolder) {
  std::string dir = testing::make_temp_dir("nightshift-ipc");
  std::string yaml = "bus:\n";
  for (const char* key : {"events_in", "events_out", "jobs_in", "jobs_out", "results_in",
                          "results_out", "control"}) {
    yaml += std::string("  ") + key + ": ipc://" + dir + "/bus/" + key + "\n";
  }
  auto bus = testing::make_test_bus(yaml);
  auto start = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {testing::nightshift_binary(), "--config", bus.config_path});
    return std::make_unique<ChildProcess>(args);
  };
  auto first = start({"broker"});
  ASSERT_TRUE(first->wait_for_output("broker up", 5s)) << first->stderr_text();
  struct stat st {};
  ASSERT_EQ(stat((dir + "/bus").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);

  auto second = start({"broker"});
  EXPECT_EQ(second->wait(10s), 1);
  EXPECT_NE(second->stderr_text().find("cannot bind ipc://" + dir +
                                       "/bus/events_in: Address already in use"),
            std::string::npos)
      << second->stderr_text();
  auto stats = start({"broker", "--stats"});
  ASSERT_EQ(stats->wait(10s), 0) << "the first broker lost its endpoints: "
                                 << stats->stderr_text();

  // kill -9 leaves the socket files behind; a new broker binds over them.
  first->signal(SIGKILL);
  first->wait(5s);
  auto third = start({"broker"});
  EXPECT_TRUE(third->wait_for_output("broker up", 5s)) << third->stderr_text();
  EXPECT_EQ(third->stop(), 0);
}

TEST_F(BusTest, JobsAndResultsFlowThroughThePipelineDevices) {
  auto broker = start_broker();
  auto sender = bus::JobSender::connect(context_, bus_.config.bus, bus::self_source("test"));
  auto receiver = bus::JobReceiver::connect(context_, bus_.config.bus);
  auto result_sender =
      bus::ResultSender::connect(context_, bus_.config.bus, bus::self_source("test"));
  auto result_receiver = bus::ResultReceiver::connect(context_, bus_.config.bus);
  ASSERT_TRUE(sender && receiver && result_sender && result_receiver);
  for (int i = 0; i < 50; ++i) {
    Job job;
    job.key = {"run", "study", i};
    ASSERT_TRUE(sender->send(job, 5s)) << i;
  }
  for (int i = 0; i < 50; ++i) {
    auto job = receiver->receive(5s);
    ASSERT_TRUE(job) << i;
    EXPECT_EQ(job->payload.key.trial, i) << "a pipeline keeps order from one sender";
    JobResult result;
    result.key = job->payload.key;
    result.status = nightshift::ResultStatus::ok;
    ASSERT_TRUE(result_sender->send(result, 5s));
  }
  for (int i = 0; i < 50; ++i) {
    auto result = result_receiver->receive(5s);
    ASSERT_TRUE(result) << i;
    EXPECT_EQ(result->payload.key.trial, i);
  }
  auto stats = broker_stats();
  EXPECT_EQ(stats["devices"]["jobs"]["messages"], 50);
  EXPECT_EQ(stats["devices"]["results"]["messages"], 50);
}

// The reason jobs_out is a ROUTER with credit (broker/job_credit.h): with a
// round-robin PUSH every other job went to the busy worker and queued there.
TEST_F(BusTest, AJobGoesToAnIdleWorkerAndNeverQueuesBehindABusyOne) {
  auto broker = start_broker();
  auto sender = bus::JobSender::connect(context_, bus_.config.bus, bus::self_source("test"));
  auto busy = bus::JobReceiver::connect(context_, bus_.config.bus);
  auto idle = bus::JobReceiver::connect(context_, bus_.config.bus);
  ASSERT_TRUE(sender && busy && idle);
  Job job;
  job.key = {"run", "study", 0};
  ASSERT_TRUE(sender->send(job, 5s));
  auto first = busy->receive(5s);  // only `busy` has asked so far
  ASSERT_TRUE(first);
  EXPECT_EQ(first->payload.key.trial, 0);
  // `busy` now trains (asks for nothing); `idle` asks before every job.
  for (int i = 1; i <= 40; ++i) {
    job.key.trial = i;
    ASSERT_TRUE(sender->send(job, 5s));
    auto got = idle->receive(5s);
    ASSERT_TRUE(got) << "job " << i << " did not reach the idle worker";
    EXPECT_EQ(got->payload.key.trial, i);
  }
  // A job sent while nobody has a free slot waits in the broker for the
  // first one who asks.
  job.key.trial = 41;
  ASSERT_TRUE(sender->send(job, 5s));
  std::this_thread::sleep_for(300ms);
  auto stats = broker_stats();
  EXPECT_EQ(stats["devices"]["jobs"]["messages"], 41) << stats.dump();
  EXPECT_EQ(stats["devices"]["jobs"]["pending"], true);
  // The busy worker is done and asks: its next job is that one, so nothing
  // was queued for it meanwhile.
  auto late = busy->receive(5s);
  ASSERT_TRUE(late);
  EXPECT_EQ(late->payload.key.trial, 41);
  EXPECT_FALSE(busy->receive(300ms));
  EXPECT_FALSE(idle->receive(300ms));
  stats = broker_stats();
  EXPECT_EQ(stats["devices"]["jobs"]["messages"], 42);
  EXPECT_EQ(stats["devices"]["jobs"]["credit"]["dropped"], 0);
}

// A worker keeps asking while it waits, so a broker restarted under it hands
// it jobs again without the worker doing anything.
TEST_F(BusTest, AWaitingWorkerGetsJobsFromARestartedBroker) {
  auto broker = start_broker();
  auto receiver = bus::JobReceiver::connect(context_, bus_.config.bus);
  ASSERT_TRUE(receiver);
  EXPECT_FALSE(receiver->receive(300ms));  // has asked; nothing to take
  EXPECT_EQ(broker->stop(), 0);
  broker = start_broker();
  auto sender = bus::JobSender::connect(context_, bus_.config.bus, bus::self_source("test"));
  ASSERT_TRUE(sender);
  Job job;
  job.key = {"run", "study", 7};
  ASSERT_TRUE(sender->send(job, 5s));
  auto got = receiver->receive(5s);
  ASSERT_TRUE(got) << "the worker's repeated announcement should reach the new broker";
  EXPECT_EQ(got->payload.key.trial, 7);
}

// Garbage on the worker side of jobs_out is dropped and counted; a real
// worker beside it still gets its job.
TEST_F(BusTest, GarbageOnTheWorkerSideOfJobsOutIsCountedAndHarmless) {
  auto broker = start_broker();
  auto junk = bus::connect_socket(context_, zmq::socket_type::dealer, bus_.config.bus.jobs_out,
                                  bus_.config.bus);
  ASSERT_TRUE(junk);
  for (const std::string& frame : {std::string(""), std::string("NSJC"), std::string(16, '\xff'),
                                   std::string(100000, 'x')}) {
    (void)junk->send(zmq::buffer(frame), zmq::send_flags::none);
  }
  (void)junk->send(zmq::buffer(std::string("NSJC")), zmq::send_flags::sndmore);
  (void)junk->send(zmq::buffer(std::string(12, '\0')), zmq::send_flags::none);
  auto sender = bus::JobSender::connect(context_, bus_.config.bus, bus::self_source("test"));
  auto receiver = bus::JobReceiver::connect(context_, bus_.config.bus);
  ASSERT_TRUE(sender && receiver);
  Job job;
  job.key = {"run", "study", 1};
  ASSERT_TRUE(sender->send(job, 5s));
  auto got = receiver->receive(5s);
  ASSERT_TRUE(got);
  auto stats = broker_stats();
  EXPECT_EQ(stats["devices"]["jobs"]["credit"]["dropped"], 5);
  EXPECT_EQ(stats["errors"], 0);
}

TEST_F(BusTest, AResultFloodWaitsUpstreamInBoundedQueuesAndNoneIsLost) {
  bus_ = testing::make_test_bus("bus:\n  pipeline_hwm: 4\n");
  auto broker = start_broker();
  auto sender = bus::ResultSender::connect(context_, bus_.config.bus, bus::self_source("test"));
  auto receiver = bus::ResultReceiver::connect(context_, bus_.config.bus);
  auto publisher = bus::Publisher::connect(context_, bus_.config.bus, bus::self_source("test"));
  ASSERT_TRUE(sender && receiver && publisher);
  EXPECT_EQ(sender->socket().get(zmq::sockopt::sndhwm), 4);
  EXPECT_EQ(receiver->socket().get(zmq::sockopt::rcvhwm), 4);
  EXPECT_EQ(publisher->socket().get(zmq::sockopt::sndhwm), bus_.config.bus.send_hwm);
  // Nobody reads yet. 128 KiB results fill the kernel's socket buffers after
  // a few dozen; with the pub/sub mark of 100000 all 2000 would be queued.
  JobResult result;
  result.status = nightshift::ResultStatus::ok;
  result.reason = std::string(128 << 10, 'x');
  int accepted = 0;
  for (; accepted < 2000; ++accepted) {
    result.key = {"run", "flood", accepted};
    if (!sender->send(result, 300ms)) break;
  }
  EXPECT_LT(accepted, 2000) << "the sender was never held back";
  EXPECT_GT(accepted, 0);
  for (int i = 0; i < accepted; ++i) {
    auto got = receiver->receive(5s);
    ASSERT_TRUE(got) << "accepted result " << i << " was lost";
    EXPECT_EQ(got->payload.key.trial, i);
  }
  EXPECT_FALSE(receiver->receive(300ms)) << "a refused result was delivered";
}

// The events device runs XPUB_NODROP (Broker::at_mark). A replay's stream
// (replay.*, published with AtMark::wait as `nightshift replay` does) reaches
// a subscriber that reads slower than it is sent complete and in order: the
// broker holds a message for the full subscriber and the replay waits. With
// marks of 1000 and 20000 messages, the old lossy XPUB dropped most of them.
TEST_F(BusTest, AReplayStreamReachesASlowSubscriberWholeAndInOrder) {
  bus_ = testing::make_test_bus("bus:\n  send_hwm: 1000\n  recv_hwm: 1000\n");
  auto broker = start_broker();
  auto sub = bus::connect_socket(context_, zmq::socket_type::sub, bus_.config.bus.events_out, bus_.config.bus);
  ASSERT_TRUE(sub);
  sub->set(zmq::sockopt::subscribe, "replay.");
  wait_for_subscribers(1);
  constexpr int kMessages = 20000;
  std::thread publisher_thread([&] {
    zmq::context_t own(1);
    auto publisher = bus::Publisher::connect(own, bus_.config.bus, bus::self_source("test"), bus::AtMark::wait);
    ASSERT_TRUE(publisher) << publisher.error();
    std::this_thread::sleep_for(300ms);  // the subscription reaches it
    const std::string pad(200, 'p');
    for (int i = 0; i < kMessages; ++i) {
      ASSERT_TRUE(publisher->publish_raw("replay.telemetry.host.x", std::to_string(i) + pad, 10s)) << i;
    }
  });
  int received = 0;
  while (received < kMessages) {
    auto frame = bus::receive_raw(*sub, 5s);
    if (!frame) break;
    ASSERT_EQ(frame->frame.body, std::to_string(received) + std::string(200, 'p'));
    if (++received % 500 == 0) std::this_thread::sleep_for(10ms);  // a slow reader
  }
  publisher_thread.join();
  EXPECT_EQ(received, kMessages);
  auto stats = broker_stats()["devices"]["events"];
  EXPECT_GT(stats["replay_held"].get<int>(), 0) << stats.dump();
  EXPECT_EQ(stats["replay_missed"].get<int>(), 0) << stats.dump();
}

}  // namespace
}  // namespace nightshift
