#include "stages/persister/cache_commands.h"

#include <fmt/format.h>

#include <filesystem>
#include <iostream>

#include "base/file_lock.h"
#include "base/process.h"
#include "schema/sqlite.h"

namespace nightshift::persister {

Result<nlohmann::json> cache_stats_json(ResultsStore& store, const config::Config& config) {
  auto s = store.cache_summary(now_ns());
  if (!s) return s.take_error();
  const int64_t looked = s->hits + s->misses;
  nlohmann::json j;
  j["enabled"] = config.cache.enabled;
  j["ttl_hours"] = config.cache.ttl_hours;
  j["max_entries"] = config.cache.max_entries;
  j["entries"] = s->entries;
  j["trial_entries"] = s->trial_entries;
  j["final_entries"] = s->final_entries;
  j["expired_waiting"] = s->expired_waiting;
  j["oldest_created_ns"] = s->oldest_created_ns ? nlohmann::json(*s->oldest_created_ns) : nlohmann::json();
  j["newest_created_ns"] = s->newest_created_ns ? nlohmann::json(*s->newest_created_ns) : nlohmann::json();
  j["hits"] = s->hits;
  j["misses"] = s->misses;
  j["hit_rate"] = looked > 0 ? static_cast<double>(s->hits) / static_cast<double>(looked) : 0.0;
  j["entry_hits"] = s->entry_hits;
  j["expired"] = s->expired;
  j["evicted"] = s->evicted;
  return j;
}

int run_cache_stats(const config::Config& config, bool json) {
  auto store = ResultsStore::open_read_only(config.storage.results_db);
  if (!store) {
    std::cerr << "nightshift: " << store.error() << "\n";
    return 1;
  }
  if (!store->has_schema()) {
    std::cerr << "nightshift: results database " << config.storage.results_db << " has no schema yet\n";
    return 1;
  }
  auto j = cache_stats_json(*store, config);
  if (!j) {
    std::cerr << "nightshift: cache stats: " << j.error() << "\n";
    return 1;
  }
  if (json) {
    std::cout << j->dump() << "\n";
    return 0;
  }
  const auto& s = *j;
  std::cout << fmt::format("result cache ({}): {} entries ({} trials, {} final fits), {} expired waiting "
                           "for cleanup; ttl {} h, max {} entries\n",
                           s["enabled"].get<bool>() ? "enabled" : "disabled", s["entries"].get<int64_t>(),
                           s["trial_entries"].get<int64_t>(), s["final_entries"].get<int64_t>(),
                           s["expired_waiting"].get<int64_t>(), s["ttl_hours"].get<double>(),
                           s["max_entries"].get<int64_t>());
  std::cout << fmt::format("all runs: {} hits, {} misses (hit rate {:.1f}%), {} expired, {} evicted\n",
                           s["hits"].get<int64_t>(), s["misses"].get<int64_t>(),
                           100.0 * s["hit_rate"].get<double>(), s["expired"].get<int64_t>(),
                           s["evicted"].get<int64_t>());
  return 0;
}

int run_cache_clear(const config::Config& config) {
  const std::string& db = config.storage.results_db;
  if (!std::filesystem::exists(db)) {
    std::cout << "result cache: nothing to clear (" << db << " does not exist)\n";
    return 0;
  }
  // The persister is the only writer while a run goes; outside one, this is.
  FileLock lock = FileLock::try_acquire(db + ".lock");
  if (lock.state() == FileLock::State::busy) {
    std::string pid = lock.holder() > 0 ? std::to_string(lock.holder()) : "unknown";
    std::cerr << "nightshift: cache clear refused: a nightshift run (pid " << pid << ") is writing " << db
              << "; try again after it ends\n";
    return 1;
  }
  if (!lock.held()) {
    std::cerr << "nightshift: cache clear: " << lock.error() << "\n";
    return 1;
  }
  auto store = ResultsStore::open_for_writing(db);
  if (!store) {
    std::cerr << "nightshift: " << store.error() << "\n";
    return 1;
  }
  auto tx = sql::Transaction::begin(store->db());
  if (!tx) {
    std::cerr << "nightshift: cache clear: " << tx.error() << "\n";
    return 1;
  }
  auto cleared = store->clear_cache();
  if (!cleared || !tx->commit()) {
    std::cerr << "nightshift: cache clear: " << (cleared ? "commit failed" : cleared.error()) << "\n";
    return 1;
  }
  std::cout << "result cache: cleared " << *cleared << " entries\n";
  return 0;
}

}  // namespace nightshift::persister
