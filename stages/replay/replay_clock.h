// The replay's clock: where a replay stands in the stored run's time
// ("virtual time"), which runs at `speed` times the wall clock while playing
// and stands still while paused. An event is due when virtual time has
// reached its stored timestamp, so the gaps between events are the stored
// gaps divided by the speed, and lateness in one wait does not add up over
// the run (every due time comes from one anchor, not from the last event).
#pragma once

#include <cstdint>

namespace nightshift::replay {

class ReplayClock {
 public:
  // Starts at stored time `start_ts_ns`, playing, at wall time `now_ns`
  // (monotonic). `speed` 0 means as fast as possible: everything is due.
  ReplayClock(int64_t start_ts_ns, double speed, int64_t now_ns);

  int64_t virtual_ns(int64_t now_ns) const;
  // Wall nanoseconds from `now_ns` until stored time `ts_ns` is due (0: due).
  int64_t wait_ns(int64_t ts_ns, int64_t now_ns) const;

  void pause(int64_t now_ns);
  void resume(int64_t now_ns);
  void set_speed(double speed, int64_t now_ns);
  void jump(int64_t ts_ns, int64_t now_ns);  // seek or loop: virtual time becomes ts_ns

  bool paused() const { return paused_; }
  double speed() const { return speed_; }
  bool max_speed() const { return speed_ <= 0; }

 private:
  int64_t anchor_ts_ns_;
  int64_t anchor_wall_ns_;
  double speed_;
  bool paused_ = false;
};

}  // namespace nightshift::replay
