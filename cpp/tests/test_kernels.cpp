// Kernels the pool relies on: fixed-order dot rows, the budget hash, the half floats,
// the lam-path against the choice table.
#include <doctest/doctest.h>

#include "helpers.hpp"
#include "uniroute/route.hpp"

using namespace testdata;

TEST_CASE("dot_rows: a row's result does not depend on the batch") {
  const World w = make_world(13, 37, 3, 41, 7);
  std::vector<float> all(static_cast<size_t>(w.n * w.K)), one(static_cast<size_t>(w.K));
  uniroute::dot_rows(w.X.data(), w.n, w.C.data(), w.K, w.d, all.data());
  for (Index i = 0; i < w.n; ++i) {
    uniroute::dot_rows(w.X.data() + i * w.d, 1, w.C.data(), w.K, w.d, one.data());
    for (Index k = 0; k < w.K; ++k) {
      CHECK(one[k] == all[i * w.K + k]);
      double ref = 0;
      for (Index j = 0; j < w.d; ++j) ref += double(w.X[i * w.d + j]) * w.C[k * w.d + j];
      CHECK(all[i * w.K + k] == doctest::Approx(ref).epsilon(1e-4));
    }
  }
}

TEST_CASE("mix_uniform: deterministic, in [0, 1), the same alone or in a batch") {
  const World w = make_world(5, 32, 3, 2000, 8);
  std::vector<double> u(static_cast<size_t>(w.n));
  uniroute::mix_uniform(w.X.data(), w.n, w.d, u.data());
  double mean = 0;
  for (Index i = 0; i < w.n; ++i) {
    CHECK(u[i] >= 0.0);
    CHECK(u[i] < 1.0);
    mean += u[i] / double(w.n);
    double one;
    if (i % 97 == 0) {
      uniroute::mix_uniform(w.X.data() + i * w.d, 1, w.d, &one);
      CHECK(one == u[i]);
    }
  }
  CHECK(mean == doctest::Approx(0.5).epsilon(0.1));
}

TEST_CASE("half floats: one conversion, exact round trip of representable values") {
  for (std::uint32_t h = 0; h < 0x7c00u; h += 7) {
    const float f = uniroute::half_to_float(static_cast<std::uint16_t>(h));
    CHECK(uniroute::float_to_half(f) == h);
  }
  CHECK(uniroute::half_to_float(uniroute::float_to_half(1.0f)) == 1.0f);
}

TEST_CASE("the lam-path names the choice table's model inside every segment") {
  const World w = make_world(9, 4, 8, 1, 10);
  const auto path = uniroute::route_path(w.psi.data(), w.cost.data(), w.M, w.K);
  std::vector<Label> table(static_cast<size_t>(w.K));
  for (Index k = 0; k < w.K; ++k) {
    for (auto s = path.offsets[k]; s < path.offsets[k + 1]; ++s) {
      const double hi = std::isinf(path.lam_hi[s]) ? path.lam_lo[s] + 10 : path.lam_hi[s];
      const double lam = 0.5 * (path.lam_lo[s] + hi);
      uniroute::choice_table(w.psi.data(), w.cost.data(), w.M, w.K, lam, table.data());
      CHECK(table[k] == path.model[s]);
    }
  }
}
