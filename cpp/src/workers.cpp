// The worker threads behind detail::run_tasks (parallel.hpp): started per call and
// joined before it returns (no thread outlives a kernel call, so nothing of the core
// runs beside the caller between calls, in a forked child, or at exit).
#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "parallel.hpp"

namespace uniroute {
namespace detail {

void run_tasks(Index tasks, int workers, TaskFn body, void* ctx) {
  std::atomic<Index> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto run = [&](int w) {
    try {
      for (Index t = next.fetch_add(1); t < tasks; t = next.fetch_add(1)) body(ctx, t, w);
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
      next.store(tasks);
    }
  };
  std::vector<std::thread> threads;
  try {
    threads.reserve(static_cast<size_t>(workers - 1));
    for (int w = 1; w < workers; ++w) threads.emplace_back(run, w);
  } catch (...) {  // a thread could not start: the started ones and the caller do the work
  }
  run(0);
  for (auto& t : threads) t.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace detail
}  // namespace uniroute
