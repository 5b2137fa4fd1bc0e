#include "uniroute/route.hpp"

#include <algorithm>
#include <limits>
#include <numeric>
#include <type_traits>

#include "parallel.hpp"
#include "uniroute/isa_kernels.hpp"

namespace uniroute {

template <class T>
std::vector<Index> tie_order(const T* cost, Index M) {
  std::vector<Index> order(static_cast<size_t>(M));
  std::iota(order.begin(), order.end(), Index(0));
  std::stable_sort(order.begin(), order.end(),
                   [cost](Index a, Index b) { return cost[a] < cost[b]; });
  return order;
}

template <class T>
void choice_table(const T* Psi, const T* cost, Index M, Index K, T lam, Label* table) {
  const std::vector<Index> order = tie_order(cost, M);
  for (Index k = 0; k < K; ++k) {
    T best = std::numeric_limits<T>::infinity();
    Label arg = order.empty() ? 0 : order[0];
    for (Index m : order) {
      const T s = Psi[m * K + k] + lam * cost[m];
      if (s < best) {
        best = s;
        arg = m;
      }
    }
    table[k] = arg;
  }
}

template <class T>
void route_dense(const T* Phi, Index n, Index K, const T* Psi, const T* cost, Index M, T lam,
                 Label* out) {
  if (n == 0) return;
  detail::DenseRouteArgs<T> args;
  args.Phi = Phi;
  args.K = K;
  args.M = M;
  args.out = out;
  std::vector<T> penalty(static_cast<size_t>(M));
  std::vector<Index> order;
  std::vector<T> psi_sorted;
  if (n * 4 >= M) {
    // Batch: Psi rows copied once in tie order, so each row's first minimum wins (one
    // early-exit scan per row); the O(M K) copy is spread over the rows.
    order = tie_order(cost, M);
    psi_sorted.resize(static_cast<size_t>(M * K));
    for (Index j = 0; j < M; ++j) {
      std::copy(Psi + order[j] * K, Psi + (order[j] + 1) * K, psi_sorted.begin() + j * K);
      penalty[j] = lam * cost[order[j]];
    }
    args.psi = psi_sorted.data();
    args.order = order.data();
  } else {
    // Few rows (a single prompt): no reordering or copy of Psi; the kernel resolves
    // ties among each row's minima by cost, then index.
    for (Index j = 0; j < M; ++j) penalty[j] = lam * cost[j];
    args.psi = Psi;
    args.cost = cost;
  }
  args.penalty = penalty.data();
  const auto& isa = detail::active_kernels();
  const Index B = std::min(std::clamp<Index>((Index(1) << 16) / std::max<Index>(M, 1), 16, 1024), n);
  const Index tasks = (n + B - 1) / B;
  const int workers = detail::workers_for(tasks, double(B) * K * M);
  std::vector<std::vector<T>> work(static_cast<size_t>(workers));
  detail::parallel_for(tasks, workers, [&](Index t, int w) {
    auto& buf = work[static_cast<size_t>(w)];
    if (buf.empty()) buf.resize(static_cast<size_t>(B * M));
    const Index r0 = t * B;
    const Index nr = std::min(B, n - r0);
    if constexpr (std::is_same_v<T, float>) {
      isa.route_dense_f32(args, r0, nr, buf.data());
    } else {
      isa.route_dense_f64(args, r0, nr, buf.data());
    }
  });
}

void route_lookup(const Label* labels, Index n, const Label* table, Label* out) {
  for (Index i = 0; i < n; ++i) out[i] = table[labels[i]];
}

RoutePath route_path(const double* Psi, const double* cost, Index M, Index K) {
  RoutePath path;
  path.offsets.reserve(static_cast<size_t>(K) + 1);
  path.offsets.push_back(0);
  const double inf = std::numeric_limits<double>::infinity();
  for (Index k = 0; k < K; ++k) {
    // Start at lam = 0: the most accurate model (ties: cheaper, then lower index).
    Index a = -1;
    for (Index m = 0; m < M; ++m) {
      const double y = Psi[m * K + k];
      if (a < 0 || y < Psi[a * K + k] || (y == Psi[a * K + k] && cost[m] < cost[a])) a = m;
    }
    double lam = 0.0;
    while (a >= 0) {
      path.model.push_back(a);
      path.lam_lo.push_back(lam);
      // The next vertex of the lower hull: among cheaper models, the one whose score
      // meets a's at the smallest lam (ties: the cheapest, then the lower index).
      Index next = -1;
      double next_lam = inf;
      const double ya = Psi[a * K + k];
      for (Index b = 0; b < M; ++b) {
        if (!(cost[b] < cost[a])) continue;
        const double lb = std::max(lam, (Psi[b * K + k] - ya) / (cost[a] - cost[b]));
        if (lb < next_lam || (lb == next_lam && cost[b] < cost[next])) {
          next_lam = lb;
          next = b;
        }
      }
      if (next >= 0 && !(next_lam > lam)) {
        // Rounding left a zero-width interval: the cheaper model wins at this lam.
        path.model.pop_back();
        path.lam_lo.pop_back();
      } else {
        path.lam_hi.push_back(next >= 0 ? next_lam : inf);
      }
      a = next;
      lam = std::max(lam, next_lam);
    }
    path.offsets.push_back(static_cast<std::int64_t>(path.model.size()));
  }
  return path;
}

#define UNIROUTE_INSTANTIATE(T)                                                              \
  template std::vector<Index> tie_order<T>(const T*, Index);                                 \
  template void choice_table<T>(const T*, const T*, Index, Index, T, Label*);                \
  template void route_dense<T>(const T*, Index, Index, const T*, const T*, Index, T, Label*);
UNIROUTE_INSTANTIATE(float)
UNIROUTE_INSTANTIATE(double)
#undef UNIROUTE_INSTANTIATE

}  // namespace uniroute
