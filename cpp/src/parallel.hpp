// Internal: one level of worker threads over independent tasks (row blocks).
// The workers are persistent (cpp/src/workers.cpp): waking one costs microseconds, not
// the tens of microseconds of starting a thread, so a batch of a few dozen rows can
// use both cores. The caller's thread does a share of the work itself.
#pragma once
#include <algorithm>
#include <exception>
#include <type_traits>

#include "uniroute/common.hpp"
#include "uniroute/simd.hpp"

namespace uniroute {
namespace detail {

// Workers to use for `tasks` tasks of about `work_per_task` multiply-adds each.
inline int workers_for(Index tasks, double work_per_task) {
  const double total = static_cast<double>(tasks) * work_per_task;
  if (tasks < 2 || total < 1.0e6) return 1;  // below ~20 us of work: one thread
  return static_cast<int>(std::min<Index>(num_threads(), tasks));
}

// Type-erased task body: body(ctx, task, worker).
using TaskFn = void (*)(void* ctx, Index task, int worker);

// Runs body(ctx, t, w) for t in [0, tasks) on up to `workers` threads of the shared
// pool (w = 0 is the caller, 1.. the pool threads taking part), tasks handed out
// dynamically. If the pool is busy (another thread's job, or a nested call) the caller
// runs every task itself with w = 0. The first exception is rethrown after all
// participants have stopped.
void run_tasks(Index tasks, int workers, TaskFn body, void* ctx);

// Runs f(task, worker) for task in [0, tasks) on `workers` threads (worker 0 is the
// calling thread). The first exception is rethrown.
template <class F>
void parallel_for(Index tasks, int workers, F&& f) {
  if (workers <= 1 || tasks <= 1) {
    for (Index t = 0; t < tasks; ++t) f(t, 0);
    return;
  }
  using Fn = std::remove_reference_t<F>;
  run_tasks(tasks, workers,
            [](void* ctx, Index t, int w) { (*static_cast<Fn*>(ctx))(t, w); },
            const_cast<void*>(static_cast<const void*>(&f)));
}

}  // namespace detail
}  // namespace uniroute
