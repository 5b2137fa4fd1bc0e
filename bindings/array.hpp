// The array adapter shared by the binding files: numpy buffers of any real dtype and
// layout read as 2-D views (zero-copy for aligned C-contiguous float32/float64, block by
// block conversion otherwise), argument checks that name the argument, and the
// finiteness and overflow guards. Only the binding files include pybind11.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

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

#include "uniroute/common.hpp"
#include "uniroute/index.hpp"

namespace uniroute_py {

namespace py = pybind11;
using uniroute::Index;
using uniroute::Label;


// Elements per streamed block of a large input (4 MiB of float32).
constexpr Index kBlockElements = Index(1) << 20;

[[noreturn]] inline void value_error(const std::string& msg) { throw py::value_error(msg); }
[[noreturn]] inline void type_error(const std::string& msg) { throw py::type_error(msg); }

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
  py::object owner;  // keeps a converted array alive as long as the view (py::object:
                     // a default py::array would allocate an empty numpy array)
};

// Any array-like as an ndarray (lists and scalars go through numpy.asarray).
inline py::array as_ndarray(const py::object& obj, const std::string& name) {
  if (py::isinstance<py::array>(obj)) return py::reinterpret_borrow<py::array>(obj);
  try {
    return py::module_::import("numpy").attr("asarray")(obj).cast<py::array>();
  } catch (py::error_already_set& e) {
    type_error(name + " could not be converted to a numpy array: " + std::string(e.what()));
  }
}

inline View make_view(const py::object& obj, const std::string& name, int ndim, const char* shape_doc) {
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
        out[i * v.cols + j] = static_cast<T>(uniroute::half_to_float(load<std::uint16_t>(p, v.swap)));
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

inline bool wants_double(const View& v) { return v.kind == 'f' && v.itemsize >= 8; }

inline void require_cols(const View& v, Index expected, const std::string& what) {
  if (v.cols != expected) {
    value_error(v.name + " has " + std::to_string(v.cols) + " columns, expected " +
                std::to_string(expected) + " (" + what + ")");
  }
}

inline double check_lam(double lam) {
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

// ---------------------------------------------------------------- a pool (Psi, cost)
struct Pool {
  View psi, cost;
};

inline Pool make_pool(const py::object& Psi_, const py::object& cost_) {
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

using FloatArrayC = py::array_t<float, py::array::c_style>;

}  // namespace uniroute_py
