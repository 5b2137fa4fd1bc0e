#include "uniroute/index.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>

#include "parallel.hpp"
#include "uniroute/isa_kernels.hpp"
#include "uniroute/route.hpp"

namespace uniroute {

std::uint16_t float_to_half(float f) {
  std::uint32_t x;
  std::memcpy(&x, &f, sizeof x);
  const std::uint32_t sign = (x >> 16) & 0x8000u;
  const std::uint32_t abs = x & 0x7fffffffu;
  if (abs >= 0x7f800000u) return static_cast<std::uint16_t>(sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0));
  if (abs >= 0x477ff000u) return static_cast<std::uint16_t>(sign | 0x7c00u);  // rounds to inf
  if (abs < 0x38800000u) {  // subnormal half (or zero)
    if (abs < 0x33000000u) return static_cast<std::uint16_t>(sign);
    const std::uint32_t e = abs >> 23;
    const std::uint32_t m = (abs & 0x7fffffu) | 0x800000u;
    const std::uint32_t shift = 126 - e;  // 14 + (112 - e)
    std::uint32_t h = m >> shift;
    const std::uint32_t rem = m & ((1u << shift) - 1);
    const std::uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (h & 1u))) ++h;
    return static_cast<std::uint16_t>(sign | h);
  }
  std::uint32_t h = ((abs >> 13) - (112u << 10));
  const std::uint32_t rem = abs & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;
  return static_cast<std::uint16_t>(sign | h);
}

float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  std::uint32_t exp = (h >> 10) & 0x1fu;
  std::uint32_t mant = h & 0x3ffu;
  std::uint32_t bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {
      exp = 127 - 15 + 1;
      while ((mant & 0x400u) == 0) {
        mant <<= 1;
        --exp;
      }
      bits = sign | (exp << 23) | ((mant & 0x3ffu) << 13);
    }
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

CentroidIndex::CentroidIndex(const float* C, Index K, Index d, Compact compact)
    : K_(K), d_(d), C_(C, C + K * d), norms_(centroid_norms(C_.data(), K, d)),
      compact_requested_(compact) {
  if (compact == Compact::none || !std::isfinite(detail::rounding_factor(d))) return;
  K_pad_ = (K + 7) / 8 * 8;
  cn_pad_.assign(static_cast<size_t>(K_pad_), std::numeric_limits<float>::infinity());
  std::copy(norms_.cn.begin(), norms_.cn.end(), cn_pad_.begin());
  if (compact == Compact::f16) {
    build_f16();
  } else {
    build_i16();
  }
}

void CentroidIndex::build_f16() {
  const Index K = K_, d = d_;
  d_pad_ = (d + 7) / 8 * 8;
  C16_.assign(static_cast<size_t>(K_pad_ * d_pad_), 0);
  double err_max = 0, r_max = 0;
  for (Index k = 0; k < K; ++k) {
    double err = 0, r = 0;
    for (Index j = 0; j < d; ++j) {
      const std::uint16_t h = float_to_half(C_[k * d + j]);
      const double back = half_to_float(h);
      if (!std::isfinite(back)) {  // not representable: keep fp32 only
        C16_.clear();
        return;
      }
      err += (back - C_[k * d + j]) * (back - C_[k * d + j]);
      r += back * back;
      const Index g = k / 8, lane = k % 8, chunk = j / 8, off = j % 8;
      C16_[static_cast<size_t>(((g * (d_pad_ / 8) + chunk) * 8 + lane) * 8 + off)] = h;
    }
    err_max = std::max(err_max, err);
    r_max = std::max(r_max, r);
  }
  // |x.c16 - x.c| <= ||x|| ||c16 - c|| (Cauchy-Schwarz), plus the fp32 rounding of the
  // dot and of the norms; doubled for margin as in centroid_norms.
  const double g = detail::rounding_factor(d);
  const double R = std::sqrt(std::max(r_max, static_cast<double>(
                                                 *std::max_element(norms_.cn.begin(),
                                                                   norms_.cn.end()))));
  const double E = std::sqrt(err_max);
  half_delta_a_ = static_cast<float>(2.0 * (2.0 * g * R + 2.0 * E) * 1.001);
  half_delta_b_ = static_cast<float>(2.0 * g * R * R * 1.001 + 1e-30);
  compact_ = Compact::f16;
}

void CentroidIndex::build_i16() {
  const Index K = K_, d = d_;
  d_pad_ = (d + 15) / 16 * 16;
  // Each int32 lane of vpmaddwd accumulates d_pad / 8 products of |q| <= qmax.
  const double per_lane = static_cast<double>(d_pad_ / 8);
  int qmax = 32767;
  while (qmax > 1 && per_lane * double(qmax) * double(qmax) >= 2147483647.0) qmax /= 2;
  if (qmax < 255) return;  // too coarse to help: fp32 only
  qmax_ = qmax;
  Q16_.assign(static_cast<size_t>(K_pad_ * d_pad_), 0);
  qscale_.assign(static_cast<size_t>(K_pad_), 0.0f);
  double err_max = 0, r_max = 0;
  for (Index k = 0; k < K; ++k) {
    const float* c = C_.data() + k * d;
    float amax = 0;
    for (Index j = 0; j < d; ++j) amax = std::max(amax, std::fabs(c[j]));
    const float scale = amax > 0 ? amax / static_cast<float>(qmax) : 1.0f;
    qscale_[k] = scale;
    double err = 0, r = 0;
    for (Index j = 0; j < d; ++j) {
      const double q = std::clamp(std::nearbyint(double(c[j]) / scale), -double(qmax),
                                  double(qmax));
      const double back = q * scale;
      err += (back - c[j]) * (back - c[j]);
      r += back * back;
      const Index g = k / 8, lane = k % 8, chunk = j / 16, off = j % 16;
      Q16_[static_cast<size_t>(((g * (d_pad_ / 16) + chunk) * 8 + lane) * 16 + off)] =
          static_cast<std::int16_t>(q);
    }
    err_max = std::max(err_max, err);
    r_max = std::max(r_max, std::max(r, norms_.cn64[k]));
  }
  q_err_ = std::sqrt(err_max);
  q_norm_ = std::sqrt(r_max);
  compact_ = Compact::i16;
}

Compact CentroidIndex::single_path() const {
  const auto& isa = detail::active_kernels();
  if (compact_ == Compact::f16 && isa.scores_f16 != nullptr) return Compact::f16;
  if (compact_ == Compact::i16 && isa.scores_i16 != nullptr) return Compact::i16;
  return Compact::none;
}

Label CentroidIndex::nearest(const float* x, float* sqdist) const {
  constexpr Index kStack = 4096;
  alignas(32) float xbuf[kStack];
  alignas(32) float vbuf[kStack];
  alignas(32) std::int16_t qbuf[kStack];
  std::unique_ptr<float[]> xheap, vheap;
  std::unique_ptr<std::int16_t[]> qheap;
  const auto& isa = detail::active_kernels();
  const Compact path = single_path();
  float* v = vbuf;
  const Index nv = path == Compact::none ? K_ : K_pad_;
  if (nv > kStack) {
    vheap.reset(new float[static_cast<size_t>(nv)]);
    v = vheap.get();
  }
  const float xn = isa.sqnorm(x, d_);
  if (!std::isfinite(xn)) {
    *sqdist = xn;
    return -1;
  }
  const double xnorm = std::sqrt(static_cast<double>(xn));
  float delta;  // bound of |fast score - canonical score|
  if (path == Compact::f16) {
    float* xp = xbuf;
    if (d_pad_ > kStack) {
      xheap.reset(new float[static_cast<size_t>(d_pad_)]);
      xp = xheap.get();
    }
    std::copy(x, x + d_, xp);
    std::fill(xp + d_, xp + d_pad_, 0.0f);
    isa.scores_f16(xp, C16_.data(), d_pad_, K_pad_, cn_pad_.data(), v);
    delta = half_delta_a_ * static_cast<float>(xnorm) + half_delta_b_;
  } else if (path == Compact::i16) {
    std::int16_t* qx = qbuf;
    if (d_pad_ > kStack) {
      qheap.reset(new std::int16_t[static_cast<size_t>(d_pad_)]);
      qx = qheap.get();
    }
    float sx = 0;
    isa.scores_i16(x, d_, d_pad_, Q16_.data(), K_pad_, qscale_.data(), cn_pad_.data(), qmax_,
                   qx, &sx, v);
    delta = delta_i16(xnorm, sx);
  } else {
    isa.scores_f32(x, C_.data(), d_, K_, norms_.cn.data(), v);
    delta = norms_.delta_a * static_cast<float>(xnorm) + norms_.delta_b;
  }
  return pick(x, xn, v, delta, sqdist);
}

float CentroidIndex::delta_i16(double xnorm, float sx) const {
  // |x.c - xq.cq| <= ||x|| ||c - cq|| + ||x - xq|| ||cq|| (Cauchy-Schwarz), with
  // ||x - xq|| <= 0.51 sqrt(d) sx (rounding to the grid); the float lane sums and
  // scalings add at most 16 u ||xq|| ||cq||; the fp32 norms as in centroid_norms.
  const double u = std::ldexp(1.0, -24);
  const double g = detail::rounding_factor(d_);
  const double ex = 0.51 * std::sqrt(static_cast<double>(d_)) * sx;
  const double R = q_norm_;
  const double dot_err = xnorm * q_err_ + ex * R + 16.0 * u * (xnorm + ex) * R;
  return static_cast<float>(2.0 * (2.0 * dot_err + g * (R * R + 2.0 * xnorm * R)) + 1e-30);
}

Label CentroidIndex::pick(const float* x, float xn, const float* v, float delta,
                          float* sqdist) const {
  const auto& isa = detail::active_kernels();
  const float m = isa.min_value(v, K_);
  if (!std::isfinite(m)) {  // overflow of the distance form: the caller reports it
    *sqdist = std::numeric_limits<float>::infinity();
    return -1;
  }
  float best = m;
  Label arg = 0;
  if (K_ > 1) {
    const float thr = m + 2.0f * delta;
    arg = detail::pick_row(v, K_, thr, x, C_.data(), d_, norms_.cn64.data(), &best);
  }
  if (single_path() != Compact::none) {
    // A lone candidate keeps its 16-bit score (~1e-4 relative): its distance is taken
    // again with the canonical score, as accurate as the fp32 batch kernel's (d double
    // products, ~1/K of the scores' work).
    best = static_cast<float>(detail::exact_score(x, C_.data() + arg * d_, d_,
                                                  norms_.cn64[static_cast<size_t>(arg)]));
  }
  const float dist = xn + best;
  *sqdist = dist > 0.0f ? dist : 0.0f;
  return arg;
}

void CentroidIndex::nearest_pair(const float* x0, const float* x1, Label* labels,
                                 float* sqdist) const {
  const auto& isa = detail::active_kernels();
  const float xn0 = isa.sqnorm(x0, d_), xn1 = isa.sqnorm(x1, d_);
  constexpr Index kStack = 2048;
  if (single_path() != Compact::i16 || isa.scores_i16_pair == nullptr ||
      !std::isfinite(xn0) || !std::isfinite(xn1) || d_pad_ > kStack || K_pad_ > kStack) {
    labels[0] = nearest(x0, sqdist);
    labels[1] = nearest(x1, sqdist + 1);
    return;
  }
  alignas(32) float v[2 * kStack];
  alignas(32) std::int16_t qx[2 * kStack];
  float sx[2];
  isa.scores_i16_pair(x0, x1, d_, d_pad_, Q16_.data(), K_pad_, qscale_.data(), cn_pad_.data(),
                      qmax_, qx, sx, v);
  const float* xs[2] = {x0, x1};
  const float xn[2] = {xn0, xn1};
  for (int r = 0; r < 2; ++r) {
    const float delta = delta_i16(std::sqrt(static_cast<double>(xn[r])), sx[r]);
    labels[r] = pick(xs[r], xn[r], v + r * K_pad_, delta, sqdist + r);
  }
}

void CentroidIndex::assign(const float* X, Index n, Label* labels, float* sqdist) const {
  // fp16 scores are coarse (a lone candidate's distance is its fp16 score): few rows only
  const Compact path = single_path();
  if ((path == Compact::i16 && n <= kFewRows) || (path == Compact::f16 && n <= 16)) {
    // Few rows: the 16-bit single-prompt kernel row by row reads half the bytes of the
    // fp32 GEMM and needs no packing; the labels are the same (both exact).
    // Rows in pairs (the int16 kernel reads the centroids once for two prompts).
    const Index pairs = (n + 1) / 2;
    const int workers =
        detail::workers_for(pairs, 2.0 * static_cast<double>(K_) * static_cast<double>(d_));
    detail::parallel_for(pairs, workers, [&](Index p, int) {
      const Index i = 2 * p;
      if (i + 1 < n) {
        nearest_pair(X + i * d_, X + (i + 1) * d_, labels + i, sqdist + i);
      } else {
        labels[i] = nearest(X + i * d_, sqdist + i);
      }
      for (Index r = i; r < std::min(n, i + 2); ++r) {
        if (labels[r] < 0) labels[r] = 0;  // a non-finite sqdist reports the row, as
      }                                     // assign_rows does
    });
    return;
  }
  assign_rows(X, n, d_, C_.data(), norms_, K_, labels, sqdist);
}

PoolChoice::PoolChoice(const double* Psi, const double* cost, Index M, Index K)
    : M_(M), K_(K), psi_(Psi, Psi + M * K), cost_(cost, cost + M) {}

const std::vector<Label>& PoolChoice::table(double lam) const {
  if (table_.empty() || lam != lam_) {
    table_.resize(static_cast<size_t>(K_));
    choice_table(psi_.data(), cost_.data(), M_, K_, lam, table_.data());
    lam_ = lam;
  }
  return table_;
}

}  // namespace uniroute
