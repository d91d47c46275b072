// The jobs pipeline's credit (broker/job_credit.h): the wire frame and the
// broker's ledger of what each worker connection may still take.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "broker/job_credit.h"

namespace nightshift::bus {
namespace {

TEST(JobCreditTest, AFrameRoundTripsAndAnythingElseIsRefused) {
  std::string frame = encode_job_credit({123456789012345ull, 7});
  ASSERT_EQ(frame.size(), kJobCreditSize);
  auto back = decode_job_credit(frame.data(), frame.size());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->received, 123456789012345ull);
  EXPECT_EQ(back->free, 7u);
  EXPECT_FALSE(decode_job_credit(frame.data(), frame.size() - 1));
  std::string longer = frame + "x";
  EXPECT_FALSE(decode_job_credit(longer.data(), longer.size()));
  std::string wrong = frame;
  wrong[0] = 'X';
  EXPECT_FALSE(decode_job_credit(wrong.data(), wrong.size()));
  EXPECT_FALSE(decode_job_credit("", 0));
}

TEST(JobCreditTest, OnlyAnnouncedSlotsAreFilled) {
  CreditLedger ledger;
  EXPECT_FALSE(ledger.next_peer());
  ledger.announce("a", {0, 1});
  auto peer = ledger.next_peer();
  ASSERT_TRUE(peer);
  EXPECT_EQ(*peer, "a");
  ledger.sent("a");
  EXPECT_FALSE(ledger.next_peer()) << "a's one slot is taken";
  // The same announcement again (a repeat, or one sent before the job
  // arrived) gives nothing: the job in flight is not counted twice.
  ledger.announce("a", {0, 1});
  EXPECT_FALSE(ledger.next_peer());
  // a received the job and is free again.
  ledger.announce("a", {1, 1});
  EXPECT_EQ(ledger.next_peer().value_or(""), "a");
  // a received it and is busy.
  ledger.announce("a", {1, 0});
  EXPECT_FALSE(ledger.next_peer());
}

TEST(JobCreditTest, ABusyWorkerGetsNothingWhileAnIdleOneGetsEverything) {
  CreditLedger ledger;
  ledger.announce("busy", {0, 1});
  ledger.announce("idle", {0, 1});
  ASSERT_EQ(ledger.next_peer().value_or(""), "busy");
  ledger.sent("busy");  // busy runs it and does not announce again
  for (uint64_t i = 0; i < 50; ++i) {
    auto peer = ledger.next_peer();
    ASSERT_EQ(peer.value_or(""), "idle") << i;
    ledger.sent("idle");
    EXPECT_FALSE(ledger.next_peer());
    ledger.announce("idle", {i + 1, 1});
  }
}

TEST(JobCreditTest, JobsGoRoundRobinOverConnectionsWithCredit) {
  CreditLedger ledger;
  for (const char* p : {"a", "b", "c"}) ledger.announce(p, {0, 4});
  std::map<std::string, int> got;
  for (int i = 0; i < 12; ++i) {
    auto peer = ledger.next_peer();
    ASSERT_TRUE(peer) << i;
    ++got[*peer];
    ledger.sent(*peer);
  }
  EXPECT_EQ(got, (std::map<std::string, int>{{"a", 4}, {"b", 4}, {"c", 4}}));
  EXPECT_FALSE(ledger.next_peer());
  EXPECT_EQ(ledger.available(), 0u);
}

TEST(JobCreditTest, ANewConnectionStartsFromWhatItSaysItReceived) {
  // After a broker restart a worker that had received 57 jobs reconnects: it
  // may take one more, not 58.
  CreditLedger ledger;
  ledger.announce("w", {57, 1});
  EXPECT_EQ(ledger.available(), 1u);
}

TEST(JobCreditTest, AHostilePeerCannotClaimMoreThanTheCap) {
  CreditLedger ledger;
  ledger.announce("x", {0, 0xffffffffu});
  EXPECT_EQ(ledger.available(), kMaxJobCredit);
  // Claiming to have received more than it was sent earns nothing.
  ledger.announce("x", {1'000'000, 0});
  EXPECT_EQ(ledger.available(), 0u);
  ledger.announce("x", {~0ull, kMaxJobCredit});
  EXPECT_EQ(ledger.available(), kMaxJobCredit);
}

TEST(JobCreditTest, AForgottenConnectionEarnsOnlyByAnnouncingAgain) {
  CreditLedger ledger;
  ledger.announce("gone", {0, 1});
  ledger.forget("gone");
  EXPECT_FALSE(ledger.next_peer());
  ledger.announce("gone", {3, 1});
  EXPECT_EQ(ledger.available(), 1u);
}

TEST(JobCreditTest, TheLedgerStaysBoundedUnderAFloodOfConnections) {
  CreditLedger ledger;
  std::mt19937_64 rng(7);
  for (int i = 0; i < 3 * static_cast<int>(kMaxCreditPeers); ++i) {
    ledger.announce("peer" + std::to_string(i), {rng() % 100, static_cast<uint32_t>(rng() % 2)});
    ASSERT_LE(ledger.peers(), kMaxCreditPeers);
  }
  // A peer announced last is still there.
  ledger.announce("last", {0, 1});
  EXPECT_LE(ledger.peers(), kMaxCreditPeers);
  bool found = false;
  for (int i = 0; i < 3 * static_cast<int>(kMaxCreditPeers) && !found; ++i) {
    auto peer = ledger.next_peer();
    if (!peer) break;
    found = *peer == "last";
    ledger.sent(*peer);
  }
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace nightshift::bus
