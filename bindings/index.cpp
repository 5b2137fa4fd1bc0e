// The compiled centroids (CentroidIndex) and the per-lam table router PoolRouter.
#include "array.hpp"
#include "register.hpp"

#include "uniroute/index.hpp"
#include "uniroute/route.hpp"

namespace uniroute_py {
namespace {

// ---------------------------------------------------------------- compiled router state

std::shared_ptr<uniroute::CentroidIndex> make_index(const py::object& C_, bool half,
                                                     bool fixed_point) {
  const View C = make_view(C_, "centroids", 2, "(n_clusters, dim)");
  if (C.rows < 1) value_error("centroids must hold at least one centroid, got 0 rows");
  if (C.cols < 1) value_error("centroids must have dim >= 1, got 0 columns");
  const std::vector<float> cent = to_vector<float>(C, true);
  {
    const uniroute::CentroidNorms<float> norms = uniroute::centroid_norms(cent.data(), C.rows, C.cols);
    check_result_finite(norms.cn.data(), C.rows, "the squared norm of a centroid");
  }
  py::gil_scoped_release release;
  const auto compact = !half ? uniroute::Compact::none
                             : (fixed_point ? uniroute::Compact::i16 : uniroute::Compact::f16);
  return std::make_shared<uniroute::CentroidIndex>(cent.data(), C.rows, C.cols, compact);
}

py::array index_centroids(const uniroute::CentroidIndex& idx) {
  py::array_t<float> out({idx.n_clusters(), idx.dim()});
  std::copy(idx.centroids(), idx.centroids() + idx.n_clusters() * idx.dim(),
            out.mutable_data());
  return out;
}

// One prompt as `dim` contiguous floats: zero-copy for a C-contiguous float32 array of
// shape (dim,) or (1, dim); anything else is converted (and checked) into `buf`.
const float* one_prompt(const py::handle& x_, Index dim, std::vector<float>& buf) {
  if (FloatArrayC::check_(x_)) {
    const auto a = py::reinterpret_borrow<FloatArrayC>(x_);
    const bool aligned = reinterpret_cast<std::uintptr_t>(a.data()) % alignof(float) == 0;
    if (aligned && ((a.ndim() == 1 && a.shape(0) == dim) ||
                    (a.ndim() == 2 && a.shape(0) == 1 && a.shape(1) == dim))) {
      return a.data();
    }
  }
  const py::array a = as_ndarray(py::reinterpret_borrow<py::object>(x_), "x");
  const View v = make_view(a, "x", a.ndim() == 2 ? 2 : 1, "(dim,) or (1, dim)");
  const Index n = v.rows * v.cols;
  if ((a.ndim() == 2 && v.rows != 1) || n != dim) {
    value_error("x must hold one prompt of dim " + std::to_string(dim) + ", got shape (" +
                std::to_string(v.rows) + (a.ndim() == 2 ? ", " + std::to_string(v.cols) : "") +
                ")");
  }
  buf.resize(static_cast<size_t>(dim));
  gather(v, 0, v.rows, buf.data());
  return buf.data();
}

Label nearest_one(const uniroute::CentroidIndex& idx, const py::handle& x_, float* dist) {
  std::vector<float> buf;
  const float* x = one_prompt(x_, idx.dim(), buf);
  const Label k = idx.nearest(x, dist);
  if (k < 0 || !std::isfinite(*dist)) {
    for (Index j = 0; j < idx.dim(); ++j) {
      if (!std::isfinite(x[j])) value_error("x contains NaN or inf; expected finite values");
    }
    overflow_error<float>("the squared distance of x to the centroids");
  }
  return k;
}

py::tuple index_assign(const uniroute::CentroidIndex& idx, const py::object& X_) {
  const View X = make_view(X_, "X", 2, "(n_prompts, dim)");
  require_cols(X, idx.dim(), "the dim of the centroids");
  if (wants_double(X)) return assign_any(X_, index_centroids(idx));
  py::array_t<Label> labels(X.rows);
  py::array_t<float> sqdist(X.rows);
  Label* lab = labels.mutable_data();
  float* dist = sqdist.mutable_data();
  if (X.rows <= 8 && zero_copy<float>(X)) {
    // A few prompts: the single-prompt kernel (same labels, no GEMM set-up, no thread).
    const float* p = reinterpret_cast<const float*>(X.data);
    bool ok = true;
    for (Index i = 0; i < X.rows; ++i) {
      lab[i] = idx.nearest(p + i * X.cols, dist + i);
      if (lab[i] < 0 || !std::isfinite(dist[i])) {
        check_finite(X, p + i * X.cols, i, 1);  // raises for NaN/inf
        ok = false;  // finite but ||x||^2 overflowed: the batch kernel decides
      }
    }
    if (ok) return py::make_tuple(labels, sqdist);
  }
  {
    py::gil_scoped_release release;
    const bool direct = zero_copy<float>(X);
    for_row_blocks<float>(X, !direct, [&](Index r0, Index nr, const float* p) {
      idx.assign(p, nr, lab + r0, dist + r0);
    });
    if (direct) check_rows_with_nonfinite<float>(X, dist, X.rows);
    check_result_finite(dist, X.rows, "the squared distance of a prompt to the centroids");
  }
  return py::make_tuple(labels, sqdist);
}

struct PoolRouter {
  std::shared_ptr<const uniroute::CentroidIndex> index;
  uniroute::PoolChoice pool;
};

std::unique_ptr<PoolRouter> make_pool_router(std::shared_ptr<uniroute::CentroidIndex> index,
                                             const py::object& Psi_, const py::object& cost_) {
  const Pool pool = make_pool(Psi_, cost_);
  if (pool.psi.cols != index->n_clusters()) {
    value_error("cluster_error has " + std::to_string(pool.psi.cols) +
                " clusters, the index has " + std::to_string(index->n_clusters()));
  }
  std::vector<double> psi = to_vector<double>(pool.psi, true);
  std::vector<double> cost = to_vector<double>(pool.cost, true);
  check_costs(cost);
  return std::make_unique<PoolRouter>(PoolRouter{
      std::move(index), uniroute::PoolChoice(psi.data(), cost.data(), pool.psi.rows,
                                             pool.psi.cols)});
}

Label pool_route_one(const PoolRouter& r, const py::handle& x, double lam) {
  if (!(lam >= 0.0) || !std::isfinite(lam)) check_lam(lam);
  float dist;
  const Label k = nearest_one(*r.index, x, &dist);
  return r.pool.table(lam)[static_cast<size_t>(k)];
}

py::array pool_route(const PoolRouter& r, const py::object& X_, double lam) {
  check_lam(lam);
  const std::vector<Label> table = r.pool.table(lam);  // a copy: used without the GIL
  py::tuple assigned = index_assign(*r.index, X_);
  auto labels = assigned[0].cast<py::array_t<Label>>();
  Label* p = labels.mutable_data();
  const Index n = labels.shape(0);
  {
    py::gil_scoped_release release;
    uniroute::route_lookup(p, n, table.data(), p);
  }
  return labels;
}

}  // namespace

void register_index(py::module_& m) {
  py::class_<uniroute::CentroidIndex, std::shared_ptr<uniroute::CentroidIndex>>(
      m, "CentroidIndex",
      "Centroids prepared for repeated assignment: fp32 rows with cached norms, and an fp16 "
      "copy for single prompts (labels identical to assign's).")
      .def(py::init(&make_index), py::arg("centroids"), py::arg("half") = true,
           py::arg("fixed_point") = true)
      .def("assign", &index_assign, py::arg("X"),
           "Nearest centroid of each row of X: (labels int64 [N], sqdist [N]).")
      .def("nearest", [](const uniroute::CentroidIndex& idx, const py::handle& x) {
            float dist;
            return nearest_one(idx, x, &dist);
          }, py::arg("x"), "Nearest centroid of one prompt x (dim,): an int. Holds the GIL.")
      .def_property_readonly("n_clusters", &uniroute::CentroidIndex::n_clusters)
      .def_property_readonly("dim", &uniroute::CentroidIndex::dim)
      .def_property_readonly("uses_half", [](const uniroute::CentroidIndex& idx) {
            return idx.single_path() != uniroute::Compact::none;
          })
      .def_property_readonly("single_path", [](const uniroute::CentroidIndex& idx) {
            switch (idx.single_path()) {
              case uniroute::Compact::f16: return "fp16";
              case uniroute::Compact::i16: return "int16";
              default: return "fp32";
            }
          }, "What one prompt's scores are computed from: 'int16', 'fp16' or 'fp32'.")
      .def_property_readonly("centroids", &index_centroids)
      .def(py::pickle(
          [](const uniroute::CentroidIndex& idx) {
            const auto c = idx.compact_requested();
            return py::make_tuple(index_centroids(idx), c != uniroute::Compact::none,
                                  c == uniroute::Compact::i16);
          },
          [](const py::tuple& t) {
            return make_index(t[0], t[1].cast<bool>(), t[2].cast<bool>());
          }));

  py::class_<PoolRouter>(m, "PoolRouter",
                         "A pool (cluster_error, cost) over a CentroidIndex, with the choice "
                         "table of the last lam cached.")
      .def(py::init(&make_pool_router), py::arg("index"), py::arg("cluster_error"),
           py::arg("cost"))
      .def("route_one", &pool_route_one, py::arg("x"), py::arg("lam") = 0.0,
           "Chosen model index for one prompt x (dim,): an int. Holds the GIL.")
      .def("route_label", [](const PoolRouter& r, Index k, double lam) {
            if (!(lam >= 0.0) || !std::isfinite(lam)) check_lam(lam);
            if (k < 0 || k >= r.pool.n_clusters()) {
              value_error("label " + std::to_string(k) + " is out of range; expected [0, " +
                          std::to_string(r.pool.n_clusters()) + ")");
            }
            return r.pool.table(lam)[static_cast<size_t>(k)];
          }, py::arg("label"), py::arg("lam") = 0.0,
          "Chosen model index for one cluster label (a table lookup): an int.")
      .def("route", &pool_route, py::arg("X"), py::arg("lam") = 0.0,
           "Chosen model index per row of X: int64 [N].")
      .def("choice_table", [](const PoolRouter& r, double lam) {
            check_lam(lam);
            const auto& t = r.pool.table(lam);
            py::array_t<Label> out(static_cast<Index>(t.size()));
            std::copy(t.begin(), t.end(), out.mutable_data());
            return out;
          }, py::arg("lam") = 0.0, "Chosen model per cluster: int64 [K].")
      .def_property_readonly("n_models", [](const PoolRouter& r) { return r.pool.n_models(); })
      .def_property_readonly("index", [](const PoolRouter& r) {
            return std::const_pointer_cast<uniroute::CentroidIndex>(r.index);
          })
      .def(py::pickle(
          [](const PoolRouter& r) {
            const auto& psi = r.pool.cluster_error();
            py::array_t<double> P({r.pool.n_models(), r.pool.n_clusters()});
            std::copy(psi.begin(), psi.end(), P.mutable_data());
            py::array_t<double> c(r.pool.n_models());
            std::copy(r.pool.cost().begin(), r.pool.cost().end(), c.mutable_data());
            return py::make_tuple(std::const_pointer_cast<uniroute::CentroidIndex>(r.index), P, c);
          },
          [](const py::tuple& t) {
            return make_pool_router(t[0].cast<std::shared_ptr<uniroute::CentroidIndex>>(), t[1],
                                    t[2]);
          }));
}

}  // namespace uniroute_py
