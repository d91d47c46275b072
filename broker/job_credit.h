// Jobs go to workers that asked for them. The broker's jobs_out is a ROUTER;
// each worker's end is a DEALER that announces what it can take, and the
// broker sends a job only to a connection with credit. A round-robin PUSH
// (what jobs_out was) hands every other job to a busy worker, which queues
// it while an idle one waits: with two workers each sat idle ~40 % of the
// night (docs/scale-out.md).
//
// An announcement is absolute, so repeating it is harmless and a lost or
// late one costs nothing: "I have received `received` jobs on this
// connection and have `free` slots". The broker counts what it sent to the
// connection and allows received + free - sent more. A job in flight when
// the worker announced is in `sent` but not yet in `received`, so it is
// never counted twice. A connection the broker has not heard from before
// (a new worker, or every worker after a broker restart) starts with sent =
// received. Workers announce when they become free and again every second
// while they wait, so a restarted broker learns them within a second.
//
// Wire: one frame of 16 bytes, "NSJC", u64 received, u32 free, little-endian.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace nightshift::bus {

struct JobCredit {
  uint64_t received = 0;
  uint32_t free = 0;
};

inline constexpr std::size_t kJobCreditSize = 16;
// More free slots than this in one announcement is not a worker (a worker
// process has one slot): it is capped, so one peer cannot drain the queue.
inline constexpr uint32_t kMaxJobCredit = 64;
// Connections the ledger keeps; past this the ones without credit go first.
inline constexpr std::size_t kMaxCreditPeers = 4096;

std::string encode_job_credit(const JobCredit& credit);
// nullopt unless `size` is kJobCreditSize and the magic matches.
std::optional<JobCredit> decode_job_credit(const void* data, std::size_t size);

// The broker's side: what each connection (ROUTER routing id) may still take.
class CreditLedger {
 public:
  void announce(const std::string& peer, const JobCredit& credit);
  // The connection the next job goes to: round-robin over those with credit.
  std::optional<std::string> next_peer();
  // A job went to `peer` (after next_peer()).
  void sent(const std::string& peer);
  // `peer` is gone or cannot take more now: it earns credit again only by
  // announcing (the broker learns a connection is gone when a send fails).
  void forget(const std::string& peer);

  uint64_t available() const;  // credit summed over connections
  std::size_t peers() const { return peers_.size(); }

 private:
  struct Peer {
    uint64_t sent = 0;
    uint64_t allowed = 0;  // received + free, from the latest announcement
  };
  void make_room();

  std::map<std::string, Peer> peers_;
  std::string last_;  // the routing id the last job went to
};

}  // namespace nightshift::bus
