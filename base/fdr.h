// False-discovery-rate control over a family of p-values.
//
// Benjamini-Hochberg step-up adjusted p-values ("q-values" in the sense of
// R's p.adjust(method = "BH")): with the m finite p-values sorted ascending,
// q_(i) = min over j >= i of min(1, m p_(j) / j). Rejecting every test with
// q <= alpha controls the expected share of false rejections at alpha when the
// tests are independent or positively dependent (PRDS), which covers
// one-sided tests whose statistics are positively correlated — studies of one
// symbol at several horizons and timeframes. Non-finite p-values are not
// part of the family and get NaN.
#pragma once

#include <vector>

namespace nightshift {

std::vector<double> benjamini_hochberg(const std::vector<double>& p_values);

}  // namespace nightshift
