// Publishes the worker's heartbeat on its own thread, so a long job does not
// make a live worker look dead. It owns the worker's one event publisher
// (one sequence of `seq` numbers per process): job events go through it too.
#pragma once

#include <zmq.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "broker/bus.h"
#include "schema/job_messages.h"

namespace nightshift::trainer {

class HeartbeatLoop {
 public:
  HeartbeatLoop(bus::Publisher publisher, Heartbeat initial, std::chrono::milliseconds interval);
  ~HeartbeatLoop();  // stops and joins
  HeartbeatLoop(const HeartbeatLoop&) = delete;
  HeartbeatLoop& operator=(const HeartbeatLoop&) = delete;

  // Marks the slot busy with `job` (or free with nullopt) and beats at once.
  void set_current_job(std::optional<JobKey> job, uint64_t jobs_done);
  // Publishes a job state event on the shared publisher.
  void publish_job_event(const std::string& topic, const JobEvent& event);

 private:
  void run();
  void beat_locked();

  bus::Publisher publisher_;
  Heartbeat state_;
  std::string topic_;
  std::chrono::milliseconds interval_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool beat_now_ = false;
  std::thread thread_;
};

}  // namespace nightshift::trainer
