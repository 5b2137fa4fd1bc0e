// Build and runtime configuration: the SIMD path, the thread count.
#include "array.hpp"
#include "register.hpp"

#include <Eigen/Core>  // version macros only

#include "uniroute/simd.hpp"

namespace uniroute_py {
namespace {

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

void register_config(py::module_& m) {
  m.def("simd_info", &simd_info,
        "The SIMD path in use and why, the CPU's support, the thread count, the build.");
  m.def("get_num_threads", &uniroute::num_threads, "Threads used by the batch kernels.");
  m.def("set_num_threads", [](int n) {
        if (n < 0) value_error("n must be >= 1, or 0 for the default; got " + std::to_string(n));
        uniroute::set_num_threads(n);
      }, py::arg("n"),
        "Threads for the batch kernels (0 restores UNIROUTE_NUM_THREADS or the CPU count).");
}

}  // namespace uniroute_py
