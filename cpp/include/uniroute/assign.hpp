// Hard and soft assignment of prompt embeddings to clusters.
#pragma once
#include <vector>

#include "uniroute/common.hpp"

namespace uniroute {

// Squared L2 norm of each of the n rows of a row-major (n, d) matrix.
template <class T>
void row_sqnorms(const T* X, Index n, Index d, T* out);

// What assignment caches per set of centroids: their squared norms and, for float, the
// canonical (double) norms and the rounding bound used to re-check near ties.
template <class T>
struct CentroidNorms {
  std::vector<T> cn;         // ||c_k||^2 in T
  std::vector<double> cn64;  // ||c_k||^2 summed in double (float only, else empty)
  T delta_a = 0, delta_b = 0;  // |score error| <= delta_a * ||x|| + delta_b
};
template <class T>
CentroidNorms<T> centroid_norms(const T* C, Index K, Index d);

// Exact nearest centroid for n row-major rows of X (n, d) against C (K, d).
// Distances use ||x||^2 - 2 x.c + ||c||^2 on blocks of rows (one GEMM per block, the
// argmin fused on the block), so extra memory is O(threads * block * K) for any n;
// blocks run on num_threads() threads. Ties go to the lowest centroid index; distances
// are clamped at >= 0. For float, a row whose best fp32 scores lie within rounding
// error of each other is decided by the canonical double-precision score, so the labels
// are the same on every SIMD path, for any thread count and any batch size.
// A row holding NaN/inf gets a non-finite sqdist (the caller reports it).
template <class T>
void assign_rows(const T* X, Index n, Index d, const T* C, const CentroidNorms<T>& norms,
                 Index K, Label* labels, T* sqdist);
// Same, with `centroid_sqnorms` = ||c_k||^2 given (the remaining norms are computed).
template <class T>
void assign_rows(const T* X, Index n, Index d, const T* C, const T* centroid_sqnorms,
                 Index K, Label* labels, T* sqdist);

// Row-wise numerically stable softmax of X W^T + b: P (n, K), rows summing to 1.
template <class T>
void soft_assign_rows(const T* X, Index n, Index d, const T* W, const T* b, Index K, T* P);

// Sum (in double) and count of the rows of X (n, d) falling in each of K clusters.
// Labels must already be in [0, K). sums (K, d) and counts (K) are accumulated into.
template <class T>
void cluster_sums(const T* X, Index n, Index d, const Label* labels, Index K, double* sums,
                  std::int64_t* counts);

}  // namespace uniroute
