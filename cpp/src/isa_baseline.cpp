// The kernels for any x86-64 CPU (or any other architecture): compiled with the
// compiler's default flags.
#define UNIROUTE_ISA isa_baseline
#define UNIROUTE_ISA_NAME "baseline"
#include "isa_impl.hpp"
