#include "stages/replay/replay_clock.h"

#include <cmath>

namespace nightshift::replay {

ReplayClock::ReplayClock(int64_t start_ts_ns, double speed, int64_t now_ns)
    : anchor_ts_ns_(start_ts_ns), anchor_wall_ns_(now_ns), speed_(speed) {}

int64_t ReplayClock::virtual_ns(int64_t now_ns) const {
  if (paused_ || max_speed()) return anchor_ts_ns_;
  return anchor_ts_ns_ + static_cast<int64_t>(std::llround(static_cast<double>(now_ns - anchor_wall_ns_) * speed_));
}

int64_t ReplayClock::wait_ns(int64_t ts_ns, int64_t now_ns) const {
  if (max_speed()) return 0;
  int64_t ahead = ts_ns - virtual_ns(now_ns);
  if (ahead <= 0) return 0;
  return static_cast<int64_t>(std::ceil(static_cast<double>(ahead) / speed_));
}

void ReplayClock::pause(int64_t now_ns) {
  if (paused_) return;
  anchor_ts_ns_ = virtual_ns(now_ns);
  paused_ = true;
}

void ReplayClock::resume(int64_t now_ns) {
  if (!paused_) return;
  paused_ = false;
  anchor_wall_ns_ = now_ns;
}

void ReplayClock::set_speed(double speed, int64_t now_ns) {
  anchor_ts_ns_ = virtual_ns(now_ns);
  anchor_wall_ns_ = now_ns;
  speed_ = speed;
}

void ReplayClock::jump(int64_t ts_ns, int64_t now_ns) {
  anchor_ts_ns_ = ts_ns;
  anchor_wall_ns_ = now_ns;
}

}  // namespace nightshift::replay
