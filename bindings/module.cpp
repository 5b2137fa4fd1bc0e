// uniroute._core: the only file that includes pybind11. It checks arguments, adapts
// numpy buffers (zero-copy for aligned C-contiguous float32/float64, block-by-block
// conversion for every other real dtype and layout), and releases the GIL around work.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <Eigen/Core>  // version macros only

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "uniroute/assign.hpp"
#include "uniroute/index.hpp"
#include "uniroute/neighbors.hpp"
#include "uniroute/route.hpp"
#include "uniroute/simd.hpp"

namespace py = pybind11;
using uniroute::Index;
using uniroute::Label;

namespace {

// Elements per streamed block of a large input (4 MiB of float32).
constexpr Index kBlockElements = Index(1) << 20;

[[noreturn]] void value_error(const std::string& msg) { throw py::value_error(msg); }
[[noreturn]] void type_error(const std::string& msg) { throw py::type_error(msg); }

// A read-only 2-D view of a numpy array of any real dtype, any strides.
struct View {
  const char* data = nullptr;
  Index rows = 0, cols = 0;
  Index s0 = 0, s1 = 0;
  char kind = 'f';
  int itemsize = 4;
  bool swap = false;
  std::string name;
  std::string dtype;
  py::array owner;  // keeps a converted array alive as long as the view
};

// Any array-like as an ndarray (lists and scalars go through numpy.asarray).
py::array as_ndarray(const py::object& obj, const std::string& name) {
  if (py::isinstance<py::array>(obj)) return py::reinterpret_borrow<py::array>(obj);
  try {
    return py::module_::import("numpy").attr("asarray")(obj).cast<py::array>();
  } catch (py::error_already_set& e) {
    type_error(name + " could not be converted to a numpy array: " + std::string(e.what()));
  }
}

View make_view(const py::object& obj, const std::string& name, int ndim, const char* shape_doc) {
  const py::array a = as_ndarray(obj, name);
  View v;
  v.owner = a;
  v.name = name;
  v.dtype = py::str(a.dtype()).cast<std::string>();
  const py::dtype dt = a.dtype();
  v.kind = dt.kind();
  v.itemsize = static_cast<int>(dt.itemsize());
  const bool real_float = v.kind == 'f' && (v.itemsize == 2 || v.itemsize == 4 ||
                                            v.itemsize == 8 || v.itemsize == sizeof(long double));
  const bool integer = (v.kind == 'i' || v.kind == 'u') &&
                       (v.itemsize == 1 || v.itemsize == 2 || v.itemsize == 4 || v.itemsize == 8);
  if (!real_float && !integer) {
    type_error(name + " has dtype " + v.dtype +
               ", expected a real floating-point or integer dtype (complex, bool, object, "
               "string and other dtypes are refused)");
  }
  if (a.ndim() != ndim) {
    value_error(name + " must be a " + std::to_string(ndim) + "-D array of shape " + shape_doc +
                ", got an array with " + std::to_string(a.ndim()) + " dimension(s)");
  }
  const std::string order = py::str(dt.attr("byteorder")).cast<std::string>();
  const std::uint16_t probe = 1;
  const bool little = *reinterpret_cast<const unsigned char*>(&probe) == 1;
  v.swap = (order == ">" && little) || (order == "<" && !little);
  v.data = static_cast<const char*>(a.data());
  v.rows = a.shape(0);
  v.s0 = a.strides(0);
  if (ndim == 2) {
    v.cols = a.shape(1);
    v.s1 = a.strides(1);
  } else {
    v.cols = 1;
    v.s1 = v.itemsize;
  }
  return v;
}

float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  std::uint32_t exp = (h >> 10) & 0x1fu;
  std::uint32_t mant = h & 0x3ffu;
  std::uint32_t bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {
      exp = 127 - 15 + 1;
      while ((mant & 0x400u) == 0) {
        mant <<= 1;
        --exp;
      }
      bits = sign | (exp << 23) | ((mant & 0x3ffu) << 13);
    }
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

template <class S>
S load(const char* p, bool swap) {
  unsigned char bytes[sizeof(S)];
  std::memcpy(bytes, p, sizeof(S));
  if (swap) std::reverse(bytes, bytes + sizeof(S));
  S s;
  std::memcpy(&s, bytes, sizeof(S));
  return s;
}

// IEEE binary16, read as raw bits and widened in software.
struct Half {
  std::uint16_t bits;
};

template <class S, class T>
void gather_typed(const View& v, Index r0, Index nr, T* out) {
  for (Index i = 0; i < nr; ++i) {
    const char* row = v.data + (r0 + i) * v.s0;
    for (Index j = 0; j < v.cols; ++j) {
      const char* p = row + j * v.s1;
      if constexpr (std::is_same_v<S, Half>) {
        out[i * v.cols + j] = static_cast<T>(half_to_float(load<std::uint16_t>(p, v.swap)));
      } else {
        out[i * v.cols + j] = static_cast<T>(load<S>(p, v.swap));
      }
    }
  }
}

// Rows [r0, r0 + nr) of v converted into the contiguous row-major buffer out.
template <class T>
void gather(const View& v, Index r0, Index nr, T* out) {
  if (v.kind == 'f') {
    switch (v.itemsize) {
      case 2: return gather_typed<Half>(v, r0, nr, out);
      case 4: return gather_typed<float>(v, r0, nr, out);
      case 8: return gather_typed<double>(v, r0, nr, out);
      default: return gather_typed<long double>(v, r0, nr, out);
    }
  }
  const bool s = v.kind == 'i';
  switch (v.itemsize) {
    case 1: return s ? gather_typed<std::int8_t>(v, r0, nr, out)
                     : gather_typed<std::uint8_t>(v, r0, nr, out);
    case 2: return s ? gather_typed<std::int16_t>(v, r0, nr, out)
                     : gather_typed<std::uint16_t>(v, r0, nr, out);
    case 4: return s ? gather_typed<std::int32_t>(v, r0, nr, out)
                     : gather_typed<std::uint32_t>(v, r0, nr, out);
    default: return s ? gather_typed<std::int64_t>(v, r0, nr, out)
                      : gather_typed<std::uint64_t>(v, r0, nr, out);
  }
}

template <class T>
bool zero_copy(const View& v) {
  if (v.kind != 'f' || v.itemsize != static_cast<int>(sizeof(T)) || v.swap) return false;
  if (reinterpret_cast<std::uintptr_t>(v.data) % alignof(T) != 0) return false;
  const bool inner = v.cols <= 1 || v.s1 == v.itemsize;
  const bool outer = v.rows <= 1 || v.s0 == v.cols * v.itemsize;
  return inner && outer;
}

template <class T>
void check_finite(const View& v, const T* p, Index r0, Index nr) {
  // Branch-free test of the exponent bits (vectorises); locate the row only on failure.
  using U = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
  const U mask = sizeof(T) == 4 ? U(0x7f800000u) : U(0x7ff0000000000000ull);
  const Index n = nr * v.cols;
  U bad = 0;
  for (Index i = 0; i < n; ++i) {
    U u;
    std::memcpy(&u, p + i, sizeof u);
    bad |= static_cast<U>((u & mask) == mask);
  }
  if (!bad) return;
  for (Index i = 0; i < n; ++i) {
    if (!std::isfinite(p[i])) {
      value_error(v.name + " contains NaN or inf (row " + std::to_string(r0 + i / v.cols) +
                  "); expected finite values");
    }
  }
}

// max |p[i]| in one pass that also detects NaN/inf (the largest |x| as integer bits is
// at or above the exponent mask exactly when some value is not finite): false then.
template <class T>
bool finite_abs_max(const T* p, Index n, double* out) {
  using U = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
  const U abs_mask = sizeof(T) == 4 ? U(0x7fffffffu) : U(0x7fffffffffffffffull);
  const U inf_bits = sizeof(T) == 4 ? U(0x7f800000u) : U(0x7ff0000000000000ull);
  U m = 0;
  for (Index i = 0; i < n; ++i) {
    U u;
    std::memcpy(&u, p + i, sizeof u);
    u &= abs_mask;
    m = u > m ? u : m;
  }
  if (m >= inf_bits) return false;
  T r;
  std::memcpy(&r, &m, sizeof r);
  *out = static_cast<double>(r);
  return true;
}

// Rows of a zero-copy input whose result came out non-finite: raise if the row itself
// holds NaN/inf (a finite row can still overflow, which is not an error).
template <class T, class R>
void check_rows_with_nonfinite(const View& v, const R* result, Index n) {
  for (Index i = 0; i < n; ++i) {
    if (!std::isfinite(result[i])) {
      check_finite(v, reinterpret_cast<const T*>(v.data) + i * v.cols, i, 1);
    }
  }
}

// Calls f(r0, nr, const T* rows) on consecutive blocks of rows of v, each checked
// finite; zero-copy where the layout allows, else converted one block at a time.
template <class T, class F>
void for_row_blocks(const View& v, bool finite, F&& f) {
  const bool direct = zero_copy<T>(v);
  const Index block = direct ? std::max<Index>(v.rows, 1)
                             : std::max<Index>(1, kBlockElements / std::max<Index>(v.cols, 1));
  std::vector<T> buf;
  if (!direct) buf.resize(static_cast<size_t>(std::min(block, v.rows) * v.cols));
  for (Index r0 = 0; r0 < v.rows; r0 += block) {
    const Index nr = std::min(block, v.rows - r0);
    const T* p;
    if (direct) {
      p = reinterpret_cast<const T*>(v.data) + r0 * v.cols;
    } else {
      gather(v, r0, nr, buf.data());
      p = buf.data();
    }
    if (finite) check_finite(v, p, r0, nr);
    f(r0, nr, p);
  }
}

// for_row_blocks for inputs whose magnitude bounds an overflow check: each block is checked
// finite and measured (max |x|) in one pass, f(r0, nr, p, max_abs).
template <class T, class F>
void for_checked_blocks(const View& v, F&& f) {
  for_row_blocks<T>(v, false, [&](Index r0, Index nr, const T* p) {
    double m = 0.0;
    if (!finite_abs_max(p, nr * v.cols, &m)) check_finite(v, p, r0, nr);  // raises
    f(r0, nr, p, m);
  });
}

// The whole (small) array as a contiguous vector of T.
template <class T>
std::vector<T> to_vector(const View& v, bool finite) {
  std::vector<T> out(static_cast<size_t>(v.rows * v.cols));
  if (!out.empty()) {
    gather(v, 0, v.rows, out.data());
    if (finite) check_finite(v, out.data(), 0, v.rows);
  }
  return out;
}

bool wants_double(const View& v) { return v.kind == 'f' && v.itemsize >= 8; }

void require_cols(const View& v, Index expected, const std::string& what) {
  if (v.cols != expected) {
    value_error(v.name + " has " + std::to_string(v.cols) + " columns, expected " +
                std::to_string(expected) + " (" + what + ")");
  }
}

double check_lam(double lam) {
  if (!std::isfinite(lam) || lam < 0.0) {
    value_error("lam must be a finite number >= 0, got " + std::to_string(lam));
  }
  return lam;
}

template <class T>
void check_costs(const std::vector<T>& cost) {
  for (size_t m = 0; m < cost.size(); ++m) {
    if (cost[m] < T(0)) {
      value_error("cost[" + std::to_string(m) + "] is negative; expected costs >= 0");
    }
  }
}

// Values finite in themselves can still overflow the arithmetic (e.g. float32 squared
// norms above 3.4e38): such inputs get a clear error, never an inf/NaN-driven answer.
template <class T>
[[noreturn]] void overflow_error(const std::string& what) {
  value_error(what + " overflows the " + std::string(sizeof(T) == 4 ? "float32" : "float64") +
              " range; the values are too large: rescale them" +
              (sizeof(T) == 4 ? " or pass float64 input" : ""));
}

template <class T>
void check_result_finite(const T* r, Index n, const std::string& what) {
  for (Index i = 0; i < n; ++i) {
    if (!std::isfinite(r[i])) overflow_error<T>(what + " (row " + std::to_string(i) + ")");
  }
}

template <class T>
T max_abs(const T* p, Index n) {
  T m = T(0);
  for (Index i = 0; i < n; ++i) m = std::max(m, std::abs(p[i]));
  return m;
}

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
struct Pool {
  View psi, cost;
};

Pool make_pool(const py::object& Psi_, const py::object& cost_) {
  Pool p{make_view(Psi_, "cluster_error", 2, "(n_models, n_clusters)"),
         make_view(cost_, "cost", 1, "(n_models,)")};
  if (p.psi.rows < 1) value_error("cluster_error holds no models (n_models = 0)");
  if (p.psi.cols < 1) value_error("cluster_error has no clusters (n_clusters = 0)");
  if (p.cost.rows != p.psi.rows) {
    value_error("cost has length " + std::to_string(p.cost.rows) + ", expected n_models = " +
                std::to_string(p.psi.rows) + " (the rows of cluster_error)");
  }
  return p;
}

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


// ---------------------------------------------------------------- compiled router state
using FloatArrayC = py::array_t<float, py::array::c_style>;

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
  if (wants_double(X)) return assign(X_, index_centroids(idx));
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
    for_row_blocks<float>(X, true, [&](Index r0, Index nr, const float* p) {
      uniroute::pairwise_sqdist(p, nr, cent.data(), C.rows, X.cols, o + r0 * C.rows);
      check_result_finite(o + r0 * C.rows, nr * C.rows, "a squared distance");
    });
  }
  return out;
}

py::dict simd_info() {
  py::dict d;
  d["simd"] = uniroute::simd_path();
  d["reason"] = uniroute::simd_reason();
  d["cpu_avx2_fma_f16c"] = uniroute::cpu_has_avx2();
  d["num_threads"] = uniroute::num_threads();
  d["compiled_paths"] = py::make_tuple("baseline", "avx2");
  d["eigen"] = std::to_string(EIGEN_WORLD_VERSION) + "." + std::to_string(EIGEN_MAJOR_VERSION) +
               "." + std::to_string(EIGEN_MINOR_VERSION);
#if defined(__clang__)
  d["compiler"] = std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
  d["compiler"] = std::string("gcc ") + __VERSION__;
#endif
  return d;
}

}  // namespace

void register_text(py::module_& m);  // bindings/text.cpp

PYBIND11_MODULE(_core, m) {
  register_text(m);
  m.doc() = "uniroute compiled kernels (C++17, Eigen)";
  m.attr("__version__") = UNIROUTE_VERSION;
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
  m.def("simd_info", &simd_info,
        "The SIMD path in use and why, the CPU's support, the thread count, the build.");
  m.def("get_num_threads", &uniroute::num_threads, "Threads used by the batch kernels.");
  m.def("set_num_threads", [](int n) {
        if (n < 0) value_error("n must be >= 1, or 0 for the default; got " + std::to_string(n));
        uniroute::set_num_threads(n);
      }, py::arg("n"),
        "Threads for the batch kernels (0 restores UNIROUTE_NUM_THREADS or the CPU count).");

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
