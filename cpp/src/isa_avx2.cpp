// The kernels for CPUs with AVX2 + FMA + F16C: this unit alone is compiled with
// -mavx2 -mfma -mf16c (CMakeLists.txt). Eigen is renamed here so that none of its
// inline templates (GEMM kernels, packets) is shared with the baseline unit: with the
// same name, the linker could keep this unit's AVX2 copy for the baseline path too,
// which would then crash with SIGILL on a CPU without AVX2 (an ODR violation).
#define Eigen uniroute_eigen_avx2
#define UNIROUTE_ISA isa_avx2
#define UNIROUTE_ISA_NAME "avx2"
#define UNIROUTE_ISA_F16C 1
#include "isa_impl.hpp"

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>
#else
#error "isa_avx2.cpp must be compiled with -mavx2 -mfma -mf16c"
#endif

namespace uniroute {
namespace isa_avx2 {

// Sum of each of 8 vectors, as one vector [sum(a0), ..., sum(a7)].
static inline __m256 hsum8(const __m256* a) {
  const __m256 t0 = _mm256_hadd_ps(a[0], a[1]);
  const __m256 t1 = _mm256_hadd_ps(a[2], a[3]);
  const __m256 t2 = _mm256_hadd_ps(a[4], a[5]);
  const __m256 t3 = _mm256_hadd_ps(a[6], a[7]);
  const __m256 u0 = _mm256_hadd_ps(t0, t1);
  const __m256 u1 = _mm256_hadd_ps(t2, t3);
  return _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20),
                       _mm256_permute2f128_ps(u0, u1, 0x31));
}

// fp16 centroids, grouped: for each group of 8 centroids and each 8 dims, 8 x 8 halves
// (128 contiguous bytes), so one group streams sequentially from memory.
void scores_f16(const float* x, const std::uint16_t* C16, Index d_pad, Index K_pad,
                const float* cn, float* out) {
  const Index chunks = d_pad / 8;
  const __m256 minus2 = _mm256_set1_ps(-2.0f);
  for (Index g = 0; g < K_pad / 8; ++g) {
    const std::uint16_t* p = C16 + g * d_pad * 8;
    __m256 acc[8];
    for (int j = 0; j < 8; ++j) acc[j] = _mm256_setzero_ps();
    for (Index i = 0; i < chunks; ++i) {
      const __m256 xv = _mm256_loadu_ps(x + i * 8);
      const std::uint16_t* q = p + i * 64;
      for (int j = 0; j < 8; ++j) {
        const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q + j * 8));
        acc[j] = _mm256_fmadd_ps(xv, _mm256_cvtph_ps(h), acc[j]);
      }
    }
    const __m256 dots = hsum8(acc);
    _mm256_storeu_ps(out + g * 8, _mm256_fmadd_ps(minus2, dots, _mm256_loadu_ps(cn + g * 8)));
  }
}

}  // namespace isa_avx2
}  // namespace uniroute
