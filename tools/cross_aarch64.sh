#!/usr/bin/env bash
# Build the C++ core and its unit tests for aarch64 (Debian's g++-aarch64-linux-gnu) and
# run the tests under qemu-user. Nothing x86 is compiled in (no AVX2 unit: the portable
# kernels run), so this checks that the core is portable C++17.
#   bash tools/cross_aarch64.sh          # ~5 min on 2 cores, most of it the build
# Needs (root, Debian): apt-get install g++-aarch64-linux-gnu qemu-user doctest-dev,
# and Eigen: cmeel-eigen from PyPI (installed into a throw-away venv here).
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in aarch64-linux-gnu-g++ qemu-aarch64; do
  command -v "$tool" >/dev/null || { echo "cross_aarch64: $tool not found (apt-get install g++-aarch64-linux-gnu qemu-user)" >&2; exit 1; }
done
VENV=${UNIROUTE_CROSS_VENV:-.venv-cross}
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q "cmeel-eigen==3.4.1"
PREFIX=$("$VENV/bin/python" -c "import os, sys; print(next(os.path.join(p, 'cmeel.prefix') for p in sys.path if os.path.isdir(os.path.join(p, 'cmeel.prefix'))))")
cmake -S . -B build/aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake \
  -DUNIROUTE_BUILD_TESTS=ON -DCMAKE_PREFIX_PATH="$PREFIX;/usr" >/dev/null
cmake --build build/aarch64
# ELF e_machine 183 (EM_AARCH64) at byte 18 of the test binary
python3 -c "import sys; b = open(sys.argv[1], 'rb').read(20); sys.exit(b[:4] != b'\x7fELF' or int.from_bytes(b[18:20], 'little') != 183)" \
  build/aarch64/cpp/tests/uniroute_cpp_tests \
  || { echo "cross_aarch64: the test binary is not an aarch64 executable" >&2; exit 1; }
ctest --test-dir build/aarch64 --output-on-failure
echo "aarch64 (qemu-user): C++ tests passed"
