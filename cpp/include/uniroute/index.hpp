// Compiled routing state: centroids laid out for fast assignment, and the per-lam
// choice table of a pool. What a router keeps between calls, so that one prompt's
// decision reads as few bytes as possible and allocates nothing.
#pragma once
#include <cstdint>
#include <vector>

#include "uniroute/assign.hpp"
#include "uniroute/common.hpp"

namespace uniroute {

// The 16-bit copy of the centroids that serves single prompts: none (fp32 rows), IEEE
// half precision (F16C), or int16 fixed point with one scale per centroid (vpmaddwd:
// no conversion in the inner loop). Both halve the bytes read per prompt.
enum class Compact { none = 0, f16 = 1, i16 = 2 };

class CentroidIndex {
 public:
  // C: (K, d) row-major float32, copied, plus the `compact` copy in a streaming layout
  // (exact: see nearest()).
  CentroidIndex(const float* C, Index K, Index d, Compact compact = Compact::i16);

  Index n_clusters() const { return K_; }
  Index dim() const { return d_; }
  Compact compact_requested() const { return compact_requested_; }
  // What single prompts use: the requested 16-bit copy if it could be built and the
  // SIMD path in use has its kernel, else fp32.
  Compact single_path() const;
  const float* centroids() const { return C_.data(); }
  const CentroidNorms<float>& norms() const { return norms_; }

  // Nearest centroid of one prompt x (d floats); -1 if x holds NaN/inf. Scores come
  // from the fp16 copy (or fp32 without it); every centroid whose score could be the
  // minimum within the proven error bound is re-checked with the canonical exact
  // score, so the label equals assign()'s. No allocation for d, K <= 4096.
  Label nearest(const float* x, float* sqdist) const;

  // Two prompts through the int16 kernel at once (the centroids are read once for both);
  // the same labels and distances as nearest() on each. Falls back to nearest() per row
  // when the int16 path is not in use or a row holds NaN/inf.
  void nearest_pair(const float* x0, const float* x1, Label* labels, float* sqdist) const;

  // Batch: up to kFewRows rows (16 with fp16 scores) through nearest_pair(), more
  // through the blocked, threaded fp32 kernel with the cached norms (same labels either
  // way). The int16 kernel reads half the bytes of fp32 and needs no packing: two rows at
  // a time it runs at or below the sgemm of the same product up to a few thousand rows.
  static constexpr Index kFewRows = 4096;
  void assign(const float* X, Index n, Label* labels, float* sqdist) const;

 private:
  Index K_, d_;
  std::vector<float> C_;
  CentroidNorms<float> norms_;
  Compact compact_requested_ = Compact::none;
  Compact compact_ = Compact::none;  // what was built
  Index K_pad_ = 0, d_pad_ = 0;
  std::vector<std::uint16_t> C16_;  // fp16, grouped layout (see isa_avx2.cpp)
  std::vector<std::int16_t> Q16_;   // int16, grouped layout (see isa_avx2.cpp)
  std::vector<float> qscale_;       // per-centroid scale of Q16_
  int qmax_ = 0;
  double q_err_ = 0, q_norm_ = 0;   // max ||c - scale Q||, max(||c||, ||scale Q||)
  std::vector<float> cn_pad_;
  float half_delta_a_ = 0, half_delta_b_ = 0;

  void build_f16();
  void build_i16();
  // |fast - canonical score| bound of the int16 path for a prompt of norm xnorm and
  // quantization scale sx; the exact pick among the scores v within 2 bounds of the min.
  float delta_i16(double xnorm, float sx) const;
  Label pick(const float* x, float xn, const float* v, float delta, float* sqdist) const;
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
