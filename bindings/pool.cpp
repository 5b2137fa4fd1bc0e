// The compiled pool (cpp/include/uniroute/pool.hpp): every routing request of a router
// is one call to CompiledPool.route. This file only turns Python arguments into a
// RouteRequest (zero-copy for float32 rows) and checks them under their public names.
#include "array.hpp"
#include "register.hpp"

#include "uniroute/pool.hpp"

namespace uniroute_py {
namespace {

using uniroute::CompiledPool;

// The embeddings as float32 rows: zero-copy for a C-contiguous float32 array of shape
// (dim,) or (n, dim), converted otherwise.
struct Rows {
  const float* p = nullptr;
  Index n = 0;
  bool single = false;
  std::vector<float> buf;
  py::object keep;
};

std::string shape_text(const py::array& a) {
  std::string s = "(";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) {
    s += std::to_string(a.shape(i)) + (a.ndim() == 1 ? "," : (i + 1 < a.ndim() ? ", " : ""));
  }
  return s + ")";
}

// The rows of a C-contiguous, aligned float32 array of shape (dim,) or (n, dim), read in
// place; nullptr for anything else (which embedding_rows converts or refuses).
const float* rows_in_place(const py::handle& x_, Index dim, int* ndim, Index* n) {
  if (!FloatArrayC::check_(x_)) return nullptr;
  const auto a = py::reinterpret_borrow<FloatArrayC>(x_);
  const bool aligned = reinterpret_cast<std::uintptr_t>(a.data()) % alignof(float) == 0;
  if (!aligned || a.ndim() < 1 || a.ndim() > 2 || a.shape(a.ndim() - 1) != dim) return nullptr;
  *ndim = static_cast<int>(a.ndim());
  *n = a.ndim() == 1 ? 1 : a.shape(0);
  return a.data();
}

void embedding_rows(const py::handle& x_, Index dim, Rows& r) {
  int ndim = 0;
  if (const float* p = rows_in_place(x_, dim, &ndim, &r.n)) {
    r.p = p;
    r.single = ndim == 1;
    r.keep = py::reinterpret_borrow<py::object>(x_);
    return;
  }
  py::array a = as_ndarray(py::reinterpret_borrow<py::object>(x_), "embeddings");
  if (a.ndim() != 1 && a.ndim() != 2) {
    value_error("embeddings must have shape (n_prompts, dim) or (dim,), got shape " +
                shape_text(a));
  }
  r.single = a.ndim() == 1;
  const Index cols = a.shape(a.ndim() - 1);
  if (cols != dim) {
    value_error("embeddings has dim " + std::to_string(cols) + ", the router was fitted with dim " +
                std::to_string(dim));
  }
  if (r.single) a = a.attr("reshape")(1, -1).cast<py::array>();
  const View v = make_view(a, "embeddings", 2, "(n_prompts, dim)");
  r.n = v.rows;
  r.buf.resize(static_cast<size_t>(v.rows * v.cols));
  if (!r.buf.empty()) gather(v, 0, v.rows, r.buf.data());
  r.p = r.buf.data();
  r.keep = a;
}

double as_number(const py::handle& h, const char* name) {
  if (PyFloat_CheckExact(h.ptr())) return PyFloat_AS_DOUBLE(h.ptr());
  if (PyBool_Check(h.ptr()) || !(PyFloat_Check(h.ptr()) || PyLong_Check(h.ptr()) ||
                                 py::isinstance(h, py::module_::import("numpy").attr("number")))) {
    type_error(std::string(name) + " must be a real number, got " +
               std::string(py::str(h.get_type().attr("__name__"))));
  }
  return py::cast<double>(py::float_(py::reinterpret_borrow<py::object>(h)));
}

// allowed: None, or a bool mask (M,) or (n, M) (names were turned into a mask in Python).
// (Returns py::object, not py::array: a default py::array is a new empty numpy array,
// two of which per call were a third of a small route's time.)
py::object allowed_mask(const py::handle& h, Index n, Index M, bool single,
                        uniroute::RouteRequest& req) {
  if (h.is_none()) return py::object();
  const bool is_array = py::isinstance<py::array>(h);
  if (!is_array || py::reinterpret_borrow<py::array>(h).dtype().kind() != 'b') {
    type_error("allowed must be model names, or a bool mask of shape (n_models,) or "
               "(n_prompts, n_models); got " +
               std::string(py::str(h.get_type().attr("__name__"))) +
               (is_array ? " of dtype " +
                               std::string(py::str(py::reinterpret_borrow<py::array>(h).dtype()))
                         : std::string()));
  }
  const auto a = py::reinterpret_borrow<py::array>(h);
  const bool shared = a.ndim() == 1 && a.shape(0) == M;
  const bool rows = a.ndim() == 2 && a.shape(0) == n && a.shape(1) == M;
  if (!shared && !rows) {
    value_error("allowed has shape " + shape_text(a) + ", expected (" + std::to_string(M) +
                ",) or (" + std::to_string(n) + ", " + std::to_string(M) + ") for a pool of " +
                std::to_string(M) + " models and " + std::to_string(n) + " prompts");
  }
  (void)single;
  req.allowed_stride = shared ? 0 : M;
  const bool contiguous = (a.flags() & py::array::c_style) != 0;
  if (contiguous) {  // bool is one byte, 0 or 1: read in place
    req.allowed = static_cast<const std::uint8_t*>(a.data());
    return py::reinterpret_borrow<py::array>(a);
  }
  auto mask = py::array_t<std::uint8_t, py::array::c_style | py::array::forcecast>::ensure(
      a.attr("view")("uint8"));
  req.allowed = mask.data();
  return std::move(mask);
}

// max_cost: None, a number, or an array (n,) of numbers >= 0.
py::object cap_values(const py::handle& h, Index n, uniroute::RouteRequest& req,
                      double& scalar) {
  if (h.is_none()) return py::object();
  if (PyFloat_CheckExact(h.ptr()) || (PyLong_Check(h.ptr()) && !PyBool_Check(h.ptr()))) {
    scalar = py::cast<double>(h);
  } else {
    const py::array a = py::module_::import("numpy").attr("asarray")(h);
    const char kind = a.dtype().kind();
    if ((kind != 'f' && kind != 'i' && kind != 'u') || a.ndim() > 1 ||
        (a.ndim() == 1 && a.shape(0) != n)) {
      value_error("max_cost must be a number or an array of shape (" + std::to_string(n) +
                  ",), got " + std::string(py::str(a.dtype())) + " of shape " + shape_text(a));
    }
    if (a.ndim() == 1) {
      auto caps = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(a);
      for (Index i = 0; i < n; ++i) {
        const double c = caps.data()[i];
        if (std::isnan(c)) value_error("max_cost contains NaN");
        if (c < 0) value_error("max_cost must be >= 0, got " + std::to_string(c) + " (row " +
                               std::to_string(i) + ")");
      }
      req.max_cost = caps.data();
      req.max_cost_stride = 1;
      return std::move(caps);
    }
    scalar = py::cast<double>(a.attr("item")());
  }
  if (std::isnan(scalar)) value_error("max_cost contains NaN");
  if (scalar < 0) value_error("max_cost must be >= 0, got " + std::to_string(scalar));
  req.max_cost = &scalar;
  req.max_cost_stride = 0;
  return py::object();
}

// One route call; fills `out` (n) and, when given, the details.
struct Call {
  Rows rows;
  uniroute::RouteRequest req;
  py::object mask;  // keep the converted mask and caps alive (null when not given)
  py::object caps;
  double cap = 0.0;
};

void prepare(const CompiledPool& pool, Call& c, const py::handle& X, const py::handle& lam,
             const py::handle& lam_high, double weight, const py::handle& allowed,
             const py::handle& max_cost, bool strict) {
  embedding_rows(X, pool.dim(), c.rows);
  c.req.X = c.rows.p;
  c.req.n = c.rows.n;
  c.req.lam = lam.is_none() ? 0.0 : as_number(lam, "lam");
  c.req.lam_high = lam_high.is_none() ? c.req.lam : as_number(lam_high, "lam_high");
  c.req.weight = weight;
  c.req.strict = strict;
  c.mask = allowed_mask(allowed, c.rows.n, pool.n_models(), c.rows.single, c.req);
  c.caps = cap_values(max_cost, c.rows.n, c.req, c.cap);
}

py::object pool_route(const CompiledPool& pool, const py::handle& X, const py::handle& lam,
                      const py::handle& lam_high, double weight, const py::handle& allowed,
                      const py::handle& max_cost, bool strict) {
  Call c;
  prepare(pool, c, X, lam, lam_high, weight, allowed, max_cost, strict);
  if (c.rows.single) {
    const bool plain = allowed.is_none() && max_cost.is_none() && lam_high.is_none() &&
                       weight == 0.0;
    if (plain) return py::int_(pool.route_one(c.rows.p, c.req.lam));
    Label out;
    pool.route(c.req, &out);
    return py::int_(out);
  }
  py::array_t<Label> out(c.rows.n);
  Label* o = out.mutable_data();
  {
    py::gil_scoped_release release;
    pool.route(c.req, o);
  }
  return std::move(out);
}

// route(X, lam) with nothing else: pool_route with two arguments to convert instead of
// seven, and one float32 row straight to route_one (the call of every unconstrained
// route of one prompt).
py::object pool_route_plain(const CompiledPool& pool, const py::handle& X,
                            const py::handle& lam) {
  int ndim = 0;
  Index n = 0;
  const float* x = rows_in_place(X, pool.dim(), &ndim, &n);
  if (x != nullptr && ndim == 1) {  // one row in place: what pool_route's branch does
    return py::int_(pool.route_one(x, lam.is_none() ? 0.0 : as_number(lam, "lam")));
  }
  return pool_route(pool, X, lam, py::none(), 0.0, py::none(), py::none(), false);
}

py::tuple pool_details(const CompiledPool& pool, const py::handle& X, const py::handle& lam,
                       const py::handle& lam_high, double weight, const py::handle& allowed,
                       const py::handle& max_cost, bool strict) {
  Call c;
  prepare(pool, c, X, lam, lam_high, weight, allowed, max_cost, strict);
  const Index n = c.rows.n, M = pool.n_models();
  py::array_t<Label> idx(n), cluster(n);
  py::array_t<float> sqdist(n);
  py::array_t<double> lams(n), errors({n, M});
  py::array_t<bool> feasible({n, M});
  uniroute::RouteDetails det;
  det.cluster = cluster.mutable_data();
  det.sqdist = sqdist.mutable_data();
  det.lam = lams.mutable_data();
  det.errors = errors.mutable_data();
  det.feasible = reinterpret_cast<std::uint8_t*>(feasible.mutable_data());
  {
    py::gil_scoped_release release;
    pool.route(c.req, idx.mutable_data(), &det);
  }
  return py::make_tuple(idx, cluster, sqdist, lams, errors, feasible, c.rows.single);
}

std::unique_ptr<CompiledPool> make_compiled_pool(
    std::shared_ptr<uniroute::CentroidIndex> index, const py::object& Psi_,
    const py::object& cost_, const py::object& W_, const py::object& b_) {
  // An empty pool compiles too (soft_assign works on it; route is refused in Python).
  const Pool p{make_view(Psi_, "cluster_error", 2, "(n_models, n_clusters)"),
               make_view(cost_, "cost", 1, "(n_models,)")};
  if (p.cost.rows != p.psi.rows) {
    value_error("cost has length " + std::to_string(p.cost.rows) + ", expected n_models = " +
                std::to_string(p.psi.rows) + " (the rows of cluster_error)");
  }
  const std::vector<double> psi = to_vector<double>(p.psi, true);
  const std::vector<double> cost = to_vector<double>(p.cost, true);
  std::vector<float> W, b;
  if (!W_.is_none()) {
    const View Wv = make_view(W_, "map_weight", 2, "(n_clusters, dim)");
    const View bv = make_view(b_, "map_bias", 1, "(n_clusters,)");
    if (Wv.rows != p.psi.cols || Wv.cols != index->dim() || bv.rows != p.psi.cols) {
      value_error("map_weight must have shape (n_clusters, dim) = (" +
                  std::to_string(p.psi.cols) + ", " + std::to_string(index->dim()) +
                  ") and map_bias (n_clusters,)");
    }
    W = to_vector<float>(Wv, true);
    b = to_vector<float>(bv, true);
  }
  return std::make_unique<CompiledPool>(std::move(index), psi.data(), cost.data(), p.psi.rows,
                                        p.psi.cols, W.empty() ? nullptr : W.data(),
                                        b.empty() ? nullptr : b.data());
}

py::array float_rows(const CompiledPool& pool, const py::handle& X, bool soft) {
  Rows r;
  embedding_rows(X, pool.dim(), r);
  const Index K = pool.n_clusters(), M = pool.n_models();
  if (soft) {
    py::array_t<float> phi({r.n, K});
    py::gil_scoped_release release;
    pool.soft_assign(r.p, r.n, phi.mutable_data());
    return std::move(phi);
  }
  py::array_t<float> phi({r.n, K});
  py::array_t<double> err({r.n, M});
  py::gil_scoped_release release;
  pool.soft_assign(r.p, r.n, phi.mutable_data());
  pool.dense_errors(phi.data(), r.n, err.mutable_data());
  return std::move(err);
}

}  // namespace

void register_pool(py::module_& m) {
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const uniroute::NoFeasibleModel& e) {
      const py::object cls =
          py::module_::import("uniroute.exceptions").attr("NoFeasibleModelError");
      PyErr_SetString(cls.ptr(), e.what());
    }
  });
  m.def("mix_uniform", [](const py::object& X_) {
        const View X = make_view(X_, "X", 2, "(n_prompts, dim)");
        std::vector<float> x(static_cast<size_t>(X.rows * X.cols));
        if (!x.empty()) gather(X, 0, X.rows, x.data());
        py::array_t<double> out(X.rows);
        uniroute::mix_uniform(x.data(), X.rows, X.cols, out.mutable_data());
        return out;
      }, py::arg("X"),
        "The budget mix: a deterministic number in [0, 1) per row of X (n, dim).");
  py::class_<CompiledPool>(m, "CompiledPool",
                           "One snapshot of a router's pool: the prompt map (hard clusters or "
                           "a learned map), Psi, prices, tie order and the choice-table "
                           "cache. Every route request is one call. Thread-safe.")
      .def(py::init(&make_compiled_pool), py::arg("index"), py::arg("cluster_error"),
           py::arg("cost"), py::arg("map_weight") = py::none(),
           py::arg("map_bias") = py::none())
      .def("route", &pool_route, py::arg("embeddings"), py::arg("lam") = py::none(),
           py::arg("lam_high") = py::none(), py::arg("weight") = 0.0,
           py::arg("allowed") = py::none(), py::arg("max_cost") = py::none(),
           py::arg("strict") = false,
           "Chosen model index per prompt: an int for (dim,), int64 (n,) for (n, dim). "
           "A budget passes lam (low), lam_high and weight.")
      .def("route_plain", &pool_route_plain, py::arg("embeddings"), py::arg("lam"),
           "route(embeddings, lam) with no constraints and no budget (the same decision).")
      .def("details", &pool_details, py::arg("embeddings"), py::arg("lam") = py::none(),
           py::arg("lam_high") = py::none(), py::arg("weight") = 0.0,
           py::arg("allowed") = py::none(), py::arg("max_cost") = py::none(),
           py::arg("strict") = false,
           "The decision and what made it: (index, cluster, sqdist, lam, errors (n, M), "
           "feasible (n, M), single).")
      .def("soft_assign", [](const CompiledPool& p, const py::handle& X) {
            return float_rows(p, X, true);
          }, py::arg("embeddings"), "Phi (n, K) float32 of a learned-map pool.")
      .def("dense_errors", [](const CompiledPool& p, const py::handle& X) {
            return float_rows(p, X, false);
          }, py::arg("embeddings"), "Predicted error (n, M) of a learned-map pool.")
      .def("errors_of_phi", [](const CompiledPool& p, const py::object& Phi_) {
            const View v = make_view(Phi_, "Phi", 2, "(n_prompts, n_clusters)");
            require_cols(v, p.n_clusters(), "the n_clusters of the pool");
            const std::vector<float> phi = to_vector<float>(v, true);
            py::array_t<double> out({v.rows, p.n_models()});
            p.dense_errors(phi.data(), v.rows, out.mutable_data());
            return out;
          }, py::arg("Phi"), "Predicted error (n, M) from soft weights Phi (n, K).")
      .def("choice_table", [](const CompiledPool& p, double lam) {
            const auto t = p.table(lam);
            py::array_t<Label> out(static_cast<Index>(t->size()));
            std::copy(t->begin(), t->end(), out.mutable_data());
            return out;
          }, py::arg("lam") = 0.0, "Chosen model per cluster at lam (cached): int64 (K,).")
      .def_property_readonly("n_models", &CompiledPool::n_models)
      .def_property_readonly("n_clusters", &CompiledPool::n_clusters)
      .def_property_readonly("dim", &CompiledPool::dim)
      .def_property_readonly("dense", &CompiledPool::dense);
}

}  // namespace uniroute_py
