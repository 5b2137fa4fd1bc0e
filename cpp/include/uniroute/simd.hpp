// Runtime SIMD dispatch and the thread count. Pure C++17.
//
// The hot kernels are compiled twice: once for the x86-64 baseline (SSE2) and once for
// AVX2 + FMA + F16C (cpp/src/isa_*.cpp, each in its own namespace, with Eigen renamed in
// the AVX2 unit so no inline template is shared between the two). The path is chosen
// once, on first use, from the CPU's features; UNIROUTE_SIMD=baseline forces the
// baseline path (UNIROUTE_SIMD=avx2 asks for AVX2 and falls back if the CPU lacks it).
#pragma once
#include <string>

namespace uniroute {

// Name of the path in use: "avx2" or "baseline".
const char* simd_path();
// Whether this CPU (and OS) supports the AVX2 + FMA + F16C path.
bool cpu_has_avx2();
// Why this path was chosen (CPU features, environment variable).
std::string simd_reason();

// Worker threads used by the batch kernels: UNIROUTE_NUM_THREADS if set (>= 1), else
// the CPUs this process may run on. Single-prompt calls never start threads.
int num_threads();
// Override the thread count for this process (n >= 1; 0 restores the default).
void set_num_threads(int n);

}  // namespace uniroute
