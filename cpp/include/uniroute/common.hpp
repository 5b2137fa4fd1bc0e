// Small shared types for the uniroute kernels. Pure C++17: no Python headers.
#pragma once
#include <cstddef>
#include <cstdint>

namespace uniroute {

using Index = std::ptrdiff_t;
using Label = std::int64_t;

}  // namespace uniroute
