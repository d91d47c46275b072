// The name pattern (schema/names.h) and dispatch tokens
// (schema/dispatch_token.h): what a run, study or symbol may be called, and
// the proof a job attempt carries.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "schema/dispatch_token.h"
#include "schema/names.h"

namespace nightshift {
namespace {

TEST(Names, AcceptsRealTickersStudiesAndRunIds) {
  for (const char* name :
       {"BTCUSDT", "^GSPC", "BTC-USD", "EURUSD=X", "BRK.B", "GC=F", "^GSPC.1h.h4.logreg_l2",
        "BTCUSDT.1h.h4.logreg_enet", "EURUSD=X.15m.h1.logreg_l2", "r20261203-132801", "full", "a"}) {
    EXPECT_TRUE(valid_name(name)) << name << ": " << name_problem("name", name);
  }
  EXPECT_TRUE(valid_name(std::string(kMaxNameLength, 'a')));
}

TEST(Names, RefusesPathsEmptyControlCharactersAndOverlongNames) {
  const std::vector<std::string> names{"../x", "a/b", "", "..", "a..b", ".hidden", "-rf", "a b", "a\\b",
                           std::string("a\nb"), std::string("a\0b", 3), std::string("\x7f"),
                           std::string("caf\xc3\xa9"), std::string(kMaxNameLength + 1, 'a'),
                           std::string("x;rm"), std::string("a*")};
  for (const std::string& name : names) {
    EXPECT_FALSE(valid_name(name)) << name;
    EXPECT_FALSE(name_problem("study", name).empty());
  }
}

TEST(Names, TheProblemNamesWhatAndWhyPrintably) {
  EXPECT_EQ(name_problem("study", "../x"),
            "study '../x' must start with a letter, a digit or '^'");
  EXPECT_EQ(name_problem("run id", ""), "run id is empty");
  EXPECT_EQ(name_problem("symbol", "a\nb"),
            "symbol 'a\\x0ab' may hold only letters, digits and . _ = ^ -");
  EXPECT_EQ(name_problem("symbol", "a..b"), "symbol 'a..b' must not contain '..'");
  EXPECT_EQ(name_problem("symbol", "BTCUSDT"), "");
}

TEST(DispatchToken, KeysAreFreshAndWellFormed) {
  std::set<std::string> keys;
  for (int i = 0; i < 100; ++i) {
    auto key = new_dispatch_key();
    ASSERT_TRUE(key.ok()) << key.error();
    EXPECT_TRUE(valid_dispatch_key(*key)) << *key;
    keys.insert(*key);
  }
  EXPECT_EQ(keys.size(), 100u);
  EXPECT_FALSE(valid_dispatch_key(std::string(63, 'a')));
  EXPECT_FALSE(valid_dispatch_key(std::string(64, 'g')));
}

TEST(DispatchToken, DependsOnKeyRunStudyTrialAndAttempt) {
  const std::string key(64, 'a');
  const JobKey job{"r1", "BTC.1h.h1.logreg_l2", 3};
  std::string token = dispatch_token(key, job, 1);
  EXPECT_EQ(token.size(), kDispatchTokenHexLength);
  EXPECT_EQ(token, dispatch_token(key, job, 1)) << "deterministic";
  // HMAC-SHA256 as Python's hmac module computes it, first 16 bytes.
  EXPECT_EQ(token, "5c76c2a50dd54d6b4acf15402db2dc9c");
  DispatchSigner signer(key);
  EXPECT_EQ(signer.token(job, 1), token);
  EXPECT_EQ(signer.token(job, 2), dispatch_token(key, job, 2)) << "the kept state is reset";
  EXPECT_EQ(signer.token(job, 1), token);
  std::set<std::string> tokens{token,
                               dispatch_token(std::string(64, 'b'), job, 1),
                               dispatch_token(key, JobKey{"r2", job.study, 3}, 1),
                               dispatch_token(key, JobKey{"r1", "ETH.1h.h1.logreg_l2", 3}, 1),
                               dispatch_token(key, JobKey{"r1", job.study, 4}, 1),
                               dispatch_token(key, job, 2),
                               // the separator keeps fields apart
                               dispatch_token(key, JobKey{"r1\nBTC", ".1h.h1.logreg_l2", 3}, 1)};
  EXPECT_EQ(tokens.size(), 7u);
  EXPECT_TRUE(same_secret(token, dispatch_token(key, job, 1)));
  EXPECT_FALSE(same_secret(token, dispatch_token(key, job, 2)));
  EXPECT_FALSE(same_secret(token, token.substr(1)));
}

}  // namespace
}  // namespace nightshift
