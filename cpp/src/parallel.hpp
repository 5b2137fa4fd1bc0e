// Internal: one level of worker threads over independent tasks (row blocks).
// Threads start per call (tens of microseconds), so only batch work large enough to
// amortise them is split; the caller's thread does a share of the work itself.
#pragma once
#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "uniroute/common.hpp"
#include "uniroute/simd.hpp"

namespace uniroute {
namespace detail {

// Workers to use for `tasks` tasks of about `work_per_task` multiply-adds each.
inline int workers_for(Index tasks, double work_per_task) {
  const double total = static_cast<double>(tasks) * work_per_task;
  if (tasks < 2 || total < 4.0e6) return 1;  // below ~1 ms of work: not worth a thread
  return static_cast<int>(std::min<Index>(num_threads(), tasks));
}

// Runs f(task, worker) for task in [0, tasks) on `workers` threads (worker 0 is the
// calling thread), handing out tasks dynamically. The first exception is rethrown.
template <class F>
void parallel_for(Index tasks, int workers, F&& f) {
  if (workers <= 1) {
    for (Index t = 0; t < tasks; ++t) f(t, 0);
    return;
  }
  std::atomic<Index> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto run = [&](int w) {
    try {
      for (Index t = next.fetch_add(1); t < tasks; t = next.fetch_add(1)) f(t, w);
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
      next.store(tasks);
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(static_cast<size_t>(workers - 1));
  for (int w = 1; w < workers; ++w) pool.emplace_back(run, w);
  run(0);
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace detail
}  // namespace uniroute
