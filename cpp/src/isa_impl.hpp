// The per-ISA kernels. Included exactly once by each cpp/src/isa_*.cpp with
// UNIROUTE_ISA set to that unit's namespace; everything here lives in that namespace
// (and Eigen, in the non-baseline units, under a renamed namespace), so no symbol
// compiled with wider instructions can be picked by the linker for the baseline path.
// No std containers here: work buffers come from the (baseline-compiled) caller.
#ifndef UNIROUTE_ISA
#error "define UNIROUTE_ISA before including isa_impl.hpp"
#endif

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "uniroute/isa_kernels.hpp"

namespace uniroute {
namespace UNIROUTE_ISA {
#ifdef UNIROUTE_ISA_F16C
void inner_few_avx2(const float* A, Index nA, const float* B, Index nB, Index d, float* out);
void dot_rows_avx2(const float* X, Index n, const float* W, Index K, Index d, float* out);
#endif
namespace {

using detail::AssignArgs;
using detail::DenseRouteArgs;

template <class T>
using RowMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using ConstRowMap = Eigen::Map<const RowMat<T>>;
template <class T>
using RowMap = Eigen::Map<RowMat<T>>;
template <class T>
using ConstRowVec = Eigen::Map<const Eigen::Matrix<T, 1, Eigen::Dynamic>>;

template <class T>
void assign_block(const AssignArgs<T>& a, Index r0, Index nr, T* work) {
  const Index K = a.K, d = a.d;
  ConstRowMap<T> Cm(a.C, K, d);
  ConstRowMap<T> Xb(a.X + r0 * d, nr, d);
  RowMap<T> S(work, nr, K);
  // S = cn - 2 X C^T: the factor folds into the GEMM's alpha, cn is one pass over a
  // block that stays in cache; the N x K matrix never exists.
  constexpr Index kTile = 512;  // centroids per GEMM: the packed panel stays in L2/L3
  for (Index k0 = 0; k0 < K; k0 += kTile) {
    const Index kt = std::min(kTile, K - k0);
    S.middleCols(k0, kt).noalias() = (T(-2) * Xb) * Cm.middleRows(k0, kt).transpose();
  }
  S.rowwise() += ConstRowVec<T>(a.cn, K);
  for (Index i = 0; i < nr; ++i) {
    const T* v = S.data() + i * K;
    const T xn = Xb.row(i).squaredNorm();
    const Index row = r0 + i;
    if (!std::isfinite(xn)) {  // NaN/inf input: reported by the caller
      a.labels[row] = 0;
      a.sqdist[row] = xn;
      continue;
    }
    const T m = S.row(i).minCoeff();
    if (!std::isfinite(m)) {  // the distance form overflowed: reported by the caller
      a.labels[row] = 0;
      a.sqdist[row] = std::numeric_limits<T>::infinity();
      continue;
    }
    T best = m;
    Label arg = 0;
    if constexpr (std::is_same_v<T, float>) {
      if (a.cn64 != nullptr && K > 1) {
        const float thr = m + 2.0f * (a.delta_a * std::sqrt(xn) + a.delta_b);
        arg = detail::pick_row(v, K, thr, a.X + row * d, a.C, d, a.cn64, &best);
      } else {
        while (arg < K - 1 && v[arg] != m) ++arg;
      }
    } else {
      while (arg < K - 1 && v[arg] != m) ++arg;
    }
    a.labels[row] = arg;
    const T dist = xn + best;
    a.sqdist[row] = dist > T(0) ? dist : T(0);
  }
}

template <class T>
void soft_assign(const T* X, Index n, Index d, const T* W, const T* b, Index K, T* P) {
  ConstRowMap<T> Wm(W, K, d);
  ConstRowMap<T> Xm(X, n, d);
  RowMap<T> Pm(P, n, K);
  Pm.noalias() = Xm * Wm.transpose();
  Pm.rowwise() += ConstRowVec<T>(b, K);
  for (Index i = 0; i < n; ++i) {
    auto row = Pm.row(i);
    const T mx = row.maxCoeff();
    row.array() = (row.array() - mx).exp();
    row /= row.sum();
  }
}

template <class T>
void route_dense_block(const DenseRouteArgs<T>& a, Index r0, Index nr, T* work) {
  const Index M = a.M, K = a.K;
  ConstRowMap<T> Psi(a.psi, M, K);
  ConstRowMap<T> Pb(a.Phi + r0 * K, nr, K);
  RowMap<T> S(work, nr, M);
  if (M <= 16) {  // few models: a GEMM would spend its time packing Phi
    S.noalias() = Pb.lazyProduct(Psi.transpose());
  } else {
    S.noalias() = Pb * Psi.transpose();
  }
  S.rowwise() += ConstRowVec<T>(a.penalty, M);
  for (Index i = 0; i < nr; ++i) {
    const T* s = S.data() + i * M;
    const T m = S.row(i).minCoeff();
    Index best = 0;
    while (best < M - 1 && s[best] != m) ++best;
    if (a.order != nullptr) {  // rows in tie order: the first minimum wins
      a.out[r0 + i] = static_cast<Label>(a.order[best]);
      continue;
    }
    // Among the minima: the cheapest model, then the lowest index (the tie rule).
    for (Index j = best + 1; j < M; ++j) {
      if (s[j] == m && a.cost[j] < a.cost[best]) best = j;
    }
    a.out[r0 + i] = static_cast<Label>(best);
  }
}

void scores_f32(const float* x, const float* C, Index d, Index K, const float* cn,
                float* out) {
  ConstRowMap<float> Cm(C, K, d);
  Eigen::Map<const Eigen::VectorXf> xv(x, d);
  Eigen::Map<Eigen::VectorXf> o(out, K);
  o.noalias() = Cm * xv;
  o = Eigen::Map<const Eigen::VectorXf>(cn, K) - 2.0f * o;
}

void inner_f32(const float* A, Index nA, const float* B, Index nB, Index d, float* out) {
  ConstRowMap<float> Am(A, nA, d), Bm(B, nB, d);
  RowMap<float> O(out, nA, nB);
#ifdef UNIROUTE_ISA_F16C
  if (nB <= 8) {  // few columns: one streaming pass over A (a GEMM would repack A)
    inner_few_avx2(A, nA, B, nB, d, out);
    return;
  }
#endif
  if (nB <= 16) {
    O.noalias() = Am.lazyProduct(Bm.transpose());
  } else {
    O.noalias() = Am * Bm.transpose();
  }
}

float sqnorm(const float* x, Index d) {
  return Eigen::Map<const Eigen::VectorXf>(x, d).squaredNorm();
}

float min_value(const float* v, Index n) {
  return Eigen::Map<const Eigen::VectorXf>(v, n).minCoeff();
}

// Eight rows of W at a time against one row of X: eight independent accumulator
// vectors hide the FMA latency; each entry's order (lane j % 8, then a fixed tree) is
// the same for any n and any position of the row.
void dot_rows(const float* X, Index n, const float* W, Index K, Index d, float* out) {
#ifdef UNIROUTE_ISA_F16C
  return dot_rows_avx2(X, n, W, K, d, out);
#endif
  constexpr Index kG = 8;
  const Index d8 = d / 8 * 8;
  for (Index k0 = 0; k0 < K; k0 += kG) {
    const Index g = std::min<Index>(kG, K - k0);
    for (Index i = 0; i < n; ++i) {
      const float* x = X + i * d;
      float acc[kG][8] = {};
      if (g == kG) {
        for (Index j = 0; j < d8; j += 8) {
          for (Index r = 0; r < kG; ++r) {
            const float* w = W + (k0 + r) * d + j;
            for (int l = 0; l < 8; ++l) acc[r][l] += x[j + l] * w[l];
          }
        }
      } else {
        for (Index r = 0; r < g; ++r) {
          const float* w = W + (k0 + r) * d;
          for (Index j = 0; j < d8; j += 8) {
            for (int l = 0; l < 8; ++l) acc[r][l] += x[j + l] * w[j + l];
          }
        }
      }
      for (Index r = 0; r < g; ++r) {
        const float* w = W + (k0 + r) * d;
        for (Index j = d8; j < d; ++j) acc[r][j - d8] += x[j] * w[j];
        const float* a = acc[r];
        out[i * K + k0 + r] = ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]));
      }
    }
  }
}

void assign_f32(const AssignArgs<float>& a, Index r0, Index nr, float* w) {
  assign_block(a, r0, nr, w);
}
void assign_f64(const AssignArgs<double>& a, Index r0, Index nr, double* w) {
  assign_block(a, r0, nr, w);
}
void soft_f32(const float* X, Index n, Index d, const float* W, const float* b, Index K,
              float* P) {
  soft_assign(X, n, d, W, b, K, P);
}
void soft_f64(const double* X, Index n, Index d, const double* W, const double* b, Index K,
              double* P) {
  soft_assign(X, n, d, W, b, K, P);
}
void dense_f32(const DenseRouteArgs<float>& a, Index r0, Index nr, float* w) {
  route_dense_block(a, r0, nr, w);
}
void dense_f64(const DenseRouteArgs<double>& a, Index r0, Index nr, double* w) {
  route_dense_block(a, r0, nr, w);
}

}  // namespace

#ifdef UNIROUTE_ISA_F16C
void scores_f16(const float* x, const std::uint16_t* C16, Index d_pad, Index K_pad,
                const float* cn, float* out);
void scores_i16(const float* x, Index d, Index d_pad, const std::int16_t* Q, Index K_pad,
                const float* scale, const float* cn, int qmax, std::int16_t* qx,
                float* x_scale, float* out);
void scores_i16_pair(const float* x0, const float* x1, Index d, Index d_pad,
                     const std::int16_t* Q, Index K_pad, const float* scale, const float* cn,
                     int qmax, std::int16_t* qx, float* x_scale, float* out);
#define UNIROUTE_SCORES_F16 &scores_f16
#define UNIROUTE_SCORES_I16 &scores_i16
#define UNIROUTE_SCORES_I16_PAIR &scores_i16_pair
#else
#define UNIROUTE_SCORES_F16 nullptr
#define UNIROUTE_SCORES_I16 nullptr
#define UNIROUTE_SCORES_I16_PAIR nullptr
#endif

extern const detail::IsaKernels kernels;
const detail::IsaKernels kernels = {
    UNIROUTE_ISA_NAME, &assign_f32, &assign_f64, &soft_f32, &soft_f64,
    &dense_f32,        &dense_f64,  &scores_f32, UNIROUTE_SCORES_F16,
    UNIROUTE_SCORES_I16, UNIROUTE_SCORES_I16_PAIR, &inner_f32, &sqnorm, &min_value, &dot_rows,
};

}  // namespace UNIROUTE_ISA
}  // namespace uniroute
