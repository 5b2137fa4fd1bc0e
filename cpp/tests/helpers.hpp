// Shared test data: clustered prompts, a random pool, and the brute-force reference
// decision (float64, the tie rule spelled out) the compiled pool is checked against.
#pragma once
#include <cstdint>
#include <limits>
#include <memory>
#include <random>
#include <vector>

#include "uniroute/index.hpp"
#include "uniroute/pool.hpp"

namespace testdata {

using uniroute::Index;
using uniroute::Label;

struct World {
  Index K, d, M, n;
  std::vector<float> C, X;
  std::vector<double> psi, cost;
};

inline World make_world(Index K, Index d, Index M, Index n, unsigned seed) {
  World w{K, d, M, n, {}, {}, {}, {}};
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  w.C.resize(static_cast<size_t>(K * d));
  for (auto& c : w.C) c = 3.0f * g(rng);
  w.X.resize(static_cast<size_t>(n * d));
  for (Index i = 0; i < n; ++i) {
    const Index k = static_cast<Index>(rng() % static_cast<std::uint64_t>(K));
    for (Index j = 0; j < d; ++j) w.X[i * d + j] = w.C[k * d + j] + g(rng);
  }
  w.psi.resize(static_cast<size_t>(M * K));
  for (auto& p : w.psi) p = u(rng);
  const double prices[] = {0.1, 0.5, 1.0, 2.0, 5.0};
  w.cost.resize(static_cast<size_t>(M));
  for (auto& c : w.cost) c = prices[rng() % 5];
  if (M >= 3) {  // an exact tie: model M-1 repeats model 0 (same row, same price)
    for (Index k = 0; k < K; ++k) w.psi[(M - 1) * K + k] = w.psi[k];
    w.cost[M - 1] = w.cost[0];
  }
  return w;
}

inline Label nearest_ref(const World& w, Index i) {
  Label best = 0;
  double bd = std::numeric_limits<double>::infinity();
  for (Index k = 0; k < w.K; ++k) {
    double s = 0;
    for (Index j = 0; j < w.d; ++j) {
      const double t = double(w.X[i * w.d + j]) - double(w.C[k * w.d + j]);
      s += t * t;
    }
    if (s < bd) {
      bd = s;
      best = k;
    }
  }
  return best;
}

// -1: no allowed model; -2: strict and nothing within the cap.
inline Label decide_ref(const World& w, const double* err, double lam, const std::uint8_t* allow,
                        double cap, bool strict) {
  Label best = -1, cheapest = -1;
  for (Index m = 0; m < w.M; ++m) {
    if (allow && !allow[m]) continue;
    if (cheapest < 0 || w.cost[m] < w.cost[cheapest]) cheapest = m;
    if (w.cost[m] > cap) continue;
    if (best < 0) {
      best = m;
      continue;
    }
    const double s = err[m] + lam * w.cost[m], sb = err[best] + lam * w.cost[best];
    if (s < sb || (s == sb && w.cost[m] < w.cost[best])) best = m;
  }
  if (cheapest < 0) return -1;
  if (best < 0) return strict ? -2 : cheapest;
  return best;
}

inline std::shared_ptr<uniroute::CentroidIndex> index_of(const World& w) {
  return std::make_shared<uniroute::CentroidIndex>(w.C.data(), w.K, w.d);
}

}  // namespace testdata
