#include "uniroute/assign.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "parallel.hpp"
#include "uniroute/isa_kernels.hpp"

namespace uniroute {
namespace {

// Rows per GEMM block. Every block's GEMM packs all K centroids again, so a block
// must be tall enough to amortise that (at K = 1,000, d = 1,536 the old L2-sized
// blocks of 131 rows repacked 6 MB per 131 rows: 1.32x faiss on one thread, 1.03x with
// 1,024 rows); the block product (rows x K floats) is capped at 16 MB per thread.
Index block_rows(Index K) {
  const Index target = Index(1) << 22;  // elements of the block product
  return std::clamp<Index>(target / std::max<Index>(K, 1), 64, 1024);
}

template <class T>
void run_assign(const detail::AssignArgs<T>& args, Index n) {
  const auto& isa = detail::active_kernels();
  // Blocks near L2's size, but at least ~4 per thread so that a small batch still
  // spreads over the threads (and a busy core does not hold up the others).
  const Index per_thread = (n + 4 * num_threads() - 1) / (4 * num_threads());
  const Index B = std::min(block_rows(args.K), std::max<Index>(per_thread, 16));
  const Index tasks = (n + B - 1) / B;
  const int workers = detail::workers_for(tasks, double(B) * args.K * args.d);
  std::vector<std::vector<T>> work(static_cast<size_t>(workers));
  detail::parallel_for(tasks, workers, [&](Index t, int w) {
    auto& buf = work[static_cast<size_t>(w)];
    if (buf.empty()) buf.resize(static_cast<size_t>(B * args.K));
    const Index r0 = t * B;
    const Index nr = std::min(B, n - r0);
    if constexpr (std::is_same_v<T, float>) {
      isa.assign_f32(args, r0, nr, buf.data());
    } else {
      isa.assign_f64(args, r0, nr, buf.data());
    }
  });
}

}  // namespace

template <class T>
void row_sqnorms(const T* X, Index n, Index d, T* out) {
  for (Index i = 0; i < n; ++i) {
    const T* x = X + i * d;
    T s = 0;
    for (Index j = 0; j < d; ++j) s += x[j] * x[j];
    out[i] = s;
  }
}

template <class T>
CentroidNorms<T> centroid_norms(const T* C, Index K, Index d) {
  CentroidNorms<T> norms;
  norms.cn.resize(static_cast<size_t>(K));
  if constexpr (std::is_same_v<T, float>) {
    const auto& isa = detail::active_kernels();
    norms.cn64.resize(static_cast<size_t>(K));
    double r2 = 0;
    for (Index k = 0; k < K; ++k) {
      const float* c = C + k * d;
      norms.cn[k] = isa.sqnorm(c, d);  // SIMD (any order: the bound below allows it)
      const double s = detail::dot64(c, c, d);  // the canonical norm (exact_score's)
      norms.cn64[k] = s;
      r2 = std::max(r2, s);
    }
    // A score cn - 2 x.c in fp32, summed in any order, is within
    // (gamma_d + u) (||c||^2 + 2 ||x|| ||c||) of the exact one; doubled for margin.
    const double g = detail::rounding_factor(d);
    if (std::isfinite(g)) {
      const double R = std::sqrt(r2);
      norms.delta_a = static_cast<float>(2.0 * g * 2.0 * R * 1.001);
      norms.delta_b = static_cast<float>(2.0 * g * r2 * 1.001 + 1e-30);
    } else {
      norms.delta_a = 0;
      norms.delta_b = std::numeric_limits<float>::infinity();
    }
  } else {
    row_sqnorms(C, K, d, norms.cn.data());
  }
  return norms;
}

template <class T>
void assign_rows(const T* X, Index n, Index d, const T* C, const CentroidNorms<T>& norms,
                 Index K, Label* labels, T* sqdist) {
  if (n == 0) return;
  detail::AssignArgs<T> args;
  args.X = X;
  args.d = d;
  args.C = C;
  args.K = K;
  args.cn = norms.cn.data();
  args.cn64 = norms.cn64.empty() ? nullptr : norms.cn64.data();
  args.delta_a = norms.delta_a;
  args.delta_b = norms.delta_b;
  args.labels = labels;
  args.sqdist = sqdist;
  run_assign(args, n);
}

template <class T>
void assign_rows(const T* X, Index n, Index d, const T* C, const T* cnorm, Index K,
                 Label* labels, T* sqdist) {
  if (n == 0) return;
  CentroidNorms<T> norms = centroid_norms(C, K, d);
  std::copy(cnorm, cnorm + K, norms.cn.begin());
  assign_rows(X, n, d, C, norms, K, labels, sqdist);
}

template <class T>
void soft_assign_rows(const T* X, Index n, Index d, const T* W, const T* b, Index K, T* P) {
  if (n == 0) return;
  const auto& isa = detail::active_kernels();
  const Index B = std::min(block_rows(K), n);
  const Index tasks = (n + B - 1) / B;
  const int workers = detail::workers_for(tasks, double(B) * K * d);
  detail::parallel_for(tasks, workers, [&](Index t, int) {
    const Index r0 = t * B;
    const Index nr = std::min(B, n - r0);
    if constexpr (std::is_same_v<T, float>) {
      isa.soft_assign_f32(X + r0 * d, nr, d, W, b, K, P + r0 * K);
    } else {
      isa.soft_assign_f64(X + r0 * d, nr, d, W, b, K, P + r0 * K);
    }
  });
}

template <class T>
void cluster_sums(const T* X, Index n, Index d, const Label* labels, Index K, double* sums,
                  std::int64_t* counts) {
  // Each worker sums a contiguous share of the rows into its own (K, d) buffer; the
  // buffers are added in worker order, so the result depends only on the thread count.
  const int workers = std::min<int>(
      detail::workers_for(n, 2.0 * static_cast<double>(d)),
      static_cast<int>(std::max<Index>(1, n / std::max<Index>(1, 4 * K))));
  std::vector<std::vector<double>> part(static_cast<size_t>(std::max(0, workers - 1)));
  std::vector<std::vector<std::int64_t>> part_counts(part.size());
  const Index share = (n + workers - 1) / std::max(workers, 1);
  detail::parallel_for(workers, workers, [&](Index w, int) {
    double* s = sums;
    std::int64_t* c = counts;
    if (w > 0) {
      part[w - 1].assign(static_cast<size_t>(K * d), 0.0);
      part_counts[w - 1].assign(static_cast<size_t>(K), 0);
      s = part[w - 1].data();
      c = part_counts[w - 1].data();
    }
    const Index i1 = std::min(n, (w + 1) * share);
    for (Index i = w * share; i < i1; ++i) {
      const Label k = labels[i];
      double* row = s + k * d;
      const T* x = X + i * d;
      for (Index j = 0; j < d; ++j) row[j] += static_cast<double>(x[j]);
      c[k] += 1;
    }
  });
  for (size_t p = 0; p < part.size(); ++p) {
    for (Index j = 0; j < K * d; ++j) sums[j] += part[p][j];
    for (Index k = 0; k < K; ++k) counts[k] += part_counts[p][k];
  }
}

#define UNIROUTE_INSTANTIATE(T)                                                              \
  template void row_sqnorms<T>(const T*, Index, Index, T*);                                  \
  template CentroidNorms<T> centroid_norms<T>(const T*, Index, Index);                       \
  template void assign_rows<T>(const T*, Index, Index, const T*, const CentroidNorms<T>&,    \
                               Index, Label*, T*);                                           \
  template void assign_rows<T>(const T*, Index, Index, const T*, const T*, Index, Label*, T*); \
  template void soft_assign_rows<T>(const T*, Index, Index, const T*, const T*, Index, T*);   \
  template void cluster_sums<T>(const T*, Index, Index, const Label*, Index, double*,         \
                                std::int64_t*);
UNIROUTE_INSTANTIATE(float)
UNIROUTE_INSTANTIATE(double)
#undef UNIROUTE_INSTANTIATE

}  // namespace uniroute
