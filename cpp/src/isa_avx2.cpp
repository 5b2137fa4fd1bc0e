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

#include <algorithm>
#include <cmath>
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

// Lanes of one accumulator summed in hsum8's order (so a lone row matches a group).
static inline float hsum1(__m256 v) {
  alignas(32) float a[8];
  _mm256_store_ps(a, v);
  return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}

// out (n, K) = X W^T: one accumulator per output (lane = dim mod 8, the tail through a
// masked load into the same lanes), so every output is summed in the same order
// whether its W row is in a group of 8 or alone, for any n.
void dot_rows_avx2(const float* X, Index n, const float* W, Index K, Index d, float* out) {
  const Index d8 = d / 8 * 8;
  alignas(32) static const int lanes[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
  const __m256i tail = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(lanes + 8 - (d - d8)));
  const Index K8 = K / 8 * 8;
  for (Index k0 = 0; k0 < K8; k0 += 8) {
    for (Index i = 0; i < n; ++i) {
      const float* x = X + i * d;
      __m256 acc[8];
      for (int r = 0; r < 8; ++r) acc[r] = _mm256_setzero_ps();
      for (Index j = 0; j < d8; j += 8) {
        const __m256 xv = _mm256_loadu_ps(x + j);
        for (int r = 0; r < 8; ++r) {
          acc[r] = _mm256_fmadd_ps(xv, _mm256_loadu_ps(W + (k0 + r) * d + j), acc[r]);
        }
      }
      if (d8 < d) {
        const __m256 xv = _mm256_maskload_ps(x + d8, tail);
        for (int r = 0; r < 8; ++r) {
          acc[r] = _mm256_fmadd_ps(xv, _mm256_maskload_ps(W + (k0 + r) * d + d8, tail), acc[r]);
        }
      }
      _mm256_storeu_ps(out + i * K + k0, hsum8(acc));
    }
  }
  for (Index k = K8; k < K; ++k) {
    for (Index i = 0; i < n; ++i) {
      const float* x = X + i * d;
      __m256 acc = _mm256_setzero_ps();
      for (Index j = 0; j < d8; j += 8) {
        acc = _mm256_fmadd_ps(_mm256_loadu_ps(x + j), _mm256_loadu_ps(W + k * d + j), acc);
      }
      if (d8 < d) {
        acc = _mm256_fmadd_ps(_mm256_maskload_ps(x + d8, tail),
                              _mm256_maskload_ps(W + k * d + d8, tail), acc);
      }
      out[i * K + k] = hsum1(acc);
    }
  }
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

static inline float hmax8(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
  return _mm_cvtss_f32(m);
}

// int16 fixed point: vpmaddwd multiplies 16 pairs and adds neighbours into 8 int32
// lanes; qmax is chosen (CentroidIndex) so that no lane can overflow over d_pad dims.
// Lanes are summed in float (the sum over all dims could overflow int32).
namespace {
// x quantized to |q| <= qmax with one scale (round to nearest); returns the scale.
float quantize_i16(const float* x, Index d, Index d_pad, int qmax, std::int16_t* qx) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  __m256 amax = _mm256_setzero_ps();
  Index j = 0;
  for (; j + 8 <= d; j += 8) amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + j)));
  float a = hmax8(amax);
  for (; j < d; ++j) a = std::max(a, std::fabs(x[j]));
  const float sx = a > 0.0f ? a / static_cast<float>(qmax) : 1.0f;
  const __m256 inv = _mm256_set1_ps(a > 0.0f ? static_cast<float>(qmax) / a : 0.0f);
  j = 0;
  for (; j + 16 <= d; j += 16) {
    const __m256i lo = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + j), inv));
    const __m256i hi = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + j + 8), inv));
    const __m256i packed = _mm256_permute4x64_epi64(_mm256_packs_epi32(lo, hi), 0xD8);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(qx + j), packed);
  }
  const float invs = a > 0.0f ? static_cast<float>(qmax) / a : 0.0f;
  for (; j < d; ++j) qx[j] = static_cast<std::int16_t>(std::nearbyint(x[j] * invs));
  for (; j < d_pad; ++j) qx[j] = 0;
  return sx;
}

// The 8 int32 dot accumulators of one centroid group, as scores cn - 2 x.c.
inline void finish_group(const __m256i* acc, const float* scale, const float* cn, float sx,
                         float* out) {
  __m256 f[8];
  for (int l = 0; l < 8; ++l) f[l] = _mm256_cvtepi32_ps(acc[l]);
  const __m256 dots = _mm256_mul_ps(hsum8(f), _mm256_loadu_ps(scale));
  _mm256_storeu_ps(out, _mm256_fmadd_ps(_mm256_set1_ps(-2.0f * sx), dots, _mm256_loadu_ps(cn)));
}
}  // namespace

void scores_i16(const float* x, Index d, Index d_pad, const std::int16_t* Q, Index K_pad,
                const float* scale, const float* cn, int qmax, std::int16_t* qx,
                float* x_scale, float* out) {
  const float sx = quantize_i16(x, d, d_pad, qmax, qx);
  *x_scale = sx;
  const Index chunks = d_pad / 16;
  for (Index g = 0; g < K_pad / 8; ++g) {
    const std::int16_t* p = Q + g * d_pad * 8;
    __m256i acc[8];
    for (int l = 0; l < 8; ++l) acc[l] = _mm256_setzero_si256();
    for (Index i = 0; i < chunks; ++i) {
      const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qx + i * 16));
      const std::int16_t* q = p + i * 128;
      for (int l = 0; l < 8; ++l) {
        const __m256i c = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + l * 16));
        acc[l] = _mm256_add_epi32(acc[l], _mm256_madd_epi16(xv, c));
      }
    }
    finish_group(acc, scale + g * 8, cn + g * 8, sx, out + g * 8);
  }
}

void scores_i16_pair(const float* x0, const float* x1, Index d, Index d_pad,
                     const std::int16_t* Q, Index K_pad, const float* scale, const float* cn,
                     int qmax, std::int16_t* qx, float* x_scale, float* out) {
  // Two prompts share every load of the centroids (half the L2 traffic of two single
  // calls, which is what bounds them); each half-group of 4 centroids keeps 2 x 4
  // accumulators in registers. The integer sums are exact, so each row's scores equal
  // scores_i16's bit for bit.
  std::int16_t* q0 = qx;
  std::int16_t* q1 = qx + d_pad;
  x_scale[0] = quantize_i16(x0, d, d_pad, qmax, q0);
  x_scale[1] = quantize_i16(x1, d, d_pad, qmax, q1);
  const Index chunks = d_pad / 16;
  for (Index g = 0; g < K_pad / 8; ++g) {
    const std::int16_t* p = Q + g * d_pad * 8;
    __m256i a0[8], a1[8];
    for (int half = 0; half < 2; ++half) {
      __m256i s0[4], s1[4];
      for (int l = 0; l < 4; ++l) s0[l] = s1[l] = _mm256_setzero_si256();
      for (Index i = 0; i < chunks; ++i) {
        const __m256i xv0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q0 + i * 16));
        const __m256i xv1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q1 + i * 16));
        const std::int16_t* q = p + i * 128 + half * 64;
        for (int l = 0; l < 4; ++l) {
          const __m256i c = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + l * 16));
          s0[l] = _mm256_add_epi32(s0[l], _mm256_madd_epi16(xv0, c));
          s1[l] = _mm256_add_epi32(s1[l], _mm256_madd_epi16(xv1, c));
        }
      }
      for (int l = 0; l < 4; ++l) {
        a0[half * 4 + l] = s0[l];
        a1[half * 4 + l] = s1[l];
      }
    }
    finish_group(a0, scale + g * 8, cn + g * 8, x_scale[0], out + g * 8);
    finish_group(a1, scale + g * 8, cn + g * 8, x_scale[1], out + K_pad + g * 8);
  }
}

// out (nA, nB) = A B^T for nB <= 8: each row of A is read once and meets every row of
// B (which stays in L1) in the same pass.
namespace {
// NB columns known at compile time: the NB accumulators stay in registers (with a run-time
// count they lived on the stack, and the loop ran at ~1/3 of the memory pass it is).
template <int NB>
void inner_few_n(const float* A, Index nA, const float* B, Index d, float* out) {
  for (Index i = 0; i < nA; ++i) {
    const float* a = A + i * d;
    __m256 acc[8];
    for (int j = 0; j < 8; ++j) acc[j] = _mm256_setzero_ps();
    Index l = 0;
    for (; l + 8 <= d; l += 8) {
      const __m256 av = _mm256_loadu_ps(a + l);
      for (int j = 0; j < NB; ++j) {
        acc[j] = _mm256_fmadd_ps(av, _mm256_loadu_ps(B + j * d + l), acc[j]);
      }
    }
    alignas(32) float sums[8];
    _mm256_store_ps(sums, hsum8(acc));
    for (int j = 0; j < NB; ++j) {
      float s = sums[j];
      for (Index r = l; r < d; ++r) s += a[r] * B[j * d + r];
      out[i * NB + j] = s;
    }
  }
}
}  // namespace

// nB in 0..8 (inner_f32 sends wider products to the GEMM).
void inner_few_avx2(const float* A, Index nA, const float* B, Index nB, Index d, float* out) {
  switch (nB) {
    case 0: return;
    case 1: return inner_few_n<1>(A, nA, B, d, out);
    case 2: return inner_few_n<2>(A, nA, B, d, out);
    case 3: return inner_few_n<3>(A, nA, B, d, out);
    case 4: return inner_few_n<4>(A, nA, B, d, out);
    case 5: return inner_few_n<5>(A, nA, B, d, out);
    case 6: return inner_few_n<6>(A, nA, B, d, out);
    case 7: return inner_few_n<7>(A, nA, B, d, out);
    default: return inner_few_n<8>(A, nA, B, d, out);
  }
}

}  // namespace isa_avx2
}  // namespace uniroute
