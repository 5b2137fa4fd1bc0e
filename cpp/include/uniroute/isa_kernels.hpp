// Internal: the kernels compiled once per instruction set (cpp/src/isa_*.cpp), their
// argument blocks, and the ISA-independent helpers they share. Not a public header.
#pragma once
#include <cstdint>

#include "uniroute/common.hpp"

namespace uniroute {
namespace detail {

// Nearest centroid of rows [r0, r0 + nr) of X. For float, a row's winner is re-checked
// with the canonical exact score (exact_score) whenever another centroid's fp32 score
// lies within the rounding bound delta_a * ||x|| + delta_b of it, so labels do not
// depend on the GEMM's summation order, the ISA or the thread count.
template <class T>
struct AssignArgs {
  const T* X = nullptr;
  Index d = 0;
  const T* C = nullptr;
  Index K = 0;
  const T* cn = nullptr;           // ||c_k||^2 in T
  const double* cn64 = nullptr;    // canonical ||c_k||^2 (float only; nullptr: no re-check)
  T delta_a = 0, delta_b = 0;      // bound of |score error|: delta_a * ||x|| + delta_b
  Label* labels = nullptr;
  T* sqdist = nullptr;
};

// Dense route of rows [r0, r0 + nr) of Phi (n, K); Psi rows and penalties are given in
// tie order (cost ascending, then index), so the first minimum wins.
template <class T>
struct DenseRouteArgs {
  const T* Phi = nullptr;
  Index K = 0;
  const T* psi = nullptr;      // (M, K)
  const T* penalty = nullptr;  // lam * cost, (M)
  // Either the rows are in tie order (cheaper first, then lower index) and order[j] is
  // the model of row j: the first minimum wins; or order is null, the rows are the
  // caller's and ties among the minima go to the lower cost, then the lower index.
  const Index* order = nullptr;
  const T* cost = nullptr;     // (M), used when order is null
  Index M = 0;
  Label* out = nullptr;
};

struct IsaKernels {
  const char* name;
  // work: nr * K (assign) or nr * M (route) elements.
  void (*assign_f32)(const AssignArgs<float>&, Index r0, Index nr, float* work);
  void (*assign_f64)(const AssignArgs<double>&, Index r0, Index nr, double* work);
  void (*soft_assign_f32)(const float* X, Index n, Index d, const float* W, const float* b,
                          Index K, float* P);
  void (*soft_assign_f64)(const double* X, Index n, Index d, const double* W,
                          const double* b, Index K, double* P);
  void (*route_dense_f32)(const DenseRouteArgs<float>&, Index r0, Index nr, float* work);
  void (*route_dense_f64)(const DenseRouteArgs<double>&, Index r0, Index nr, double* work);
  // One prompt: out[k] = cn[k] - 2 x.c_k for the K fp32 centroids (row-major).
  void (*scores_f32)(const float* x, const float* C, Index d, Index K, const float* cn,
                     float* out);
  // Same with fp16 centroids in the grouped layout of CentroidIndex (groups of 8
  // centroids, 8 dims at a time); x and cn padded. nullptr when the ISA lacks F16C.
  void (*scores_f16)(const float* x, const std::uint16_t* C16, Index d_pad, Index K_pad,
                     const float* cn, float* out);
  // Same with int16 fixed-point centroids Q (K_pad, d_pad) in groups of 8 centroids x
  // 16 dims, centroid k = scale[k] * Q[k]: x is quantized to |q| <= qmax with one scale,
  // returned in *x_scale (qx: d_pad int16 scratch). nullptr when the ISA lacks AVX2.
  void (*scores_i16)(const float* x, Index d, Index d_pad, const std::int16_t* Q,
                     Index K_pad, const float* scale, const float* cn, int qmax,
                     std::int16_t* qx, float* x_scale, float* out);
  // Two prompts at once (qx: 2 d_pad scratch, x_scale: 2, out: 2 K_pad): each row's
  // scores equal scores_i16's exactly. nullptr when scores_i16 is.
  void (*scores_i16_pair)(const float* x0, const float* x1, Index d, Index d_pad,
                          const std::int16_t* Q, Index K_pad, const float* scale,
                          const float* cn, int qmax, std::int16_t* qx, float* x_scale,
                          float* out);
  // out (nA, nB) = A (nA, d) B (nB, d)^T, row-major.
  void (*inner_f32)(const float* A, Index nA, const float* B, Index nB, Index d, float* out);
  // ||x||^2 and min(v) for one prompt, vectorised (any summation order).
  float (*sqnorm)(const float* x, Index d);
  float (*min_value)(const float* v, Index n);
  // out (n, K) = X (n, d) W (K, d)^T with every entry summed in one fixed order (8
  // lanes over d, combined in a fixed tree) whatever n is: a row's result does not
  // depend on the batch it came in (the compiled pool's dense map and budget hash).
  void (*dot_rows)(const float* X, Index n, const float* W, Index K, Index d, float* out);
};

// The kernels of the path in use (see simd.hpp).
const IsaKernels& active_kernels();

// Canonical exact score cn64 - 2 x.c in double, summed in one fixed order. Each product
// of two floats is exact in double, so the result is the same bit for bit on every ISA.
// a . b in double, in one fixed order (four partial sums over i mod 4): the same value
// on every path and machine.
double dot64(const float* a, const float* b, Index d);
double exact_score(const float* x, const float* c, Index d, double cn64);

// Final choice for one row given its fp32 scores v[0..K) and thr = min(v) + 2 * bound:
// the only candidate at or below thr, or, when several are, the one with the lowest
// canonical exact score (ties: lowest index). *best receives the winner's score.
Label pick_row(const float* v, Index K, float thr, const float* x, const float* C, Index d,
               const double* cn64, float* best);

// Unit roundoff based bound factor (gamma_d + u) for a d-term float sum of products.
double rounding_factor(Index d);

}  // namespace detail

// Defined by cpp/src/isa_baseline.cpp and cpp/src/isa_avx2.cpp.
namespace isa_baseline {
extern const detail::IsaKernels kernels;
}
namespace isa_avx2 {
extern const detail::IsaKernels kernels;
}

}  // namespace uniroute
