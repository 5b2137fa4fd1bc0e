// Cost-penalised argmin over a pool of LLMs: argmin_m Phi(x).Psi[m] + lam * cost[m].
// Ties go to the cheaper model, then to the lower index.
#pragma once
#include <vector>

#include "uniroute/common.hpp"

namespace uniroute {

// Models sorted by (cost ascending, index ascending): scanning in this order with a
// strict '<' implements the tie rule.
template <class T>
std::vector<Index> tie_order(const T* cost, Index M);

// Per-cluster choice for one lam: table[k] = argmin_m Psi[m, k] + lam * cost[m].
// Psi is row-major (M, K).
template <class T>
void choice_table(const T* Psi, const T* cost, Index M, Index K, T lam, Label* table);

// Dense route: Phi (n, K) row-major soft cluster weights, Psi (M, K), cost (M).
template <class T>
void route_dense(const T* Phi, Index n, Index K, const T* Psi, const T* cost, Index M, T lam,
                 Label* out);

// Hard route by lookup: out[i] = table[labels[i]]. Labels must be in [0, K).
void route_lookup(const Label* labels, Index n, const Label* table, Label* out);

// The exact lam-path for hard clusters. For cluster k, segments
// offsets[k] .. offsets[k+1]-1 give the chosen model and the lam interval
// [lam_lo, lam_hi) in which it is the argmin (lam_hi = +inf for the last segment; at a
// breakpoint the cheaper model wins). They are the vertices of the lower convex hull
// of the points (cost[m], Psi[m, k]) from the most accurate model to the cheapest.
struct RoutePath {
  std::vector<std::int64_t> offsets;
  std::vector<Label> model;
  std::vector<double> lam_lo;
  std::vector<double> lam_hi;
};
RoutePath route_path(const double* Psi, const double* cost, Index M, Index K);

}  // namespace uniroute
