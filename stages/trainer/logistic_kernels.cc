#include "stages/trainer/logistic_kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>

// 4-double vectors (GCC vector extensions): one AVX register in the
// x86-64-v3 clone, two SSE2 registers in the baseline one. Helpers taking
// them by value are always inlined, so no vector ever crosses a call.
#pragma GCC diagnostic ignored "-Wpsabi"

// NIGHTSHIFT_KERNELS_BASELINE builds the baseline version alone (the
// trainer_kernels_baseline_test executable does, to test the path a machine
// without AVX2 takes).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(NIGHTSHIFT_KERNELS_BASELINE)
#define NS_HOT __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define NS_HOT
#endif
#define NS_INLINE inline __attribute__((always_inline))
#define NS_INLINE_LAMBDA __attribute__((always_inline))

namespace nightshift::trainer::kernels {
namespace {

typedef double v4d __attribute__((vector_size(32)));
typedef long long v4i __attribute__((vector_size(32)));

// Rows per tile: a tile of ~24 columns (24 KB) stays in L1 while the Hessian
// blocks sweep it (measured: 128 beats 256 and 512).
constexpr std::size_t kTile = 128;

NS_INLINE v4d load(const double* p) {
  v4d v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
NS_INLINE void store(double* p, v4d v) { std::memcpy(p, &v, sizeof v); }
NS_INLINE v4d splat(double x) { return v4d{x, x, x, x}; }
NS_INLINE double hsum(v4d v) { return (v[0] + v[1]) + (v[2] + v[3]); }

// exp(x) for x <= 0: x = k ln2 + r, |r| <= ln2/2 (Cody-Waite), exp(r) by its
// Taylor polynomial to r^13 (truncation < 5e-18 relative), times 2^k.
// Exactly 0 below -708 (where exp leaves the normal range).
NS_INLINE v4d vexp_nonpositive(v4d x) {
  const v4d shifter = splat(0x1.8p52);
  v4d xc = x < -708.0 ? splat(-708.0) : x;
  v4d t = xc * 0x1.71547652b82fep0 + shifter;  // x log2(e) rounded to an integer, in the low bits
  v4d k = t - shifter;
  v4d r = xc - k * 6.93147180369123816490e-01;  // ln2 high part: k * hi is exact
  r = r - k * 1.90821492927058770002e-10;       // ln2 low part
  v4d poly = splat(1.0 / 6227020800.0);         // 1/13!
  poly = poly * r + 1.0 / 479001600.0;
  poly = poly * r + 1.0 / 39916800.0;
  poly = poly * r + 1.0 / 3628800.0;
  poly = poly * r + 1.0 / 362880.0;
  poly = poly * r + 1.0 / 40320.0;
  poly = poly * r + 1.0 / 5040.0;
  poly = poly * r + 1.0 / 720.0;
  poly = poly * r + 1.0 / 120.0;
  poly = poly * r + 1.0 / 24.0;
  poly = poly * r + 1.0 / 6.0;
  poly = poly * r + 0.5;
  poly = poly * r + 1.0;
  poly = poly * r + 1.0;
  v4i kbits = reinterpret_cast<v4i>(t) - reinterpret_cast<v4i>(shifter);  // k as an integer
  v4d scale = reinterpret_cast<v4d>((kbits + 1023) << 52);                // 2^k, k in [-1022, 0]
  v4d result = poly * scale;
  return x < -708.0 ? splat(0.0) : result;
}

// log1p(e) for e in [0, 1]: 2 atanh(s) with s = e / (2 + e) <= 1/3, by its
// odd series to s^33 (truncation < 2e-17 relative).
NS_INLINE v4d vlog1p_unit(v4d e) {
  v4d s = e / (e + 2.0);
  v4d s2 = s * s;
  v4d poly = splat(1.0 / 33);
  for (int k = 31; k >= 3; k -= 2) poly = poly * s2 + 1.0 / k;
  poly = poly * s2 + 1.0;
  return 2.0 * s * poly;
}

// Walks the rows of a view in order, a tile at a time, across range ends.
struct Cursor {
  const RowsView& x;
  std::size_t range = 0;
  std::size_t at = 0;  // row inside ranges[range]

  explicit Cursor(const RowsView& view) : x(view) {
    if (x.range_count > 0) at = x.ranges[0].begin;
    skip_empty();
  }
  void skip_empty() {
    while (range < x.range_count && at >= x.ranges[range].end) {
      if (++range < x.range_count) at = x.ranges[range].begin;
    }
  }
  bool done() const { return range >= x.range_count; }
  // Next piece of at most `want` rows inside one range: [begin, begin + n).
  std::size_t next(std::size_t want, std::size_t& begin) {
    begin = at;
    std::size_t n = std::min(want, x.ranges[range].end - at);
    at += n;
    skip_empty();
    return n;
  }
};

// Fills a column-major tile (kTile rows per column) with up to kTile
// standardised rows from the cursor, labels too when `labels` is set, and
// the margins z = x.w + b of those rows on the way (theta: w, then b).
// Returns the row count; rows past it keep whatever they held.
NS_INLINE std::size_t fill_tile(Cursor& cur, double* tile, const double* labels, double* y, const double* theta,
                                double* z) {
  const RowsView& x = cur.x;
  for (std::size_t i = 0; i < kTile; i += 4) store(z + i, splat(theta[x.cols]));
  std::size_t filled = 0;
  while (filled < kTile && !cur.done()) {
    std::size_t begin = 0;
    std::size_t n = cur.next(kTile - filled, begin);
    for (std::size_t j = 0; j < x.cols; ++j) {
      const double* src = x.data + static_cast<std::ptrdiff_t>(j) * x.stride + static_cast<std::ptrdiff_t>(begin);
      double* dst = tile + j * kTile + filled;
      double* zt = z + filled;
      const double m = x.mean != nullptr ? x.mean[j] : 0.0;
      const double s = x.inv_scale != nullptr ? x.inv_scale[j] : 1.0;
      const double c = theta[j];
      for (std::size_t i = 0; i < n; ++i) {
        double v = (src[i] - m) * s;
        dst[i] = v;
        zt[i] += c * v;
      }
    }
    if (labels != nullptr) std::memcpy(y + filled, labels + begin, n * sizeof(double));
    filled += n;
  }
  return filled;
}

}  // namespace

std::size_t RowsView::rows() const {
  std::size_t n = 0;
  for (std::size_t r = 0; r < range_count; ++r) n += ranges[r].size();
  return n;
}

NS_HOT void logistic_pass(const RowsView& x, const double* labels, const double* theta, unsigned parts,
                          PassSums& out) {
  const std::size_t q = x.cols + 1;              // features + intercept
  const std::size_t qpad = (q + 3) / 4 * 4;      // tile columns, zero padded to whole 4-blocks
  std::vector<double> buffer((2 * qpad + 4) * kTile, 0.0);
  double* tile = buffer.data();                  // qpad x kTile, column-major
  double* weighted = tile + qpad * kTile;        // p(1-p) * tile
  double* z = weighted + qpad * kTile;
  double* y = z + kTile;
  double* resid = y + kTile;
  double* w = resid + kTile;
  for (std::size_t i = 0; i < kTile; ++i) tile[x.cols * kTile + i] = 1.0;

  std::vector<double> hess(qpad * qpad, 0.0);
  out.gradient.assign(q, 0.0);
  v4d loss = splat(0.0);
  Cursor cur(x);
  while (!cur.done()) {
    const std::size_t n = fill_tile(cur, tile, labels, y, theta, z);
    const std::size_t rows4 = (n + 3) / 4 * 4;  // whole vectors; lanes past n are masked to 0
    for (std::size_t i = 0; i < rows4; i += 4) {
      v4d zi = load(z + i), yi = load(y + i);
      v4d e = vexp_nonpositive(zi < 0.0 ? zi : -zi);  // exp(-|z|)
      v4d inv = 1.0 / (1.0 + e);
      v4d p = zi >= 0.0 ? inv : e * inv;
      v4d wi = e * inv * inv;  // p (1 - p) without cancellation
      v4d ri = p - yi;
      v4d li = (zi > 0.0 ? zi : splat(0.0)) + vlog1p_unit(e) - yi * zi;
      if (i + 4 > n) {
        for (std::size_t l = n - i; l < 4; ++l) wi[l] = ri[l] = li[l] = 0.0;
      }
      store(w + i, wi);
      store(resid + i, ri);
      loss += li;
    }
    if (parts & kGradient) {
      for (std::size_t j = 0; j < q; ++j) {
        const double* col = tile + j * kTile;
        v4d a0 = splat(0.0), a1 = splat(0.0);
        std::size_t i = 0;
        for (; i + 8 <= rows4; i += 8) {
          a0 += load(resid + i) * load(col + i);
          a1 += load(resid + i + 4) * load(col + i + 4);
        }
        if (i < rows4) a0 += load(resid + i) * load(col + i);
        out.gradient[j] += hsum(a0 + a1);
      }
    }
    if (parts & kHessian) {
      for (std::size_t j = 0; j < q; ++j) {
        const double* col = tile + j * kTile;
        double* dst = weighted + j * kTile;
        for (std::size_t i = 0; i < rows4; i += 4) store(dst + i, load(w + i) * load(col + i));
      }
      // Lower triangle (plus the diagonal pair's upper entry) in blocks:
      // rows j0, j0+1 of weighted^T times tile columns k0..k0+3 (8
      // accumulators, 6 loads per 8 FMAs), then a 2 x 2 block on the
      // diagonal when j0 + 2 is not a multiple of 4.
      for (std::size_t j0 = 0; j0 < q; j0 += 2) {
        const double* u0 = weighted + j0 * kTile;
        const double* u1 = u0 + kTile;
        double* h0 = hess.data() + j0 * qpad;
        double* h1 = h0 + qpad;
        std::size_t k0 = 0;
        for (; k0 + 4 <= j0 + 2; k0 += 4) {
          const double* t0 = tile + k0 * kTile;
          v4d a00 = splat(0.0), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00, a12 = a00, a13 = a00;
          for (std::size_t i = 0; i < rows4; i += 4) {
            v4d x0 = load(u0 + i), x1 = load(u1 + i);
            v4d c0 = load(t0 + i), c1 = load(t0 + kTile + i), c2 = load(t0 + 2 * kTile + i),
                c3 = load(t0 + 3 * kTile + i);
            a00 += x0 * c0; a01 += x0 * c1; a02 += x0 * c2; a03 += x0 * c3;
            a10 += x1 * c0; a11 += x1 * c1; a12 += x1 * c2; a13 += x1 * c3;
          }
          h0[k0] += hsum(a00); h0[k0 + 1] += hsum(a01); h0[k0 + 2] += hsum(a02); h0[k0 + 3] += hsum(a03);
          h1[k0] += hsum(a10); h1[k0 + 1] += hsum(a11); h1[k0 + 2] += hsum(a12); h1[k0 + 3] += hsum(a13);
        }
        if (k0 < j0 + 2) {  // then k0 == j0: the 2 x 2 diagonal block
          const double* t0 = tile + k0 * kTile;
          v4d a00 = splat(0.0), a01 = a00, a10 = a00, a11 = a00;
          for (std::size_t i = 0; i < rows4; i += 4) {
            v4d x0 = load(u0 + i), x1 = load(u1 + i);
            v4d c0 = load(t0 + i), c1 = load(t0 + kTile + i);
            a00 += x0 * c0; a01 += x0 * c1;
            a10 += x1 * c0; a11 += x1 * c1;
          }
          h0[k0] += hsum(a00); h0[k0 + 1] += hsum(a01);
          h1[k0] += hsum(a10); h1[k0 + 1] += hsum(a11);
        }
      }
    }
  }
  out.loss = (parts & kLoss) ? hsum(loss) : 0.0;
  if (parts & kHessian) {
    out.hessian.assign(q * q, 0.0);
    for (std::size_t j = 0; j < q; ++j) {
      for (std::size_t k = 0; k <= j; ++k) out.hessian[j * q + k] = out.hessian[k * q + j] = hess[j * qpad + k];
    }
  }
}

NS_HOT void logistic_probabilities(const RowsView& x, const double* theta, double* out) {
  const std::size_t q = x.cols + 1;
  std::vector<double> buffer((q + 1) * kTile, 0.0);
  double* tile = buffer.data();
  double* z = tile + q * kTile;
  for (std::size_t i = 0; i < kTile; ++i) tile[x.cols * kTile + i] = 1.0;
  Cursor cur(x);
  std::size_t written = 0;
  while (!cur.done()) {
    const std::size_t n = fill_tile(cur, tile, nullptr, nullptr, theta, z);
    const std::size_t rows4 = (n + 3) / 4 * 4;
    for (std::size_t i = 0; i < rows4; i += 4) {
      v4d zi = load(z + i);
      v4d e = vexp_nonpositive(zi < 0.0 ? zi : -zi);
      v4d inv = 1.0 / (1.0 + e);
      store(z + i, zi >= 0.0 ? inv : e * inv);
    }
    std::memcpy(out + written, z, n * sizeof(double));
    written += n;
  }
}

NS_HOT void column_moments(const RowsView& x, double* mean, double* variance) {
  constexpr std::size_t kChunk = 1024;
  for (std::size_t j = 0; j < x.cols; ++j) {
    const double* col = x.data + static_cast<std::ptrdiff_t>(j) * x.stride;
    // Work on v = x - shift, shift = the first value: a column whose mean
    // dwarfs its spread (a price level) keeps its digits in the chunk means.
    double shift = 0;
    for (std::size_t r = 0; r < x.range_count; ++r) {
      if (x.ranges[r].size() > 0) {
        shift = col[x.ranges[r].begin];
        break;
      }
    }
    double count = 0, mu = 0, m2 = 0;  // of v
    for (std::size_t r = 0; r < x.range_count; ++r) {
      for (std::size_t b = x.ranges[r].begin; b < x.ranges[r].end; b += kChunk) {
        const std::size_t n = std::min(kChunk, x.ranges[r].end - b);
        const double* v = col + b;
        v4d s0 = splat(0.0), s1 = s0;
        std::size_t i = 0;
        for (; i + 8 <= n; i += 8) {
          s0 += load(v + i) - shift;
          s1 += load(v + i + 4) - shift;
        }
        double sum = hsum(s0 + s1);
        for (; i < n; ++i) sum += v[i] - shift;
        const double chunk_mean = sum / static_cast<double>(n);
        const double center = chunk_mean + shift;
        v4d q0 = splat(0.0), q1 = q0;
        i = 0;
        for (; i + 8 <= n; i += 8) {
          v4d d0 = load(v + i) - center, d1 = load(v + i + 4) - center;
          q0 += d0 * d0;
          q1 += d1 * d1;
        }
        double chunk_m2 = hsum(q0 + q1);
        for (; i < n; ++i) chunk_m2 += (v[i] - center) * (v[i] - center);
        // Chan et al.: merge (count, mu, m2) with the chunk's.
        const double nb = static_cast<double>(n), total = count + nb;
        const double delta = chunk_mean - mu;
        mu += delta * nb / total;
        m2 += chunk_m2 + delta * delta * count * nb / total;
        count = total;
      }
    }
    mean[j] = shift + mu;
    variance[j] = count > 0 ? m2 / count : 0.0;
  }
}

namespace {

// `f` over x[0 .. n) four at a time, the last group padded with zeros.
template <typename VectorFn>
NS_INLINE void apply_by_four(VectorFn f, const double* x, double* out, std::size_t n) {
  for (std::size_t i = 0; i < n; i += 4) {
    double in[4] = {0, 0, 0, 0};
    std::size_t m = std::min<std::size_t>(4, n - i);
    std::memcpy(in, x + i, m * sizeof(double));
    double res[4];
    store(res, f(load(in)));
    std::memcpy(out + i, res, m * sizeof(double));
  }
}

}  // namespace

NS_HOT void exp_nonpositive(const double* x, double* out, std::size_t n) {
  apply_by_four([](v4d v) NS_INLINE_LAMBDA { return vexp_nonpositive(v); }, x, out, n);
}

NS_HOT void log1p_unit(const double* e, double* out, std::size_t n) {
  apply_by_four([](v4d v) NS_INLINE_LAMBDA { return vlog1p_unit(v); }, e, out, n);
}

}  // namespace nightshift::trainer::kernels
