// The compiled pool: the one place where a routing decision is made.
//
// A CompiledPool owns one snapshot of a router's pool: the prompt map (hard clusters
// through a CentroidIndex, or the dense learned map W, b), the LLM features Psi (M, K),
// the prices, the tie order (cheaper first, then earlier-added) and one cache of choice
// tables. route() answers every request: any number of rows, a scalar lam or the mixed
// lam of a budget (per prompt, by a hash of its embedding), models allowed per batch or
// per prompt, a price cap per batch or per prompt, and the strict / cheapest-allowed
// fallback. The decision of a row depends on that row only, so a prompt gets the same
// model alone or inside any batch. Pure C++17; thread-safe (const methods only, the
// table cache is locked).
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "uniroute/common.hpp"
#include "uniroute/index.hpp"

namespace uniroute {

// No model satisfies a request's constraints (translated to NoFeasibleModelError).
class NoFeasibleModel : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What one route call asks. Rows are float32 embeddings (n, d), row-major.
struct RouteRequest {
  const float* X = nullptr;
  Index n = 0;
  double lam = 0.0;       // the lam of every row, or the low lam of a budget
  double lam_high = 0.0;  // a budget's high lam
  double weight = 0.0;    // fraction routed with lam_high (0: no mix)
  const std::uint8_t* allowed = nullptr;  // (M) or (n, M) 0/1; nullptr: every model
  Index allowed_stride = 0;               // 0 (one mask for the batch) or M
  const double* max_cost = nullptr;       // (1) or (n); nullptr: no cap
  Index max_cost_stride = 0;              // 0 (one cap for the batch) or 1
  bool strict = false;
};

// What a route call may also report, per row (each pointer optional).
struct RouteDetails {
  Label* cluster = nullptr;    // nearest centroid (hard) or argmax Phi (dense)
  float* sqdist = nullptr;     // squared distance to the nearest centroid (hard only)
  double* lam = nullptr;       // the lam used
  double* errors = nullptr;    // (n, M) predicted error per model
  std::uint8_t* feasible = nullptr;  // (n, M) allowed and within the cap
};

class CompiledPool {
 public:
  // psi (M, K) and cost (M) row-major doubles; W (K, d) and b (K) float32 for a learned
  // map (nullptr: hard clusters of `index`). Throws std::invalid_argument on bad input.
  CompiledPool(std::shared_ptr<const CentroidIndex> index, const double* psi,
               const double* cost, Index M, Index K, const float* W = nullptr,
               const float* b = nullptr);

  Index n_models() const { return M_; }
  Index n_clusters() const { return K_; }
  Index dim() const { return d_; }
  bool dense() const { return !W_.empty(); }
  const CentroidIndex& index() const { return *index_; }
  const std::shared_ptr<const CentroidIndex>& index_ptr() const { return index_; }
  const std::vector<double>& cluster_error() const { return psi_; }
  const std::vector<double>& cost() const { return cost_; }
  const std::vector<float>& map_weight() const { return W_; }
  const std::vector<float>& map_bias() const { return b_; }

  // The chosen model per row into out (n). Throws NoFeasibleModel for rows with no
  // allowed model, or (strict) none within the cap; std::invalid_argument for a bad lam.
  void route(const RouteRequest& req, Label* out, const RouteDetails* details = nullptr) const;
  // One prompt, no constraints, one lam: route() of that request without its per-batch
  // buffers (the same decision; the same errors, which route() itself raises).
  Label route_one(const float* x, double lam) const;

  // Soft cluster weights Phi (n, K) of rows X (dense pools only).
  void soft_assign(const float* X, Index n, float* Phi) const;
  // Predicted error (n, M) in float64 from soft weights Phi (n, K): the values route()
  // compares for a dense pool (same kernel, same order).
  void dense_errors(const float* Phi, Index n, double* out) const;
  // Chosen model per cluster at lam (hard pools), cached.
  std::shared_ptr<const std::vector<Label>> table(double lam) const;

 private:
  std::shared_ptr<const CentroidIndex> index_;
  Index M_, K_, d_;
  std::vector<double> psi_, cost_;
  std::vector<Index> order_;           // tie order: cost ascending, then index
  std::vector<double> cost_sorted_;    // cost_[order_[j]]
  std::vector<double> psiT_sorted_;    // (K, M): psi_[order_[j], k] at [k * M + j]
  std::vector<float> psi_sorted_f_;    // (M, K) float32 rows in tie order (dense route)
  std::vector<float> W_, b_;
  double psi_max_ = 0.0, cost_max_ = 0.0;
  std::shared_ptr<const std::vector<float>> planes_;  // (64, d) hash planes of budgets

  mutable std::mutex cache_mutex_;
  mutable std::vector<std::pair<double, std::shared_ptr<const std::vector<Label>>>> tables_;

  void check_lam(double lam) const;
  void logits_to_phi(float* z, Index n) const;
};

// The budget mix: a deterministic number in [0, 1) per row of X (n, d), from the signs
// of 64 fixed pseudo-random projections (bit p = x_s . plane_p > 0, x_s the hash_dims(d)
// coordinates x[j * hash_stride(d)]) mixed by splitmix64.
void mix_uniform(const float* X, Index n, Index d, double* out);

// The coordinates a budget's hash reads: every hash_stride(d)-th, hash_dims(d) of them
// (all of them for d < 256; 128 for d = 768).
Index hash_stride(Index d);
Index hash_dims(Index d);

// The 64 hash planes for embeddings of dimension d, (64, hash_dims(d)) row-major
// (cached per d).
std::shared_ptr<const std::vector<float>> hash_planes(Index d);

// out (n, K) = X (n, d) . W (K, d)^T, each entry summed in one fixed order that does
// not depend on n (so a row's result is the same alone or in any batch).
void dot_rows(const float* X, Index n, const float* W, Index K, Index d, float* out);

}  // namespace uniroute
