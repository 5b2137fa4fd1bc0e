// One register_* function per area of the compiled module (see module.cpp).
#pragma once
#include <pybind11/pybind11.h>

namespace uniroute_py {

void register_config(pybind11::module_& m);   // config.cpp: SIMD path, threads
void register_kernels(pybind11::module_& m);  // kernels.cpp: stateless kernels
void register_index(pybind11::module_& m);    // index.cpp: CentroidIndex, PoolRouter
void register_pool(pybind11::module_& m);     // pool.cpp: CompiledPool, mix_uniform

// Nearest centroid for any real dtype (kernels.cpp), used by the CentroidIndex binding.
pybind11::tuple assign_any(const pybind11::object& X, const pybind11::object& centroids);

}  // namespace uniroute_py
