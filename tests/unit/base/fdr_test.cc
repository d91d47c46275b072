// Benjamini-Hochberg adjusted p-values: a worked example, and the definition
// q_i = min over p_j >= p_i of m p_j / rank_j checked by brute force.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "base/fdr.h"

namespace nightshift {
namespace {

TEST(BenjaminiHochberg, WorkedExample) {
  // Five finite p-values (R: p.adjust(c(.01,.04,.03,.005,.5), "BH")).
  auto q = benjamini_hochberg({0.01, 0.04, 0.03, 0.005, NAN, 0.5});
  ASSERT_EQ(q.size(), 6u);
  EXPECT_DOUBLE_EQ(q[0], 0.025);
  EXPECT_DOUBLE_EQ(q[1], 0.05);
  EXPECT_DOUBLE_EQ(q[2], 0.05);
  EXPECT_DOUBLE_EQ(q[3], 0.025);
  EXPECT_TRUE(std::isnan(q[4]));  // not part of the family
  EXPECT_DOUBLE_EQ(q[5], 0.5);
  EXPECT_TRUE(benjamini_hochberg({}).empty());
  EXPECT_DOUBLE_EQ(benjamini_hochberg({0.2})[0], 0.2);
  EXPECT_DOUBLE_EQ(benjamini_hochberg({0.9, 0.9, 0.9})[1], 0.9);
}

TEST(BenjaminiHochberg, EqualsTheDefinitionOnRandomFamilies) {
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> u(0, 1);
  for (int family = 0; family < 200; ++family) {
    std::vector<double> p(1 + family % 37);
    for (double& v : p) v = family % 3 == 0 ? std::round(u(rng) * 20) / 20 : u(rng) * u(rng);  // ties too
    auto q = benjamini_hochberg(p);
    const double m = static_cast<double>(p.size());
    for (std::size_t i = 0; i < p.size(); ++i) {
      double expected = 1;
      for (std::size_t j = 0; j < p.size(); ++j) {
        if (p[j] < p[i]) continue;
        // rank of p_j: its position among the sorted values, ties at the top of their run
        double rank = 0;
        for (double other : p) rank += other <= p[j];
        expected = std::min(expected, p[j] * m / rank);
      }
      EXPECT_NEAR(q[i], expected, 1e-15) << "family " << family << " item " << i;
      EXPECT_GE(q[i], p[i] * (1 - 1e-15));  // p m / m may round one ulp down
    }
  }
}

}  // namespace
}  // namespace nightshift
