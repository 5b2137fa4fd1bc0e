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

// ------------------------------------------------- the persistent workers (run_tasks)
#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include "../src/parallel.hpp"

namespace {
// Runs `tasks` tasks on `workers` threads; every task must run once, on a worker id in
// [0, workers).
bool each_task_once(Index tasks, int workers) {
  std::vector<std::atomic<int>> seen(static_cast<size_t>(tasks));
  std::atomic<int> bad_worker{0};
  uniroute::detail::parallel_for(tasks, workers, [&](Index t, int w) {
    seen[static_cast<size_t>(t)].fetch_add(1);
    if (w < 0 || w >= workers) bad_worker.fetch_add(1);
  });
  for (auto& s : seen) {
    if (s.load() != 1) return false;
  }
  return bad_worker.load() == 0;
}
}  // namespace

TEST_CASE("the workers run every task exactly once, on valid worker ids") {
  for (int workers : {2, 3, 4}) {
    for (Index tasks : {2, 3, 7, 64, 1000}) CHECK(each_task_once(tasks, workers));
  }
}

TEST_CASE("an exception in a task reaches the caller and the workers stay usable") {
  bool thrown = false;
  try {
    uniroute::detail::parallel_for(100, 2, [&](Index t, int) {
      if (t == 37) throw std::runtime_error("task 37");
    });
  } catch (const std::runtime_error& e) {
    thrown = std::string(e.what()) == "task 37";
  }
  CHECK(thrown);
  CHECK(each_task_once(500, 2));
}

TEST_CASE("nested and concurrent jobs complete (a busy pool runs the job on the caller)") {
  std::atomic<long> sum{0};
  uniroute::detail::parallel_for(8, 2, [&](Index t, int) {
    uniroute::detail::parallel_for(10, 2, [&](Index u, int) { sum.fetch_add(t * 10 + u); });
  });
  CHECK(sum.load() == 79L * 80L / 2L);
  std::atomic<int> failures{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 4; ++c) {
    callers.emplace_back([&] {
      for (int rep = 0; rep < 200; ++rep) failures += !each_task_once(16 + rep % 50, 2 + rep % 3);
    });
  }
  for (auto& th : callers) th.join();
  CHECK(failures.load() == 0);
}

TEST_CASE("a batch split over the workers routes like one thread") {
  const World w = make_world(64, 128, 7, 3000, 5);
  const CompiledPool pool(index_of(w), w.psi.data(), w.cost.data(), w.M, w.K);
  RouteRequest req;
  req.X = w.X.data();
  req.n = w.n;
  req.lam = 0.05;
  uniroute::set_num_threads(1);
  std::vector<Label> one(static_cast<size_t>(w.n)), many(static_cast<size_t>(w.n));
  pool.route(req, one.data());
  for (int threads : {2, 3, 4}) {
    uniroute::set_num_threads(threads);
    for (Index n : {Index(17), Index(64), Index(3000)}) {
      req.n = n;
      pool.route(req, many.data());
      CHECK(std::equal(one.begin(), one.begin() + n, many.begin()));
    }
  }
  uniroute::set_num_threads(0);
}
