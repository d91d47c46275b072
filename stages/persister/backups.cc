#include "stages/persister/backups.h"

#include <fmt/format.h>
#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <filesystem>
#include <iostream>

#include "base/file_lock.h"
#include "schema/results_store.h"

namespace nightshift::persister {
namespace {

namespace fs = std::filesystem;

constexpr const char* kPrefix = "nightshift-";
constexpr const char* kSuffix = ".db";

// "20261203T190512.123Z": fixed width, so name order is time order.
std::string utc_stamp(std::chrono::system_clock::time_point when) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(when.time_since_epoch()).count();
  std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y%m%dT%H%M%S", &utc);
  return fmt::format("{}.{:03}Z", text, ms % 1000);
}

bool is_backup_name(const std::string& name) {
  return name.rfind(kPrefix, 0) == 0 && name.size() > std::string(kSuffix).size() &&
         name.compare(name.size() - 3, 3, kSuffix) == 0;
}

std::string label_text(const std::string& label) {
  std::string out;
  for (char c : label.substr(0, 64)) {
    out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') ? c : '_';
  }
  return out.empty() ? "backup" : out;
}

std::chrono::milliseconds interval_of(const config::Config& config) {
  return std::chrono::milliseconds(
      static_cast<int64_t>(config.storage.backup_interval_hours * 3600.0 * 1000.0));
}

// "run lock held ..." when a run is using the database (the lock is ours
// to keep for the caller's whole operation otherwise).
Result<FileLock> lock_out_runs(const config::Config& config, const std::string& what) {
  const std::string& db = config.storage.results_db;
  FileLock lock = FileLock::try_acquire(db + ".lock");
  if (lock.state() == FileLock::State::busy) {
    std::string pid = lock.holder() > 0 ? std::to_string(lock.holder()) : "unknown";
    return make_error(ErrorKind::busy, what + " refused: a nightshift run (pid " + pid +
                                           ") is writing " + db + "; try again after it ends");
  }
  if (!lock.held()) return make_error(ErrorKind::unavailable, what + ": " + lock.error());
  return lock;
}

}  // namespace

std::vector<std::string> backup_files(const std::string& folder) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (is_backup_name(name) && it->is_regular_file(ec)) out.push_back(it->path().string());
  }
  std::sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) {
    return fs::path(a).filename() < fs::path(b).filename();
  });
  return out;
}

std::optional<std::chrono::system_clock::time_point> newest_backup_time(const config::Config& config) {
  auto files = backup_files(config.storage.backups_dir);
  if (files.empty()) return std::nullopt;
  std::error_code ec;
  auto written = fs::last_write_time(files.back(), ec);
  if (ec) return std::nullopt;
  return std::chrono::time_point_cast<std::chrono::system_clock::duration>(
      std::chrono::file_clock::to_sys(written));
}

Result<TakenBackup> take_backup(const config::Config& config, const std::string& label,
                                const sql::BackupPacing& pacing) {
  const std::string& folder = config.storage.backups_dir;
  std::error_code ec;
  fs::create_directories(folder, ec);
  if (ec) return make_error("backups folder " + folder + ": " + ec.message());
  TakenBackup taken;
  taken.path = (fs::path(folder) / (std::string(kPrefix) + utc_stamp(std::chrono::system_clock::now()) +
                                    "-" + label_text(label) + kSuffix))
                   .string();
  auto outcome = sql::backup_database(config.storage.results_db, taken.path, pacing);
  if (!outcome) return outcome.take_error();
  taken.outcome = *outcome;
  auto files = backup_files(folder);
  const auto keep = static_cast<std::size_t>(std::max(1, config.storage.backups_keep));
  for (std::size_t i = 0; i + keep < files.size(); ++i) {
    if (fs::remove(files[i], ec)) taken.deleted.push_back(files[i]);
  }
  return taken;
}

BackupTimer::BackupTimer(const config::Config& config, std::string label)
    : config_(config), label_(std::move(label)), interval_(interval_of(config)) {
  if (interval_.count() <= 0) return;
  thread_ = std::thread([this] { loop(); });
}

BackupTimer::~BackupTimer() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void BackupTimer::loop() {
  pthread_setname_np(pthread_self(), "persister-bak");
  // Wake often enough to keep a short interval, rarely for the usual hours.
  const auto tick = std::clamp(interval_ / 10, std::chrono::milliseconds(100),
                               std::chrono::milliseconds(60'000));
  // The first one an interval after start at the earliest: a short run gets
  // only the backup `run` takes at its end.
  const auto started = std::chrono::system_clock::now();
  std::unique_lock lock(mutex_);
  while (!wake_.wait_for(lock, tick, [this] { return stopping_; })) {
    auto last = std::max(started, newest_backup_time(config_).value_or(started));
    if (std::chrono::system_clock::now() - last < interval_) continue;
    if (!fs::exists(config_.storage.results_db)) continue;
    lock.unlock();
    auto taken = take_backup(config_, label_);
    lock.lock();
    if (!taken) {
      spdlog::warn("backup of {}: {}", config_.storage.results_db, taken.error());
      continue;  // retried at the next tick; a full disk must not spin
    }
    ++taken_;
    spdlog::info("backup {}: {} pages, {} bytes in {:.3f} s ({} steps){}", taken->path,
                 taken->outcome.pages, taken->outcome.bytes, taken->outcome.seconds,
                 taken->outcome.steps,
                 taken->deleted.empty() ? "" : fmt::format("; deleted {} older", taken->deleted.size()));
  }
}

int run_backup(const config::Config& config) {
  auto taken = take_backup(config, "manual");
  if (!taken) {
    std::cerr << "nightshift: backup failed: " << taken.error() << "\n";
    return 1;
  }
  std::cout << fmt::format("backup: {} ({} bytes, {} pages, {:.3f} s)", taken->path, taken->outcome.bytes,
                           taken->outcome.pages, taken->outcome.seconds);
  if (!taken->deleted.empty()) {
    std::cout << fmt::format("; deleted {} older (storage.backups_keep = {})", taken->deleted.size(),
                             config.storage.backups_keep);
  }
  std::cout << "\n";
  return 0;
}

int run_restore(const config::Config& config, const std::string& file) {
  const std::string& db = config.storage.results_db;
  auto lock = lock_out_runs(config, "restore");
  if (!lock) {
    std::cerr << "nightshift: " << lock.error() << "\n";
    return 1;
  }
  auto version = sql::verify_results_backup(file);
  if (!version) {
    std::cerr << "nightshift: restore refused: " << version.error() << "\n";
    return 1;
  }
  std::string replaced;
  if (fs::exists(db)) {
    auto safety = take_backup(config, "before-restore");
    if (!safety) {
      std::cerr << "nightshift: restore refused: could not back up the current database first: "
                << safety.error() << "\n";
      return 1;
    }
    replaced = safety->path;
  }
  if (auto st = sql::restore_database(file, db); !st) {
    std::cerr << "nightshift: restore failed: " << st.error() << "\n";
    return 1;
  }
  auto store = ResultsStore::open_read_only(db);
  int64_t runs = -1, trials = -1;
  if (store) {
    if (auto n = store->db().query_int("SELECT COUNT(*) FROM runs")) runs = *n;
    if (auto n = store->db().query_int("SELECT COUNT(*) FROM trials")) trials = *n;
  }
  std::cout << fmt::format("restored {} from {} (schema version {}; {} runs, {} trials rows)", db, file,
                           *version, runs, trials);
  if (!replaced.empty()) std::cout << "; the database it replaced is in " << replaced;
  std::cout << "\n";
  return 0;
}

}  // namespace nightshift::persister
