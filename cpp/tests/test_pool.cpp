// The compiled pool against the brute-force reference: every request shape.
#include <doctest/doctest.h>

#include <stdexcept>

#include "helpers.hpp"

using namespace testdata;
using uniroute::CompiledPool;
using uniroute::RouteRequest;

TEST_CASE("hard route: 1-D, batch and reference agree under every constraint") {
  const World w = make_world(12, 16, 7, 300, 1);
  const CompiledPool pool(index_of(w), w.psi.data(), w.cost.data(), w.M, w.K);
  std::mt19937_64 rng(5);
  for (int trial = 0; trial < 40; ++trial) {
    std::vector<std::uint8_t> allow(static_cast<size_t>(w.n * w.M));
    for (auto& a : allow) a = (rng() % 10) < 7;
    for (Index i = 0; i < w.n; ++i) allow[i * w.M + 1] = 1;  // never empty
    std::vector<double> caps(static_cast<size_t>(w.n));
    const double choices[] = {0.05, 0.1, 0.5, 1.0, 10.0};
    for (auto& c : caps) c = choices[rng() % 5];
    RouteRequest req;
    req.X = w.X.data();
    req.n = w.n;
    req.lam = 0.05 * (trial % 7);
    req.lam_high = req.lam + 0.3;
    req.weight = (trial % 3) * 0.4;
    const bool use_allow = trial % 2, use_cap = trial % 4 >= 2;
    if (use_allow) {
      req.allowed = allow.data();
      req.allowed_stride = w.M;
    }
    if (use_cap) {
      req.max_cost = caps.data();
      req.max_cost_stride = 1;
    }
    std::vector<Label> batch(static_cast<size_t>(w.n));
    pool.route(req, batch.data());
    std::vector<double> u(static_cast<size_t>(w.n));
    uniroute::mix_uniform(w.X.data(), w.n, w.d, u.data());
    for (Index i = 0; i < w.n; ++i) {
      RouteRequest one = req;
      one.X = w.X.data() + i * w.d;
      one.n = 1;
      if (use_allow) one.allowed = allow.data() + i * w.M;
      if (use_cap) one.max_cost = caps.data() + i;
      Label single = -1;
      pool.route(one, &single);
      CHECK(single == batch[i]);
      const Label k = nearest_ref(w, i);
      std::vector<double> err(static_cast<size_t>(w.M));
      for (Index m = 0; m < w.M; ++m) err[m] = w.psi[m * w.K + k];
      const double lam = req.weight > 0 && u[i] < req.weight ? req.lam_high : req.lam;
      const Label want = decide_ref(w, err.data(), lam, use_allow ? allow.data() + i * w.M : nullptr,
                                    use_cap ? caps[i] : 1e300, false);
      CHECK(batch[i] == want);
    }
  }
}

TEST_CASE("the tie rule: the cheaper model, then the earlier-added one") {
  const World w = make_world(4, 8, 5, 50, 2);  // model 4 repeats model 0
  const CompiledPool pool(index_of(w), w.psi.data(), w.cost.data(), w.M, w.K);
  std::vector<Label> out(static_cast<size_t>(w.n));
  RouteRequest req;
  req.X = w.X.data();
  req.n = w.n;
  pool.route(req, out.data());
  for (Label m : out) CHECK(m != 4);
}

TEST_CASE("no allowed model raises; strict raises instead of the fallback") {
  const World w = make_world(4, 8, 5, 20, 3);
  const CompiledPool pool(index_of(w), w.psi.data(), w.cost.data(), w.M, w.K);
  std::vector<std::uint8_t> none(static_cast<size_t>(w.M), 0);
  std::vector<Label> out(static_cast<size_t>(w.n));
  RouteRequest req;
  req.X = w.X.data();
  req.n = w.n;
  req.allowed = none.data();
  CHECK_THROWS_AS(pool.route(req, out.data()), uniroute::NoFeasibleModel);
  RouteRequest cap = req;
  cap.allowed = nullptr;
  const double zero = 0.0;
  cap.max_cost = &zero;
  pool.route(cap, out.data());  // fallback: the cheapest model (ties: the earlier)
  Label cheapest = 0;
  for (Index m = 1; m < w.M; ++m) {
    if (w.cost[m] < w.cost[cheapest]) cheapest = m;
  }
  for (Label m : out) CHECK(m == cheapest);
  cap.strict = true;
  CHECK_THROWS_AS(pool.route(cap, out.data()), uniroute::NoFeasibleModel);
  RouteRequest bad = req;
  bad.allowed = nullptr;
  bad.lam = -1.0;
  CHECK_THROWS_AS(pool.route(bad, out.data()), std::invalid_argument);
}

TEST_CASE("dense route: a row decides the same alone and in any batch") {
  const World w = make_world(10, 24, 6, 200, 4);
  std::mt19937_64 rng(9);
  std::normal_distribution<float> g(0.0f, 0.2f);
  std::vector<float> W(static_cast<size_t>(w.K * w.d)), b(static_cast<size_t>(w.K));
  for (auto& v : W) v = g(rng);
  for (auto& v : b) v = g(rng);
  const CompiledPool pool(index_of(w), w.psi.data(), w.cost.data(), w.M, w.K, W.data(),
                          b.data());
  for (double lam : {0.0, 0.01, 0.1, 0.5}) {
    RouteRequest req;
    req.X = w.X.data();
    req.n = w.n;
    req.lam = lam;
    std::vector<Label> batch(static_cast<size_t>(w.n));
    std::vector<double> err(static_cast<size_t>(w.n * w.M));
    uniroute::RouteDetails det;
    det.errors = err.data();
    pool.route(req, batch.data(), &det);
    for (Index i = 0; i < w.n; ++i) {
      RouteRequest one = req;
      one.X = w.X.data() + i * w.d;
      one.n = 1;
      Label single = -1;
      pool.route(one, &single);
      CHECK(single == batch[i]);
      CHECK(batch[i] == decide_ref(w, err.data() + i * w.M, lam, nullptr, 1e300, false));
      // the predicted errors against a float64 softmax map
      std::vector<double> z(static_cast<size_t>(w.K));
      double mx = -1e300, s = 0;
      for (Index k = 0; k < w.K; ++k) {
        double t = b[k];
        for (Index j = 0; j < w.d; ++j) t += double(W[k * w.d + j]) * w.X[i * w.d + j];
        z[k] = t;
        mx = std::max(mx, t);
      }
      for (auto& t : z) s += (t = std::exp(t - mx));
      for (Index m = 0; m < w.M; ++m) {
        double e = 0;
        for (Index k = 0; k < w.K; ++k) e += z[k] / s * w.psi[m * w.K + k];
        CHECK(err[i * w.M + m] == doctest::Approx(e).epsilon(1e-5));
      }
    }
  }
}
