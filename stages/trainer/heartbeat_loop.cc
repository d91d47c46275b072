#include "stages/trainer/heartbeat_loop.h"

#include "schema/topics.h"
#include "stages/trainer/process_resources.h"

namespace nightshift::trainer {

HeartbeatLoop::HeartbeatLoop(bus::Publisher publisher, Heartbeat initial,
                             std::chrono::milliseconds interval)
    : publisher_(std::move(publisher)),
      state_(std::move(initial)),
      topic_(topics::worker_heartbeat(state_.host, state_.worker_id)),
      interval_(interval),
      thread_([this] { run(); }) {}

HeartbeatLoop::~HeartbeatLoop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void HeartbeatLoop::set_current_job(std::optional<JobKey> job, uint64_t jobs_done) {
  {
    std::lock_guard lock(mutex_);
    state_.slots_free = job ? 0 : state_.slots_total;
    state_.current_job = std::move(job);
    state_.jobs_done = jobs_done;
    beat_now_ = true;
  }
  wake_.notify_all();
}

void HeartbeatLoop::publish_job_event(const std::string& topic, const JobEvent& event) {
  std::lock_guard lock(mutex_);  // the socket is used by one thread at a time
  publisher_.publish(topic, event);
}

void HeartbeatLoop::beat_locked() {
  state_.rss_bytes = current_rss_bytes();
  publisher_.publish(topic_, state_);
}

void HeartbeatLoop::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    beat_locked();
    beat_now_ = false;
    wake_.wait_for(lock, interval_, [this] { return stopping_ || beat_now_; });
  }
}

}  // namespace nightshift::trainer
