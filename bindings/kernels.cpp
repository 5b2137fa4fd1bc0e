// The stateless kernels: assignment, soft assignment, routing of given labels or
// soft weights, the lam-path, cluster sums, nearest neighbours; and the DensePool.
#include "array.hpp"
#include "register.hpp"

#include "uniroute/assign.hpp"
#include "uniroute/neighbors.hpp"
#include "uniroute/route.hpp"

namespace uniroute_py {
namespace {

// ---------------------------------------------------------------- assign
template <class T>
py::tuple assign_impl(const View& X, const View& C) {
  std::vector<T> cent = to_vector<T>(C, true);
  py::array_t<Label> labels(X.rows);
  py::array_t<T> sqdist(X.rows);
  Label* lab = labels.mutable_data();
  T* dist = sqdist.mutable_data();
  {
    py::gil_scoped_release release;
    const uniroute::CentroidNorms<T> norms = uniroute::centroid_norms(cent.data(), C.rows, C.cols);
    check_result_finite(norms.cn.data(), C.rows, "the squared norm of a centroid");
    const bool direct = zero_copy<T>(X);
    for_row_blocks<T>(X, !direct, [&](Index r0, Index nr, const T* p) {
      uniroute::assign_rows(p, nr, X.cols, cent.data(), norms, C.rows, lab + r0, dist + r0);
    });
    if (direct) check_rows_with_nonfinite<T>(X, dist, X.rows);
    check_result_finite(dist, X.rows, "the squared distance of a prompt to the centroids");
  }
  return py::make_tuple(labels, sqdist);
}

py::tuple assign(const py::object& X_, const py::object& C_) {
  const View X = make_view(X_, "X", 2, "(n_prompts, dim)");
  const View C = make_view(C_, "centroids", 2, "(n_clusters, dim)");
  if (C.rows < 1) value_error("centroids must hold at least one centroid, got 0 rows");
  if (X.cols < 1) value_error("X must have dim >= 1, got 0 columns");
  require_cols(C, X.cols, "the dim of X");
  return wants_double(X) ? assign_impl<double>(X, C) : assign_impl<float>(X, C);
}

// ---------------------------------------------------------------- soft_assign
template <class T>
py::array soft_assign_impl(const View& X, const View& W, const View& b) {
  std::vector<T> w = to_vector<T>(W, true);
  std::vector<T> bias = to_vector<T>(b, true);
  py::array_t<T> P({X.rows, W.rows});
  T* out = P.mutable_data();
  {
    py::gil_scoped_release release;
    for_row_blocks<T>(X, true, [&](Index r0, Index nr, const T* p) {
      uniroute::soft_assign_rows(p, nr, X.cols, w.data(), bias.data(), W.rows,
                                 out + r0 * W.rows);
      check_result_finite(out + r0 * W.rows, nr * W.rows, "X @ W.T + b");
    });
  }
  return P;
}

py::array soft_assign(const py::object& X_, const py::object& W_, const py::object& b_) {
  const View X = make_view(X_, "X", 2, "(n_prompts, dim)");
  const View W = make_view(W_, "W", 2, "(n_clusters, dim)");
  const View b = make_view(b_, "b", 1, "(n_clusters,)");
  if (W.rows < 1) value_error("W must hold at least one row (cluster), got 0");
  if (X.cols < 1) value_error("X must have dim >= 1, got 0 columns");
  require_cols(W, X.cols, "the dim of X");
  if (b.rows != W.rows) {
    value_error("b has length " + std::to_string(b.rows) + ", expected n_clusters = " +
                std::to_string(W.rows) + " (the rows of W)");
  }
  return wants_double(X) ? soft_assign_impl<double>(X, W, b)
                         : soft_assign_impl<float>(X, W, b);
}

// Hard routes compare cluster_error + lam * cost in double: keep that sum finite.
void check_score_range(const std::vector<double>& psi, const std::vector<double>& cost,
                       double lam) {
  const double bound = max_abs(psi.data(), static_cast<Index>(psi.size())) +
                       lam * max_abs(cost.data(), static_cast<Index>(cost.size()));
  if (!(bound < 0.25 * std::numeric_limits<double>::max())) {
    overflow_error<double>("cluster_error + lam * cost");
  }
}

// ---------------------------------------------------------------- route
py::array choice_table(const py::object& Psi_, const py::object& cost_, double lam) {
  const Pool pool = make_pool(Psi_, cost_);
  check_lam(lam);
  std::vector<double> psi = to_vector<double>(pool.psi, true);
  std::vector<double> cost = to_vector<double>(pool.cost, true);
  check_costs(cost);
  check_score_range(psi, cost, lam);
  py::array_t<Label> table(pool.psi.cols);
  uniroute::choice_table(psi.data(), cost.data(), pool.psi.rows, pool.psi.cols, lam,
                         table.mutable_data());
  return table;
}

// Dense route over validated, contiguous psi (M, K) and cost (M) of type T.
template <class T>
py::array route_dense_rows(const View& Phi, const T* psi, const T* cost, Index M,
                           double psi_max, double cost_max, double lam) {
  py::array_t<Label> out(Phi.rows);
  Label* o = out.mutable_data();
  {
    py::gil_scoped_release release;
    const double penalty_max = lam * cost_max;
    for_checked_blocks<T>(Phi, [&](Index r0, Index nr, const T* p, double phi_max) {
      // |score| <= K * max|Phi| * max|Psi| + lam * max cost must stay representable.
      const double bound = static_cast<double>(Phi.cols) * phi_max * psi_max + penalty_max;
      if (!(bound < 0.25 * static_cast<double>(std::numeric_limits<T>::max()))) {
        overflow_error<T>("the score Phi . cluster_error + lam * cost");
      }
      uniroute::route_dense(p, nr, Phi.cols, psi, cost, M, static_cast<T>(lam), o + r0);
    });
  }
  return out;
}

template <class T>
py::array route_dense_impl(const View& Phi, const Pool& pool, double lam) {
  std::vector<T> psi = to_vector<T>(pool.psi, true);
  std::vector<T> cost = to_vector<T>(pool.cost, true);
  check_costs(cost);
  const Index M = pool.psi.rows;
  return route_dense_rows<T>(Phi, psi.data(), cost.data(), M,
                             static_cast<double>(max_abs(psi.data(), M * pool.psi.cols)),
                             static_cast<double>(max_abs(cost.data(), M)), lam);
}

// A pool validated and converted once, for the dense (soft Phi) route of LearnedMap:
// a single prompt then pays no O(M K) copy or check per call.
struct DensePool {
  std::vector<float> psi, cost;
  Index M = 0, K = 0;
  double psi_max = 0.0, cost_max = 0.0;
};

std::unique_ptr<DensePool> make_dense_pool(const py::object& Psi_, const py::object& cost_) {
  const Pool pool = make_pool(Psi_, cost_);
  auto d = std::make_unique<DensePool>();
  d->psi = to_vector<float>(pool.psi, true);
  d->cost = to_vector<float>(pool.cost, true);
  check_costs(d->cost);
  d->M = pool.psi.rows;
  d->K = pool.psi.cols;
  d->psi_max = static_cast<double>(max_abs(d->psi.data(), d->M * d->K));
  d->cost_max = static_cast<double>(max_abs(d->cost.data(), d->M));
  return d;
}

py::array dense_pool_route(const DensePool& d, const py::object& Phi_, double lam) {
  check_lam(lam);
  const View Phi = make_view(Phi_, "Phi", 2, "(n_prompts, n_clusters)");
  require_cols(Phi, d.K, "the n_clusters of the pool");
  return route_dense_rows<float>(Phi, d.psi.data(), d.cost.data(), d.M, d.psi_max, d.cost_max,
                                 lam);
}

py::array route_hard_impl(const View& L, const Pool& pool, double lam) {
  std::vector<double> psi = to_vector<double>(pool.psi, true);
  std::vector<double> cost = to_vector<double>(pool.cost, true);
  check_costs(cost);
  const Index K = pool.psi.cols;
  check_score_range(psi, cost, lam);
  std::vector<Label> table(static_cast<size_t>(K));
  uniroute::choice_table(psi.data(), cost.data(), pool.psi.rows, K, lam, table.data());
  py::array_t<Label> out(L.rows);
  Label* o = out.mutable_data();
  {
    py::gil_scoped_release release;
    const Index block = kBlockElements;
    std::vector<Label> buf(static_cast<size_t>(std::min(block, L.rows)));
    for (Index r0 = 0; r0 < L.rows; r0 += block) {
      const Index nr = std::min(block, L.rows - r0);
      gather(L, r0, nr, buf.data());
      for (Index i = 0; i < nr; ++i) {
        if (buf[i] < 0 || buf[i] >= K) {
          value_error("labels[" + std::to_string(r0 + i) + "] = " + std::to_string(buf[i]) +
                      " is out of range; expected cluster ids in [0, " + std::to_string(K) +
                      ")");
        }
      }
      uniroute::route_lookup(buf.data(), nr, table.data(), o + r0);
    }
  }
  return out;
}

py::array route(const py::object& assignment_, const py::object& Psi_, const py::object& cost_,
                double lam) {
  const Pool pool = make_pool(Psi_, cost_);
  check_lam(lam);
  const py::array assignment = as_ndarray(assignment_, "assignment");
  if (assignment.ndim() == 1) {
    const View L = make_view(assignment, "labels", 1, "(n_prompts,)");
    if (L.kind != 'i' && L.kind != 'u') {
      type_error("labels has dtype " + L.dtype +
                 ", expected an integer array of cluster ids (or a 2-D Phi of soft weights)");
    }
    return route_hard_impl(L, pool, lam);
  }
  const View Phi = make_view(assignment, "Phi", 2, "(n_prompts, n_clusters)");
  require_cols(Phi, pool.psi.cols, "n_clusters, the columns of cluster_error");
  return wants_double(Phi) ? route_dense_impl<double>(Phi, pool, lam)
                           : route_dense_impl<float>(Phi, pool, lam);
}

// ---------------------------------------------------------------- route_path
py::tuple route_path(const py::object& Psi_, const py::object& cost_) {
  const Pool pool = make_pool(Psi_, cost_);
  std::vector<double> psi = to_vector<double>(pool.psi, true);
  std::vector<double> cost = to_vector<double>(pool.cost, true);
  check_costs(cost);
  uniroute::RoutePath path;
  {
    py::gil_scoped_release release;
    path = uniroute::route_path(psi.data(), cost.data(), pool.psi.rows, pool.psi.cols);
  }
  auto arr = [](const auto& vec) {
    using V = typename std::decay_t<decltype(vec)>::value_type;
    py::array_t<V> a(static_cast<Index>(vec.size()));
    std::copy(vec.begin(), vec.end(), a.mutable_data());
    return a;
  };
  return py::make_tuple(arr(path.offsets), arr(path.model), arr(path.lam_lo),
                        arr(path.lam_hi));
}

// ---------------------------------------------------------------- cluster_sums
template <class T>
py::tuple cluster_sums_impl(const View& X, const View& L, Index K) {
  py::array_t<double> sums({K, X.cols});
  py::array_t<std::int64_t> counts(K);
  double* s = sums.mutable_data();
  std::int64_t* c = counts.mutable_data();
  std::fill(s, s + K * X.cols, 0.0);
  std::fill(c, c + K, std::int64_t(0));
  {
    py::gil_scoped_release release;
    std::vector<Label> lab;
    const bool direct = zero_copy<T>(X);
    for_row_blocks<T>(X, !direct, [&](Index r0, Index nr, const T* p) {
      lab.resize(static_cast<size_t>(nr));
      gather(L, r0, nr, lab.data());
      for (Index i = 0; i < nr; ++i) {
        if (lab[i] < 0 || lab[i] >= K) {
          value_error("labels[" + std::to_string(r0 + i) + "] = " + std::to_string(lab[i]) +
                      " is out of range; expected values in [0, " + std::to_string(K) + ")");
        }
      }
      uniroute::cluster_sums(p, nr, X.cols, lab.data(), K, s, c);
    });
    if (direct) {  // NaN/inf rows make their cluster's sum non-finite
      for (Index j = 0; j < K * X.cols; ++j) {
        if (!std::isfinite(s[j])) {
          for_row_blocks<T>(X, true, [](Index, Index, const T*) {});
          break;
        }
      }
    }
  }
  return py::make_tuple(sums, counts);
}

py::tuple cluster_sums(const py::object& X_, const py::object& labels_, Index n_clusters) {
  const View X = make_view(X_, "X", 2, "(n_prompts, dim)");
  const View L = make_view(labels_, "labels", 1, "(n_prompts,)");
  if (L.kind != 'i' && L.kind != 'u') {
    type_error("labels has dtype " + L.dtype + ", expected an integer array");
  }
  if (L.rows != X.rows) {
    value_error("labels has length " + std::to_string(L.rows) + ", expected " +
                std::to_string(X.rows) + " (the rows of X)");
  }
  if (n_clusters < 1) value_error("n_clusters must be >= 1, got " + std::to_string(n_clusters));
  return wants_double(X) ? cluster_sums_impl<double>(X, L, n_clusters)
                         : cluster_sums_impl<float>(X, L, n_clusters);
}


// ---------------------------------------------------------------- neighbours
py::array top_k_inner(const py::object& Q_, const py::object& keys_, Index k) {
  const View Q = make_view(Q_, "queries", 2, "(n_queries, dim)");
  const View Kv = make_view(keys_, "keys", 2, "(n_keys, dim)");
  require_cols(Kv, Q.cols, "the dim of queries");
  if (k < 1 || k > Kv.rows) {
    value_error("k must be in [1, n_keys = " + std::to_string(Kv.rows) + "], got " +
                std::to_string(k));
  }
  const std::vector<float> keys = to_vector<float>(Kv, true);
  py::array_t<Label> out({Q.rows, k});
  Label* o = out.mutable_data();
  {
    py::gil_scoped_release release;
    const double key_max = max_abs(keys.data(), static_cast<Index>(keys.size()));
    for_checked_blocks<float>(Q, [&](Index r0, Index nr, const float* p, double q_max) {
      const double bound = static_cast<double>(Q.cols) * key_max * q_max;
      if (!(bound < 0.25 * static_cast<double>(std::numeric_limits<float>::max()))) {
        overflow_error<float>("the inner product of queries and keys");
      }
      uniroute::top_k_inner(p, nr, keys.data(), Kv.rows, Q.cols, k, o + r0 * k);
    });
  }
  return out;
}

py::array pairwise_sqdist(const py::object& X_, const py::object& C_) {
  const View X = make_view(X_, "X", 2, "(n_prompts, dim)");
  const View C = make_view(C_, "centroids", 2, "(n_centroids, dim)");
  require_cols(C, X.cols, "the dim of X");
  const std::vector<float> cent = to_vector<float>(C, true);
  py::array_t<float> out({X.rows, C.rows});
  float* o = out.mutable_data();
  {
    py::gil_scoped_release release;
    // X is not scanned first (a pass over all of X per call, which k-means++ makes K
    // times): the kernel writes NaN for a row whose squared norm is not finite, and only
    // then is the block scanned, to name the row.
    for_row_blocks<float>(X, false, [&](Index r0, Index nr, const float* p) {
      float* out = o + r0 * C.rows;
      uniroute::pairwise_sqdist(p, nr, cent.data(), C.rows, X.cols, out);
      if (!std::all_of(out, out + nr * C.rows, [](float v) { return std::isfinite(v); })) {
        check_finite(X, p, r0, nr);  // raises for NaN/inf in X
        check_result_finite(out, nr * C.rows, "a squared distance");  // else: overflow
      }
    });
  }
  return out;
}

}  // namespace

py::tuple assign_any(const py::object& X, const py::object& centroids) {
  return assign(X, centroids);
}

void register_kernels(py::module_& m) {
  m.def("assign", &assign, py::arg("X"), py::arg("centroids"),
        "Nearest centroid of each row of X: (labels int64 [N], sqdist [N]).");
  m.def("soft_assign", &soft_assign, py::arg("X"), py::arg("W"), py::arg("b"),
        "Row-wise softmax of X @ W.T + b: P [N, K].");
  m.def("route", &route, py::arg("assignment"), py::arg("cluster_error"), py::arg("cost"),
        py::arg("lam") = 0.0,
        "argmin_m Phi(x).Psi[m] + lam*cost[m] for integer labels [N] or soft Phi [N, K].");
  m.def("choice_table", &choice_table, py::arg("cluster_error"), py::arg("cost"),
        py::arg("lam") = 0.0, "Per-cluster chosen model for one lam: int64 [K].");
  m.def("route_path", &route_path, py::arg("cluster_error"), py::arg("cost"),
        "Exact lam-path per cluster: (offsets [K+1], model [T], lam_lo [T], lam_hi [T]).");
  m.def("cluster_sums", &cluster_sums, py::arg("X"), py::arg("labels"),
        py::arg("n_clusters"), "Per-cluster row sums (float64 [K, d]) and counts (int64 [K]).");
  m.def("top_k_inner", &top_k_inner, py::arg("queries"), py::arg("keys"), py::arg("k"),
        "Indices (int64 [N, k], increasing) of the k keys with the largest inner product "
        "with each query (ties: lowest indices). float32, blocked GEMM + selection.");
  m.def("pairwise_sqdist", &pairwise_sqdist, py::arg("X"), py::arg("centroids"),
        "All squared distances, float32 [N, T], clamped at >= 0.");
  py::class_<DensePool>(m, "DensePool",
                        "A pool (cluster_error, cost) checked and converted to float32 once, "
                        "for the dense route of soft cluster weights Phi.")
      .def(py::init(&make_dense_pool), py::arg("cluster_error"), py::arg("cost"))
      .def("route", &dense_pool_route, py::arg("Phi"), py::arg("lam") = 0.0,
           "argmin_m Phi[i] . cluster_error[m] + lam * cost[m] per row of Phi (n, K), in "
           "float32 (ties: the cheaper model, then the lower index): int64 [n]. Releases "
           "the GIL.")
      .def_property_readonly("n_models", [](const DensePool& d) { return d.M; })
      .def_property_readonly("n_clusters", [](const DensePool& d) { return d.K; });
}

}  // namespace uniroute_py
