#include "uniroute/assign.hpp"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>

namespace uniroute {
namespace {

template <class T>
using RowMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using ConstRowMap = Eigen::Map<const RowMat<T>>;

// Rows per GEMM block: keeps the (block x K) product near the size of L2.
Index block_rows(Index K) {
  const Index target = Index(1) << 17;  // elements of the block product
  return std::clamp<Index>(target / std::max<Index>(K, 1), 16, 1024);
}

}  // namespace

template <class T>
void row_sqnorms(const T* X, Index n, Index d, T* out) {
  if (n == 0) return;
  ConstRowMap<T> Xm(X, n, d);
  Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, 1>>(out, n) = Xm.rowwise().squaredNorm();
}

template <class T>
void assign_rows(const T* X, Index n, Index d, const T* C, const T* cnorm, Index K,
                 Label* labels, T* sqdist) {
  if (n == 0) return;
  const Index B = block_rows(K);
  ConstRowMap<T> Cm(C, K, d);
  RowMat<T> G(std::min(B, n), K);
  for (Index r0 = 0; r0 < n; r0 += B) {
    const Index nb = std::min(B, n - r0);
    ConstRowMap<T> Xb(X + r0 * d, nb, d);
    auto Gb = G.topRows(nb);
    Gb.noalias() = Xb * Cm.transpose();
    for (Index i = 0; i < nb; ++i) {
      const T* g = Gb.data() + i * K;
      T best = std::numeric_limits<T>::infinity();
      Index arg = 0;
      for (Index k = 0; k < K; ++k) {
        const T v = cnorm[k] - T(2) * g[k];
        if (v < best) {
          best = v;
          arg = k;
        }
      }
      const T xn = Xb.row(i).squaredNorm();
      labels[r0 + i] = arg;
      sqdist[r0 + i] = std::max(xn + best, T(0));
    }
  }
}

template <class T>
void soft_assign_rows(const T* X, Index n, Index d, const T* W, const T* b, Index K, T* P) {
  if (n == 0) return;
  const Index B = block_rows(K);
  ConstRowMap<T> Wm(W, K, d);
  Eigen::Map<const Eigen::Matrix<T, 1, Eigen::Dynamic>> bv(b, K);
  for (Index r0 = 0; r0 < n; r0 += B) {
    const Index nb = std::min(B, n - r0);
    ConstRowMap<T> Xb(X + r0 * d, nb, d);
    Eigen::Map<RowMat<T>> Pb(P + r0 * K, nb, K);
    Pb.noalias() = Xb * Wm.transpose();
    Pb.rowwise() += bv;
    for (Index i = 0; i < nb; ++i) {
      auto row = Pb.row(i);
      const T mx = row.maxCoeff();
      row.array() = (row.array() - mx).exp();
      row /= row.sum();
    }
  }
}

template <class T>
void cluster_sums(const T* X, Index n, Index d, const Label* labels, Index K, double* sums,
                  std::int64_t* counts) {
  (void)K;
  for (Index i = 0; i < n; ++i) {
    const Label k = labels[i];
    double* s = sums + k * d;
    const T* x = X + i * d;
    for (Index j = 0; j < d; ++j) s[j] += static_cast<double>(x[j]);
    counts[k] += 1;
  }
}

#define UNIROUTE_INSTANTIATE(T)                                                              \
  template void row_sqnorms<T>(const T*, Index, Index, T*);                                  \
  template void assign_rows<T>(const T*, Index, Index, const T*, const T*, Index, Label*, T*); \
  template void soft_assign_rows<T>(const T*, Index, Index, const T*, const T*, Index, T*);   \
  template void cluster_sums<T>(const T*, Index, Index, const Label*, Index, double*,         \
                                std::int64_t*);
UNIROUTE_INSTANTIATE(float)
UNIROUTE_INSTANTIATE(double)
#undef UNIROUTE_INSTANTIATE

}  // namespace uniroute
