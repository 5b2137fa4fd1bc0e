// Compiled routing state: centroids laid out for fast assignment, and the per-lam
// choice table of a pool. What a router keeps between calls, so that one prompt's
// decision reads as few bytes as possible and allocates nothing.
#pragma once
#include <cstdint>
#include <vector>

#include "uniroute/assign.hpp"
#include "uniroute/common.hpp"

namespace uniroute {

class CentroidIndex {
 public:
  // C: (K, d) row-major float32, copied. With `half`, a half-precision copy in a
  // streaming layout serves single prompts (exact: see nearest()).
  CentroidIndex(const float* C, Index K, Index d, bool half = true);

  Index n_clusters() const { return K_; }
  Index dim() const { return d_; }
  bool half_requested() const { return half_requested_; }
  // Whether single prompts use the fp16 copy (requested, representable, and the
  // SIMD path in use has F16C).
  bool uses_half() const;
  const float* centroids() const { return C_.data(); }
  const CentroidNorms<float>& norms() const { return norms_; }

  // Nearest centroid of one prompt x (d floats); -1 if x holds NaN/inf. Scores come
  // from the fp16 copy (or fp32 without it); every centroid whose score could be the
  // minimum within the proven error bound is re-checked with the canonical exact
  // score, so the label equals assign()'s. No allocation for d, K <= 4096.
  Label nearest(const float* x, float* sqdist) const;

  // Batch: the blocked, threaded fp32 kernel with the cached norms.
  void assign(const float* X, Index n, Label* labels, float* sqdist) const;

 private:
  Index K_, d_;
  std::vector<float> C_;
  CentroidNorms<float> norms_;
  bool half_requested_ = false;
  bool half_ = false;
  Index K_pad_ = 0, d_pad_ = 0;
  std::vector<std::uint16_t> C16_;  // grouped layout (see isa_avx2.cpp)
  std::vector<float> cn_pad_;
  float half_delta_a_ = 0, half_delta_b_ = 0;
};

// A pool's cluster errors Psi (M, K) and costs (M) with the choice table of the last
// lam used. Not thread-safe: callers serialise (the binding holds the GIL).
class PoolChoice {
 public:
  PoolChoice(const double* Psi, const double* cost, Index M, Index K);
  Index n_models() const { return M_; }
  Index n_clusters() const { return K_; }
  const std::vector<double>& cluster_error() const { return psi_; }
  const std::vector<double>& cost() const { return cost_; }
  // table[k] = argmin_m Psi[m, k] + lam * cost[m] (ties: cheaper, then lower index).
  const std::vector<Label>& table(double lam) const;

 private:
  Index M_, K_;
  std::vector<double> psi_, cost_;
  mutable double lam_ = -1.0;
  mutable std::vector<Label> table_;
};

// IEEE binary16 of a float, round to nearest even (overflow to inf).
std::uint16_t float_to_half(float f);
float half_to_float(std::uint16_t h);

}  // namespace uniroute
