// The persistent worker threads behind detail::run_tasks (parallel.hpp).
//
// One pool per process, made on first use. A job is published by bumping a generation
// counter; every pool thread acknowledges every job (those not taking part at once), so
// the caller can reuse the job's fields as soon as the count of acknowledgements is
// back to zero. Threads spin briefly before sleeping on a condition variable, so that
// back-to-back batches wake them in about a microsecond. A child process after fork()
// gets a new pool (the parent's threads do not exist there; the old pool is leaked on
// purpose, as it may hold locks taken by threads that are gone). The pool is never
// destroyed: its threads sleep until the process exits.
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "parallel.hpp"

namespace uniroute {
namespace detail {
namespace {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

constexpr int kSpin = 4000;  // pause loops (~0.1 ms on x86) before a thread sleeps

class Pool {
 public:
  // Runs the job with up to `workers` participants; false if the pool is busy (the
  // caller then runs the tasks itself).
  bool run(Index tasks, int workers, TaskFn body, void* ctx) {
    std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
    if (!busy.owns_lock()) return false;
    if (!grow(workers - 1)) return false;
    const int n_threads = static_cast<int>(threads_.size());
    tasks_ = tasks;
    workers_ = workers;
    body_ = body;
    ctx_ = ctx;
    error_ = nullptr;
    next_.store(0, std::memory_order_relaxed);
    pending_.store(n_threads, std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> lock(m_);
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    work(0);
    int spins = 0;
    while (pending_.load(std::memory_order_acquire) != 0) {
      if (++spins < kSpin) {
        cpu_relax();
        continue;
      }
      std::unique_lock<std::mutex> lock(m_);
      done_.wait(lock, [&] { return pending_.load(std::memory_order_acquire) == 0; });
    }
    if (error_) std::rethrow_exception(error_);
    return true;
  }

 private:
  std::mutex busy_;  // held by the caller for the whole job
  std::vector<std::thread> threads_;
  std::mutex m_;
  std::condition_variable wake_, done_;
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<Index> next_{0};
  std::atomic<int> pending_{0};
  // The job: written by the caller before the generation is bumped (release), read by
  // the threads after they see it (acquire); rewritten only when pending_ is back to 0.
  Index tasks_ = 0;
  int workers_ = 0;
  TaskFn body_ = nullptr;
  void* ctx_ = nullptr;
  std::mutex error_mutex_;
  std::exception_ptr error_;

  bool grow(int n) {
    // The workers start with every signal blocked (they inherit this thread's mask), so
    // a process-directed signal such as Ctrl-C's SIGINT always goes to an application
    // thread: Python handles signals only in its main thread, which a signal taken by
    // a worker would not wake.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    bool ok = true;
    try {
      while (static_cast<int>(threads_.size()) < n) {
        const int index = static_cast<int>(threads_.size()) + 1;
        const std::uint64_t seen = generation_.load(std::memory_order_relaxed);
        threads_.emplace_back([this, index, seen] { loop(index, seen); });
      }
    } catch (...) {  // no thread could be started: this job runs on the caller
      ok = static_cast<int>(threads_.size()) >= n;
    }
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    return ok;
  }

  void work(int worker) {
    try {
      for (Index t = next_.fetch_add(1); t < tasks_; t = next_.fetch_add(1)) {
        body_(ctx_, t, worker);
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex_);
      if (!error_) error_ = std::current_exception();
      next_.store(tasks_);
    }
  }

  void loop(int index, std::uint64_t seen) {
    for (;;) {
      int spins = 0;
      std::uint64_t g;
      while ((g = generation_.load(std::memory_order_acquire)) == seen) {
        if (++spins < kSpin) {
          cpu_relax();
          continue;
        }
        std::unique_lock<std::mutex> lock(m_);
        wake_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
      }
      seen = g;
      if (index < workers_) work(index);
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard<std::mutex> lock(m_);
        done_.notify_one();
      }
    }
  }
};

std::mutex g_pool_mutex;
Pool* g_pool = nullptr;  // guarded by g_pool_mutex; leaked by design

// fork(): the mutex is held across it, so the child's copy is in a known state; the
// child forgets the pool (its threads exist only in the parent).
void before_fork() { g_pool_mutex.lock(); }
void after_fork_parent() { g_pool_mutex.unlock(); }
void after_fork_child() {
  g_pool = nullptr;
  g_pool_mutex.unlock();
}

Pool* shared_pool() {
  static const bool registered =
      (pthread_atfork(&before_fork, &after_fork_parent, &after_fork_child), true);
  (void)registered;
  std::lock_guard<std::mutex> lock(g_pool_mutex);
  if (g_pool == nullptr) g_pool = new Pool();
  return g_pool;
}

}  // namespace

void run_tasks(Index tasks, int workers, TaskFn body, void* ctx) {
  if (workers > 1 && tasks > 1 && shared_pool()->run(tasks, workers, body, ctx)) return;
  for (Index t = 0; t < tasks; ++t) body(ctx, t, 0);
}

}  // namespace detail
}  // namespace uniroute
