// Brute-force nearest neighbours by inner product (the K-NN baseline of the paper uses
// cosine similarity: pass unit-norm rows), and all squared distances to a few points.
#pragma once
#include "uniroute/common.hpp"

namespace uniroute {

// For each of the n rows of Q (n, d): the indices of the k rows of Keys (m, d) with the
// largest inner product, in increasing index order (ties at the k-th value: lowest
// indices first). One GEMM per block of rows, selection fused; threads over blocks.
void top_k_inner(const float* Q, Index n, const float* Keys, Index m, Index d, Index k,
                 Label* out);

// D (n, t) = ||x_i - c_j||^2 >= 0 for rows of X (n, d) and C (t, d).
void pairwise_sqdist(const float* X, Index n, const float* C, Index t, Index d, float* D);

}  // namespace uniroute
