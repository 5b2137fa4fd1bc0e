// uniroute._core: the compiled module. Each area registers itself from its own file;
// bindings/array.hpp is the one numpy adapter they share. The C++ core (cpp/) has no
// Python in it and is tested on its own (cpp/tests).
#include <pybind11/pybind11.h>

#include "register.hpp"

void register_text(pybind11::module_& m);  // text.cpp: StaticEncoder, the text path

PYBIND11_MODULE(_core, m) {
  m.doc() = "uniroute compiled kernels (C++17, Eigen)";
  m.attr("__version__") = UNIROUTE_VERSION;
  uniroute_py::register_config(m);
  uniroute_py::register_kernels(m);
  uniroute_py::register_index(m);
  uniroute_py::register_pool(m);
  register_text(m);
}
