// Row kernels of the logistic solver: one pass over a set of rows computes
// the loss, gradient and Hessian sums together, reading the rows where they
// are (a column-major matrix, e.g. the whole feature matrix of a dataset)
// and standardising them tile by tile on the fly, so a fold's training rows
// are never copied.
//
// Plain C++ on raw pointers (no Eigen): the hot functions are compiled twice,
// for x86-64-v3 (AVX2 + FMA) and for the baseline, and picked at load time
// (GCC target_clones), so the build needs no -march flag and runs anywhere.
#pragma once

#include <cstddef>
#include <vector>

#include "stages/trainer/folds.h"

namespace nightshift::trainer::kernels {

// Rows `ranges` (in order) of a column-major matrix: row t, column j is at
// data[j * stride + t]. Each value is used as (x - mean[j]) * inv_scale[j];
// mean / inv_scale null mean 0 / 1.
struct RowsView {
  const double* data = nullptr;
  std::ptrdiff_t stride = 0;
  std::size_t cols = 0;
  const RowRange* ranges = nullptr;
  std::size_t range_count = 0;
  const double* mean = nullptr;
  const double* inv_scale = nullptr;

  std::size_t rows() const;
};

// What logistic_pass computes.
enum PassParts : unsigned { kLoss = 1, kGradient = 2, kHessian = 4 };

// Sums over the rows (not means), for parameters theta = (w, b), intercept
// last (cols + 1 entries), with z = x.w + b, p = sigmoid(z):
//   loss     = sum softplus(z) - y z
//   gradient = sum (p - y) (x, 1)
//   hessian  = sum p (1 - p) (x, 1)(x, 1)^T, (cols+1)^2 row-major, symmetric
struct PassSums {
  double loss = 0;
  std::vector<double> gradient;
  std::vector<double> hessian;
};

// labels are indexed like the matrix rows (labels[t] for row t).
void logistic_pass(const RowsView& x, const double* labels, const double* theta, unsigned parts,
                   PassSums& out);

// P(y = 1) of each row, in range order, into out[0 .. x.rows()).
void logistic_probabilities(const RowsView& x, const double* theta, double* out);

// Per-column mean and population variance over the rows (mean / inv_scale
// of the view ignored). One read of the data; chunk statistics merged with
// Chan et al.'s update, so no sum-of-squares cancellation.
void column_moments(const RowsView& x, double* mean, double* variance);

// Exposed for tests: exp(x) for x <= 0 (0 below -708) and log1p(e) for e in
// [0, 1], the vector forms the pass uses, applied elementwise.
void exp_nonpositive(const double* x, double* out, std::size_t n);
void log1p_unit(const double* e, double* out, std::size_t n);

}  // namespace nightshift::trainer::kernels
