// Concurrency: one compiled pool routed from several threads at once (the table cache
// is shared), while another thread changes the kernel thread count. Run under
// ThreadSanitizer by tools/tsan.sh.
#include <doctest/doctest.h>

#include <atomic>
#include <thread>

#include "helpers.hpp"
#include "uniroute/simd.hpp"

using namespace testdata;
using uniroute::CompiledPool;
using uniroute::RouteRequest;

TEST_CASE("routing from many threads gives the single-threaded answers") {
  const World w = make_world(16, 32, 9, 400, 11);
  const CompiledPool pool(index_of(w), w.psi.data(), w.cost.data(), w.M, w.K);
  const double lams[] = {0.0, 0.01, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6};
  std::vector<std::vector<Label>> want;
  for (double lam : lams) {
    RouteRequest req;
    req.X = w.X.data();
    req.n = w.n;
    req.lam = lam;
    want.emplace_back(static_cast<size_t>(w.n));
    pool.route(req, want.back().data());
  }
  std::atomic<int> wrong{0};
  std::atomic<bool> stop{false};
  std::thread knob([&] {
    for (int i = 0; !stop.load(); ++i) uniroute::set_num_threads(1 + i % 3);
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::vector<Label> out(static_cast<size_t>(w.n));
      for (int rep = 0; rep < 30; ++rep) {
        const size_t j = static_cast<size_t>((t + rep) % 8);
        RouteRequest req;
        req.X = w.X.data();
        req.n = (rep % 2) ? w.n : 1;
        req.lam = lams[j];
        pool.route(req, out.data());
        for (Index i = 0; i < req.n; ++i) wrong += out[i] != want[j][i];
        // what a batch kernel reads without the GIL when it splits its work
        wrong += uniroute::num_threads() < 1;
      }
    });
  }
  for (auto& th : threads) th.join();
  stop = true;
  knob.join();
  uniroute::set_num_threads(0);
  CHECK(wrong.load() == 0);
}
