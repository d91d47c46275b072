#include "broker/job_credit.h"

#include <algorithm>
#include <cstring>

namespace nightshift::bus {
namespace {

constexpr char kMagic[4] = {'N', 'S', 'J', 'C'};

void put_le(std::string& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

uint64_t get_le(const unsigned char* p, int bytes) {
  uint64_t value = 0;
  for (int i = bytes - 1; i >= 0; --i) value = (value << 8) | p[i];
  return value;
}

}  // namespace

std::string encode_job_credit(const JobCredit& credit) {
  std::string out(kMagic, sizeof kMagic);
  put_le(out, credit.received, 8);
  put_le(out, credit.free, 4);
  return out;
}

std::optional<JobCredit> decode_job_credit(const void* data, std::size_t size) {
  if (size != kJobCreditSize || std::memcmp(data, kMagic, sizeof kMagic) != 0) return std::nullopt;
  const auto* p = static_cast<const unsigned char*>(data) + sizeof kMagic;
  return JobCredit{get_le(p, 8), static_cast<uint32_t>(get_le(p + 8, 4))};
}

void CreditLedger::announce(const std::string& peer, const JobCredit& credit) {
  auto it = peers_.find(peer);
  if (it == peers_.end()) {
    make_room();
    it = peers_.emplace(peer, Peer{credit.received, credit.received}).first;
  }
  Peer& p = it->second;
  // A connection's received count never goes down; one that claims more
  // than it was sent (a confused or hostile peer) earns nothing from it.
  uint64_t received = std::min(credit.received, p.sent);
  p.allowed = received + std::min(credit.free, kMaxJobCredit);
}

std::optional<std::string> CreditLedger::next_peer() {
  auto has_credit = [](const auto& entry) { return entry.second.allowed > entry.second.sent; };
  auto start = peers_.upper_bound(last_);
  if (auto it = std::find_if(start, peers_.end(), has_credit); it != peers_.end()) return it->first;
  if (auto it = std::find_if(peers_.begin(), start, has_credit); it != start) return it->first;
  return std::nullopt;
}

void CreditLedger::sent(const std::string& peer) {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return;
  ++it->second.sent;
  last_ = peer;
}

void CreditLedger::forget(const std::string& peer) { peers_.erase(peer); }

uint64_t CreditLedger::available() const {
  uint64_t total = 0;
  for (const auto& [id, p] : peers_) total += p.allowed > p.sent ? p.allowed - p.sent : 0;
  return total;
}

// Routing ids of gone connections stay until a send to them fails, which
// only happens when they have credit; bound the rest.
void CreditLedger::make_room() {
  if (peers_.size() < kMaxCreditPeers) return;
  for (auto it = peers_.begin(); it != peers_.end();) {
    it = it->second.allowed <= it->second.sent ? peers_.erase(it) : std::next(it);
  }
  if (peers_.size() >= kMaxCreditPeers) peers_.erase(peers_.begin());
}

}  // namespace nightshift::bus
