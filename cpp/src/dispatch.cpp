// Runtime choice of the SIMD path, the thread count, and the ISA-independent helpers
// of the per-ISA kernels. Compiled with the baseline flags.
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <thread>

#include "uniroute/isa_kernels.hpp"
#include "uniroute/simd.hpp"

#if defined(__linux__)
#include <sched.h>
#endif

namespace uniroute {
namespace {

bool detect_avx2() {
#if defined(UNIROUTE_HAVE_AVX2_UNIT) && (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  // libgcc checks the OS saves the YMM state (XGETBV) before reporting AVX features.
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
         __builtin_cpu_supports("f16c");
#else
  return false;
#endif
}

struct Choice {
  const detail::IsaKernels* kernels;
  std::string reason;
};

Choice choose() {
  const bool avx2 = detect_avx2();
  const char* env = std::getenv("UNIROUTE_SIMD");
  const std::string want = env ? env : "";
  if (want == "baseline") {
    return {&isa_baseline::kernels, "forced by UNIROUTE_SIMD=baseline"};
  }
#ifdef UNIROUTE_HAVE_AVX2_UNIT
  if (avx2) {
    return {&isa_avx2::kernels, want.empty() || want == "avx2"
                                    ? "CPU has AVX2, FMA and F16C"
                                    : "CPU has AVX2, FMA and F16C (UNIROUTE_SIMD=" + want +
                                          " not recognised; expected baseline or avx2)"};
  }
#endif
  return {&isa_baseline::kernels, want == "avx2" ? "UNIROUTE_SIMD=avx2 but the CPU lacks "
                                                   "AVX2/FMA/F16C"
                                                 : "CPU lacks AVX2/FMA/F16C"};
}

const Choice& choice() {
  static const Choice c = choose();
  return c;
}

int default_threads() {
  if (const char* env = std::getenv("UNIROUTE_NUM_THREADS")) {
    char* end = nullptr;
    const long n = std::strtol(env, &end, 10);
    if (end != env && *end == '\0' && n >= 1) return static_cast<int>(std::min(n, 1024L));
  }
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n >= 1) return n;
  }
#endif
  const unsigned n = std::thread::hardware_concurrency();
  return n >= 1 ? static_cast<int>(n) : 1;
}

std::atomic<int> g_threads_override{0};  // read by kernels without the GIL

}  // namespace

const char* simd_path() { return choice().kernels->name; }
bool cpu_has_avx2() { return detect_avx2(); }
std::string simd_reason() { return choice().reason; }

int num_threads() {
  static const int n = default_threads();
  const int over = g_threads_override.load(std::memory_order_relaxed);
  return over >= 1 ? over : n;
}
void set_num_threads(int n) { g_threads_override.store(n >= 1 ? n : 0, std::memory_order_relaxed); }

namespace detail {

const IsaKernels& active_kernels() { return *choice().kernels; }

double dot64(const float* a, const float* b, Index d) {
  // Four partial sums over i mod 4, combined in a fixed order: vectorising this loop
  // keeps the order (one lane per partial sum), and products of floats are exact in
  // double, so FMA contraction cannot change the result either.
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  Index i = 0;
  for (; i + 4 <= d; i += 4) {
    s0 += static_cast<double>(a[i]) * b[i];
    s1 += static_cast<double>(a[i + 1]) * b[i + 1];
    s2 += static_cast<double>(a[i + 2]) * b[i + 2];
    s3 += static_cast<double>(a[i + 3]) * b[i + 3];
  }
  for (; i < d; ++i) s0 += static_cast<double>(a[i]) * b[i];
  return (s0 + s1) + (s2 + s3);
}

double exact_score(const float* x, const float* c, Index d, double cn64) {
  return cn64 - 2.0 * dot64(x, c, d);
}

Label pick_row(const float* v, Index K, float thr, const float* x, const float* C, Index d,
               const double* cn64, float* best) {
  Index first = -1, count = 0;
  for (Index k = 0; k < K; ++k) {
    if (v[k] <= thr) {
      if (count++ == 0) first = k;
    }
  }
  if (count <= 1) {
    if (first < 0) first = 0;  // only with NaN scores, which the caller reports
    *best = v[first];
    return first;
  }
  double sbest = std::numeric_limits<double>::infinity();
  Index arg = first;
  for (Index k = first; k < K; ++k) {
    if (!(v[k] <= thr)) continue;
    const double s = exact_score(x, C + k * d, d, cn64[k]);
    if (s < sbest) {
      sbest = s;
      arg = k;
    }
  }
  *best = static_cast<float>(sbest);
  return arg;
}

double rounding_factor(Index d) {
  const double u = std::ldexp(1.0, -24);
  const double du = static_cast<double>(d) * u;
  if (du >= 0.5) return std::numeric_limits<double>::infinity();
  return du / (1.0 - du) + u;
}

}  // namespace detail
}  // namespace uniroute
