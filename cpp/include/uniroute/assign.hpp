// Hard and soft assignment of prompt embeddings to clusters.
#pragma once
#include "uniroute/common.hpp"

namespace uniroute {

// Squared L2 norm of each of the n rows of a row-major (n, d) matrix.
template <class T>
void row_sqnorms(const T* X, Index n, Index d, T* out);

// Exact nearest centroid for n row-major rows of X (n, d) against C (K, d).
// `centroid_sqnorms` holds ||c_k||^2. Distances use ||x||^2 - 2 x.c + ||c||^2 on
// blocks of rows (one GEMM per block), so extra memory is O(block * K) for any n.
// Ties go to the lowest centroid index; distances are clamped at >= 0.
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
