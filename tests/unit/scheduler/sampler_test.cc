// The samplers against their contracts: grid visits each point once, random
// stays in bounds and on its scale, TPE finds better values than random on
// standard test functions, keeps trials in flight apart, and suggests the
// same point from the same history.
#include "stages/scheduler/sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "stages/scheduler/plan.h"
#include "stages/scheduler/tpe_sampler.h"

namespace nightshift::scheduler {
namespace {

using config::ModelSpace;
using config::ParamSpace;

TEST(GridSampler, CoversTheProductOfTheGridsExactlyOnce) {
  ModelSpace space{{"C", ParamSpace{"float", 0.001, 100, true, {0.01, 0.1, 1}}},
                   {"l1_ratio", ParamSpace{"float", 0, 1, false, {0.2, 0.8}}},
                   {"depth", ParamSpace{"int", 2, 4, false, {}}}};  // grid: 2, 3, 4
  ASSERT_EQ(grid_size(space), 18u);
  std::set<Params> seen;
  for (uint64_t i = 0; i < grid_size(space); ++i) seen.insert(grid_params(space, i));
  EXPECT_EQ(seen.size(), 18u);
  for (double c : {0.01, 0.1, 1.0}) {
    for (double l1 : {0.2, 0.8}) {
      for (double d : {2.0, 3.0, 4.0}) {
        EXPECT_TRUE(seen.count(Params{{"C", c}, {"depth", d}, {"l1_ratio", l1}})) << c << " " << l1 << " " << d;
      }
    }
  }
}

TEST(GridSampler, PlansOneTrialPerGridPointEvenWhenMoreTrialsAreAsked) {
  config::Config c;
  c.symbols = {"AAA"};
  c.timeframes = {"1h"};
  c.horizons = {1};
  c.models = {"logreg_enet"};  // C: 6 values x l1_ratio: 3 values
  c.scheduler.sampler = "grid";
  c.scheduler.trials_per_study = 100;
  std::multiset<Params> planned;
  for (const auto& state : plan_run(c, "r")) {
    if (state.job.kind == JobKind::trial) planned.insert(state.job.params);
  }
  EXPECT_EQ(planned.size(), 18u);
  EXPECT_EQ(std::set<Params>(planned.begin(), planned.end()).size(), 18u);
}

TEST(RandomSampler, RespectsBoundsAndLogScales) {
  ModelSpace space{{"C", ParamSpace{"float", 1e-3, 1e2, true, {}}},
                   {"x", ParamSpace{"float", -1, 3, false, {}}},
                   {"n", ParamSpace{"int", 2, 8, false, {}}},
                   {"k", ParamSpace{"categorical", 0, 1, false, {1, 5, 9}}}};
  std::mt19937_64 rng(7);
  const int draws = 20000;
  int c_below_0_1 = 0;
  double x_sum = 0;
  std::map<double, int> n_counts, k_counts;
  for (int i = 0; i < draws; ++i) {
    Params p = random_params(space, rng);
    ASSERT_TRUE(inside(space, p));
    if (p.at("C") < 0.1) ++c_below_0_1;
    x_sum += p.at("x");
    ++n_counts[p.at("n")];
    ++k_counts[p.at("k")];
  }
  // log-uniform over 5 decades: 2 of them lie below 0.1 (uniform: 0.1%).
  EXPECT_NEAR(c_below_0_1 / double(draws), 0.4, 0.02);
  EXPECT_NEAR(x_sum / draws, 1.0, 0.05);
  EXPECT_EQ(n_counts.size(), 7u);
  for (const auto& [n, count] : n_counts) EXPECT_NEAR(count / double(draws), 1.0 / 7, 0.015) << n;
  EXPECT_EQ(k_counts.size(), 3u);
}

// Minimised test functions, over x in [-5, 10], y in [0, 15] (Branin's box).
double shifted_quadratic(double x, double y) { return (x - 3.3) * (x - 3.3) + 2 * (y - 11.7) * (y - 11.7); }
double branin(double x, double y) {
  const double b = 5.1 / (4 * M_PI * M_PI), c = 5 / M_PI, t = 1 / (8 * M_PI);
  double s = y - b * x * x + c * x - 6;
  return s * s + 10 * (1 - t) * std::cos(x) + 10;  // minimum 0.397887
}

const ModelSpace kBox{{"x", ParamSpace{"float", -5, 10, false, {}}},
                      {"y", ParamSpace{"float", 0, 15, false, {}}}};

// The best value after `trials` sequential trials of one seed.
template <class F>
double best_after(bool tpe, uint64_t seed, int trials, F f) {
  config::TpeConfig settings;
  std::vector<FinishedTrial> finished;
  double best = INFINITY;
  for (int t = 0; t < trials; ++t) {
    auto rng = trial_rng(static_cast<int64_t>(seed), "study", t);
    Params p = tpe ? tpe_suggest(kBox, finished, {}, settings, rng) : random_params(kBox, rng);
    EXPECT_TRUE(inside(kBox, p));
    double value = f(p.at("x"), p.at("y"));
    best = std::min(best, value);
    finished.push_back(FinishedTrial{p, -value});  // the sampler maximises
  }
  return best;
}

template <class F>
std::pair<double, double> medians(F f) {
  std::vector<double> tpe, random;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    tpe.push_back(best_after(true, seed, 100, f));
    random.push_back(best_after(false, seed, 100, f));
  }
  std::sort(tpe.begin(), tpe.end());
  std::sort(random.begin(), random.end());
  return {(tpe[9] + tpe[10]) / 2, (random[9] + random[10]) / 2};
}

TEST(TpeSampler, BeatsRandomSearchOnAShiftedQuadratic) {
  auto [tpe, random] = medians(shifted_quadratic);
  std::cout << "shifted quadratic, median best of 20 seeds at 100 trials: tpe " << tpe
            << ", random " << random << "\n";
  EXPECT_LT(tpe, random);
}

TEST(TpeSampler, BeatsRandomSearchOnBranin) {
  auto [tpe, random] = medians(branin);
  std::cout << "branin, median best of 20 seeds at 100 trials: tpe " << tpe << ", random "
            << random << "\n";
  EXPECT_LT(tpe, random);
}

// Workers ask one after another while earlier suggestions are still running:
// no two trials in flight may be equal, even in a space of 9 points.
TEST(TpeSampler, NeverSuggestsATrialThatIsInFlight) {
  ModelSpace small{{"n", ParamSpace{"int", 1, 3, false, {}}},
                   {"k", ParamSpace{"categorical", 0, 1, false, {10, 20, 30}}}};
  config::TpeConfig settings;
  settings.n_startup_trials = 2;
  std::vector<FinishedTrial> finished{{Params{{"n", 2}, {"k", 20}}, 0.6},
                                      {Params{{"n", 1}, {"k", 10}}, 0.5}};
  std::vector<Params> in_flight;
  for (int t = 0; t < 9; ++t) {
    auto rng = trial_rng(0, "s", t);
    Params p = tpe_suggest(small, finished, in_flight, settings, rng);
    EXPECT_TRUE(std::find(in_flight.begin(), in_flight.end(), p) == in_flight.end()) << t;
    in_flight.push_back(p);
  }
  EXPECT_EQ(std::set<Params>(in_flight.begin(), in_flight.end()).size(), 9u);

  // In a continuous space the liar pushes the next suggestion elsewhere too.
  std::vector<FinishedTrial> history;
  for (int t = 0; t < 30; ++t) {
    auto rng = trial_rng(1, "s", t);
    Params p = random_params(kBox, rng);
    history.push_back(FinishedTrial{p, -shifted_quadratic(p.at("x"), p.at("y"))});
  }
  auto rng_a = trial_rng(1, "s", 30);
  Params first = tpe_suggest(kBox, history, {}, settings, rng_a);
  auto rng_b = trial_rng(1, "s", 30);  // the same draws: only the liar differs
  Params second = tpe_suggest(kBox, history, {first}, settings, rng_b);
  EXPECT_NE(first, second);
}

TEST(TpeSampler, SuggestsTheSameFromTheSameHistory) {
  std::vector<FinishedTrial> history;
  for (int t = 0; t < 25; ++t) {
    auto rng = trial_rng(3, "s", t);
    Params p = random_params(kBox, rng);
    history.push_back(FinishedTrial{p, -branin(p.at("x"), p.at("y"))});
  }
  config::TpeConfig settings;
  auto rng_a = trial_rng(3, "s", 25);
  auto rng_b = trial_rng(3, "s", 25);
  EXPECT_EQ(tpe_suggest(kBox, history, {}, settings, rng_a),
            tpe_suggest(kBox, history, {}, settings, rng_b));
}

TEST(Plan, TpeTrialsAfterTheStartupAreSuggestedAtDispatch) {
  config::Config c;
  c.symbols = {"AAA"};
  c.timeframes = {"1h"};
  c.horizons = {1};
  c.scheduler.sampler = "tpe";
  c.scheduler.trials_per_study = 12;
  c.scheduler.tpe.n_startup_trials = 4;
  int empty = 0, drawn = 0;
  for (const auto& state : plan_run(c, "r")) {
    if (state.job.kind != JobKind::trial) continue;
    (state.job.params.empty() ? empty : drawn) += 1;
    if (state.job.key.trial < 4) {
      EXPECT_FALSE(state.job.params.empty());
    }
  }
  EXPECT_EQ(drawn, 4);
  EXPECT_EQ(empty, 8);
}

}  // namespace
}  // namespace nightshift::scheduler
