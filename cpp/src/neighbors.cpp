#include "uniroute/neighbors.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "parallel.hpp"
#include "uniroute/assign.hpp"
#include "uniroute/isa_kernels.hpp"

namespace uniroute {

void top_k_inner(const float* Q, Index n, const float* Keys, Index m, Index d, Index k,
                 Label* out) {
  if (n == 0 || k == 0) return;
  const auto& isa = detail::active_kernels();
  // Large blocks: the GEMM repacks all the keys once per block.
  const Index B = std::min<Index>(std::clamp<Index>((Index(1) << 21) / std::max<Index>(m, 1),
                                                    64, 1024), n);
  const Index tasks = (n + B - 1) / B;
  const int workers = detail::workers_for(tasks, double(B) * m * d);
  struct Work {
    std::vector<float> sims, tmp;
  };
  std::vector<Work> work(static_cast<size_t>(workers));
  detail::parallel_for(tasks, workers, [&](Index t, int w) {
    Work& wk = work[static_cast<size_t>(w)];
    if (wk.sims.empty()) {
      wk.sims.resize(static_cast<size_t>(B * m));
      wk.tmp.resize(static_cast<size_t>(m));
    }
    const Index r0 = t * B, nr = std::min(B, n - r0);
    isa.inner_f32(Q + r0 * d, nr, Keys, m, d, wk.sims.data());
    for (Index i = 0; i < nr; ++i) {
      const float* s = wk.sims.data() + i * m;
      Label* o = out + (r0 + i) * k;
      // The k-th largest value, then every index above it and the lowest indices at it.
      std::copy(s, s + m, wk.tmp.begin());
      std::nth_element(wk.tmp.begin(), wk.tmp.begin() + (m - k), wk.tmp.end());
      const float kth = wk.tmp[static_cast<size_t>(m - k)];
      Index above = 0;
      for (Index j = 0; j < m; ++j) above += s[j] > kth;
      Index at_quota = k - above, c = 0;
      for (Index j = 0; j < m; ++j) {
        if (s[j] > kth || (s[j] == kth && at_quota-- > 0)) o[c++] = j;
      }
    }
  });
}

void pairwise_sqdist(const float* X, Index n, const float* C, Index t, Index d, float* D) {
  if (n == 0 || t == 0) return;
  const auto& isa = detail::active_kernels();
  std::vector<float> cn(static_cast<size_t>(t));
  row_sqnorms(C, t, d, cn.data());
  const Index B = std::min<Index>(1024, n);
  const Index tasks = (n + B - 1) / B;
  const int workers = detail::workers_for(tasks, double(B) * t * d);
  // Sub-blocks of 64 rows: each row's norm is taken right after its products, while the
  // rows are still in L2 (one pass over X from memory; k-means++ makes one call per
  // centre, over all of X).
  constexpr Index kSub = 64;
  detail::parallel_for(tasks, workers, [&](Index task, int) {
    const Index r0 = task * B, nr = std::min(B, n - r0);
    for (Index s0 = r0; s0 < r0 + nr; s0 += kSub) {
      const Index ns = std::min(kSub, r0 + nr - s0);
      float* Db = D + s0 * t;
      isa.inner_f32(X + s0 * d, ns, C, t, d, Db);
      for (Index i = 0; i < ns; ++i) {
        const float xn = isa.sqnorm(X + (s0 + i) * d, d);
        if (!std::isfinite(xn)) {  // NaN/inf in the row (or its norm overflows): NaN out,
          std::fill(Db + i * t, Db + (i + 1) * t,  // which the clamp below would hide
                    std::numeric_limits<float>::quiet_NaN());
          continue;
        }
        for (Index j = 0; j < t; ++j) {
          const float v = xn - 2.0f * Db[i * t + j] + cn[j];
          Db[i * t + j] = v > 0.0f ? v : 0.0f;
        }
      }
    }
  });
}

}  // namespace uniroute
