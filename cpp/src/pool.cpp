#include "uniroute/pool.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <string>

#include "parallel.hpp"
#include "uniroute/isa_kernels.hpp"
#include "uniroute/route.hpp"

namespace uniroute {
namespace {

constexpr int kPlanes = 64;
// A budget's hash reads about this many evenly spaced coordinates of an embedding (all of
// them below 2 x kHashDims dims): enough for a prompt's key, and the planes stay small
// enough to share the cache with the centroids of a single decision.
constexpr Index kHashDims = 128;
constexpr size_t kTableCache = 16;
constexpr Index kRowBlock = 64;

[[noreturn]] void invalid(const std::string& msg) { throw std::invalid_argument(msg); }

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

bool row_finite(const float* x, Index d) {
  for (Index j = 0; j < d; ++j) {
    if (!std::isfinite(x[j])) return false;
  }
  return true;
}

// Calls f(r0, nr) on blocks of rows, on worker threads when the work is large.
template <class F>
void over_blocks(Index n, double work_per_row, F&& f) {
  const Index tasks = (n + kRowBlock - 1) / kRowBlock;
  const int workers = detail::workers_for(tasks, work_per_row * kRowBlock);
  detail::parallel_for(tasks, workers, [&](Index t, int) {
    const Index r0 = t * kRowBlock;
    f(r0, std::min(kRowBlock, n - r0));
  });
}

}  // namespace

void dot_rows(const float* X, Index n, const float* W, Index K, Index d, float* out) {
  detail::active_kernels().dot_rows(X, n, W, K, d, out);
}

Index hash_stride(Index d) { return std::max<Index>(1, d / kHashDims); }

Index hash_dims(Index d) {
  const Index s = hash_stride(d);
  return (d + s - 1) / s;
}

std::shared_ptr<const std::vector<float>> hash_planes(Index d) {
  static std::mutex mutex;
  static std::map<Index, std::shared_ptr<const std::vector<float>>> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto& slot = cache[d];
  if (!slot) {
    const Index h = hash_dims(d);
    auto planes = std::make_shared<std::vector<float>>(static_cast<size_t>(kPlanes * h));
    for (Index i = 0; i < h; ++i) {
      for (Index p = 0; p < kPlanes; ++p) {
        const std::uint64_t bits = splitmix64(static_cast<std::uint64_t>(i * kPlanes + p));
        const double v = static_cast<double>(bits >> 11) * std::ldexp(1.0, -52) - 1.0;
        (*planes)[static_cast<size_t>(p * h + i)] = static_cast<float>(v);
      }
    }
    slot = std::move(planes);
  }
  return slot;
}

void mix_uniform(const float* X, Index n, Index d, double* out) {
  const auto planes = hash_planes(d);
  const Index stride = hash_stride(d), h = hash_dims(d);
  over_blocks(n, double(kPlanes) * double(h), [&](Index r0, Index nr) {
    float proj[kRowBlock * kPlanes];
    std::vector<float> rows(static_cast<size_t>(nr * h));  // the coordinates hashed
    for (Index i = 0; i < nr; ++i) {
      const float* x = X + (r0 + i) * d;
      for (Index j = 0; j < h; ++j) rows[static_cast<size_t>(i * h + j)] = x[j * stride];
    }
    dot_rows(rows.data(), nr, planes->data(), kPlanes, h, proj);
    for (Index i = 0; i < nr; ++i) {
      std::uint64_t key = 0;
      for (int p = 0; p < kPlanes; ++p) {
        if (proj[i * kPlanes + p] > 0.0f) key |= std::uint64_t(1) << p;
      }
      out[r0 + i] = static_cast<double>(splitmix64(key) >> 11) * std::ldexp(1.0, -53);
    }
  });
}

CompiledPool::CompiledPool(std::shared_ptr<const CentroidIndex> index, const double* psi,
                           const double* cost, Index M, Index K, const float* W,
                           const float* b)
    : index_(std::move(index)), M_(M), K_(K), d_(0) {
  if (!index_) invalid("index must be a CentroidIndex");
  d_ = index_->dim();
  if (M < 0) invalid("cluster_error must have n_models >= 0 rows");
  if (K != index_->n_clusters()) {
    invalid("cluster_error has " + std::to_string(K) + " clusters, the index has " +
            std::to_string(index_->n_clusters()));
  }
  psi_.assign(psi, psi + M * K);
  cost_.assign(cost, cost + M);
  for (Index i = 0; i < M * K; ++i) {
    if (!std::isfinite(psi_[i])) invalid("cluster_error contains NaN or inf");
    psi_max_ = std::max(psi_max_, std::abs(psi_[i]));
  }
  for (Index m = 0; m < M; ++m) {
    if (!std::isfinite(cost_[m])) invalid("cost contains NaN or inf");
    if (cost_[m] < 0.0) {
      invalid("cost[" + std::to_string(m) + "] is negative; expected costs >= 0");
    }
    cost_max_ = std::max(cost_max_, cost_[m]);
  }
  order_ = tie_order(cost_.data(), M);
  cost_sorted_.resize(static_cast<size_t>(M));
  psiT_sorted_.resize(static_cast<size_t>(M * K));
  psi_sorted_f_.resize(static_cast<size_t>(M * K));
  for (Index j = 0; j < M; ++j) {
    const Index m = order_[static_cast<size_t>(j)];
    cost_sorted_[j] = cost_[m];
    for (Index k = 0; k < K; ++k) {
      psiT_sorted_[k * M + j] = psi_[m * K + k];
      psi_sorted_f_[j * K + k] = static_cast<float>(psi_[m * K + k]);
    }
  }
  if (W != nullptr) {
    W_.assign(W, W + K * d_);
    b_.assign(b, b + K);
    if (!row_finite(W_.data(), K * d_) || !row_finite(b_.data(), K)) {
      invalid("the learned map (map_weight, map_bias) contains NaN or inf");
    }
  }
  planes_ = hash_planes(d_);
}

void CompiledPool::check_lam(double lam) const {
  if (!std::isfinite(lam) || lam < 0.0) {
    invalid("lam must be a finite number >= 0, got " + std::to_string(lam));
  }
  if (!(psi_max_ + lam * cost_max_ < 0.25 * std::numeric_limits<double>::max())) {
    invalid("cluster_error + lam * cost overflows the float64 range; the values are too "
            "large: rescale them");
  }
}

std::shared_ptr<const std::vector<Label>> CompiledPool::table(double lam) const {
  {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    for (size_t i = 0; i < tables_.size(); ++i) {
      if (tables_[i].first == lam) {
        if (i != 0) std::swap(tables_[i], tables_[0]);  // most recent first
        return tables_[0].second;
      }
    }
  }
  auto t = std::make_shared<std::vector<Label>>(static_cast<size_t>(K_));
  choice_table(psi_.data(), cost_.data(), M_, K_, lam, t->data());
  std::lock_guard<std::mutex> lock(cache_mutex_);
  if (tables_.size() >= kTableCache) tables_.pop_back();
  tables_.insert(tables_.begin(), {lam, t});
  return t;
}

void CompiledPool::logits_to_phi(float* z, Index n) const {
  for (Index i = 0; i < n; ++i) {
    float* row = z + i * K_;
    float mx = -std::numeric_limits<float>::infinity();
    for (Index k = 0; k < K_; ++k) {
      row[k] += b_[k];
      mx = std::max(mx, row[k]);
    }
    float s = 0.0f;
    for (Index k = 0; k < K_; ++k) {
      row[k] = std::exp(row[k] - mx);
      s += row[k];
    }
    for (Index k = 0; k < K_; ++k) row[k] /= s;
  }
}

void CompiledPool::soft_assign(const float* X, Index n, float* Phi) const {
  if (!dense()) invalid("soft_assign needs a learned map; this pool has hard clusters");
  over_blocks(n, double(K_) * double(d_), [&](Index r0, Index nr) {
    dot_rows(X + r0 * d_, nr, W_.data(), K_, d_, Phi + r0 * K_);
    for (Index i = r0; i < r0 + nr; ++i) {
      for (Index k = 0; k < K_; ++k) {
        if (!std::isfinite(Phi[i * K_ + k])) {
          if (!row_finite(X + i * d_, d_)) {
            invalid("embeddings contains NaN or inf (row " + std::to_string(i) +
                    "); expected finite values");
          }
          invalid("embeddings @ map_weight.T overflows the float32 range (row " +
                  std::to_string(i) + "); the values are too large: rescale them");
        }
      }
    }
    logits_to_phi(Phi + r0 * K_, nr);
  });
}

void CompiledPool::dense_errors(const float* Phi, Index n, double* out) const {
  std::vector<float> e(static_cast<size_t>(M_));
  for (Index i = 0; i < n; ++i) {
    dot_rows(Phi + i * K_, 1, psi_sorted_f_.data(), M_, K_, e.data());
    for (Index j = 0; j < M_; ++j) out[i * M_ + order_[j]] = static_cast<double>(e[j]);
  }
}

Label CompiledPool::route_one(const float* x, double lam) const {
  Label out = -1;
  RouteRequest req;
  req.X = x;
  req.n = 1;
  req.lam = req.lam_high = lam;
  if (M_ < 1 || dense()) {
    route(req, &out);
    return out;
  }
  check_lam(lam);
  float sq = 0.0f;
  const Label k = index_->nearest(x, &sq);
  if (k < 0 || !std::isfinite(sq)) {  // route() names the problem
    route(req, &out);
    return out;
  }
  return (*table(lam))[static_cast<size_t>(k)];
}

void CompiledPool::route(const RouteRequest& req, Label* out, const RouteDetails* det) const {
  const Index n = req.n, M = M_, K = K_, d = d_;
  if (M < 1) invalid("the pool is empty; add a model first");
  check_lam(req.lam);
  const bool mixed = req.weight > 0.0;
  if (mixed) check_lam(req.lam_high);
  if (n == 0) return;
  const bool constrained = req.allowed != nullptr || req.max_cost != nullptr;
  // The per-row lam of a budget.
  std::vector<double> u;
  if (mixed) {
    u.resize(static_cast<size_t>(n));
    mix_uniform(req.X, n, d, u.data());
  }
  // The prompt map: hard labels, or the predicted errors of the dense map (tie order).
  std::vector<Label> labels;
  std::vector<float> sqdist, errs, phi;
  if (!dense()) {
    labels.resize(static_cast<size_t>(n));
    sqdist.resize(static_cast<size_t>(n));
    index_->assign(req.X, n, labels.data(), sqdist.data());
    for (Index i = 0; i < n; ++i) {
      if (labels[i] < 0 || !std::isfinite(sqdist[i])) {
        if (!row_finite(req.X + i * d, d)) {
          invalid("embeddings contains NaN or inf (row " + std::to_string(i) +
                  "); expected finite values");
        }
        invalid("the squared distance of embeddings to the centroids overflows the float32 "
                "range (row " + std::to_string(i) + "); the values are too large: rescale "
                "them or pass smaller values");
      }
    }
  } else {
    phi.resize(static_cast<size_t>(n * K));
    soft_assign(req.X, n, phi.data());
    errs.resize(static_cast<size_t>(n * M));
    over_blocks(n, double(M) * double(K), [&](Index r0, Index nr) {
      dot_rows(phi.data() + r0 * K, nr, psi_sorted_f_.data(), M, K, errs.data() + r0 * M);
    });
  }
  std::shared_ptr<const std::vector<Label>> t_low, t_high;
  if (!dense() && !constrained) {
    t_low = table(req.lam);
    if (mixed) t_high = table(req.lam_high);
  }
  const double inf = std::numeric_limits<double>::infinity();
  Index no_allowed = 0, no_allowed_first = -1, infeasible = 0, infeasible_first = -1;
  std::vector<double> col(static_cast<size_t>(M));
  for (Index i = 0; i < n; ++i) {
    const bool high = mixed && u[static_cast<size_t>(i)] < req.weight;
    const double lam = high ? req.lam_high : req.lam;
    const std::uint8_t* allow = req.allowed ? req.allowed + i * req.allowed_stride : nullptr;
    const double cap = req.max_cost ? req.max_cost[i * req.max_cost_stride] : inf;
    Label choice;
    if (t_low) {
      choice = (high ? *t_high : *t_low)[static_cast<size_t>(labels[i])];
    } else {
      const double* c;
      if (dense()) {
        const float* e = errs.data() + i * M;
        for (Index j = 0; j < M; ++j) col[j] = static_cast<double>(e[j]);
        c = col.data();
      } else {
        c = psiT_sorted_.data() + labels[i] * M;
      }
      Index best = -1, first_allowed = -1;
      double best_v = inf;
      for (Index j = 0; j < M; ++j) {
        const Index m = order_[static_cast<size_t>(j)];
        if (allow != nullptr && !allow[m]) continue;
        if (first_allowed < 0) first_allowed = j;
        if (cost_sorted_[j] > cap) continue;
        const double v = c[j] + lam * cost_sorted_[j];
        if (best < 0 || v < best_v) {
          best = j;
          best_v = v;
        }
      }
      if (best < 0) {
        if (first_allowed < 0) {
          if (no_allowed++ == 0) no_allowed_first = i;
          first_allowed = 0;
        } else if (req.strict) {
          if (infeasible++ == 0) infeasible_first = i;
        }
        best = first_allowed;  // the cheapest allowed model
      }
      choice = order_[static_cast<size_t>(best)];
    }
    out[i] = choice;
    if (det == nullptr) continue;
    if (det->lam) det->lam[i] = lam;
    if (det->cluster) {
      if (dense()) {
        const float* p = phi.data() + i * K;
        det->cluster[i] = std::max_element(p, p + K) - p;
      } else {
        det->cluster[i] = labels[i];
      }
    }
    if (det->sqdist) det->sqdist[i] = dense() ? std::nanf("") : sqdist[i];
    for (Index j = 0; j < M; ++j) {
      const Index m = order_[static_cast<size_t>(j)];
      if (det->errors) {
        det->errors[i * M + m] = dense() ? static_cast<double>(errs[i * M + j])
                                         : psiT_sorted_[labels[i] * M + j];
      }
      if (det->feasible) {
        det->feasible[i * M + m] = (allow == nullptr || allow[m]) && cost_sorted_[j] <= cap;
      }
    }
  }
  if (no_allowed > 0) {
    throw NoFeasibleModel("allowed excludes every model of the pool for " +
                          std::to_string(no_allowed) + " prompt(s), the first at index " +
                          std::to_string(no_allowed_first));
  }
  if (infeasible > 0) {
    throw NoFeasibleModel(std::to_string(infeasible) + " prompt(s), the first at index " +
                          std::to_string(infeasible_first) +
                          ", have no allowed model within max_cost (strict=True; without it "
                          "they fall back to the cheapest allowed model)");
  }
}

}  // namespace uniroute
