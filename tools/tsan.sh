#!/usr/bin/env bash
# Build the C++ core and its unit tests with ThreadSanitizer and run them; the
# concurrency tests (cpp/tests/test_threads.cpp) route one compiled pool from several
# threads while another changes the kernel thread count.
#   bash tools/tsan.sh
# Needs cmake, gcc's libtsan, Debian's doctest-dev and Eigen (cmeel-eigen from PyPI,
# installed into a throw-away venv here). A report makes the run fail (halt_on_error).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${UNIROUTE_TSAN_VENV:-.venv-tsan}
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q "cmeel-eigen==3.4.1"
PREFIX=$("$VENV/bin/python" -c "import os, sys; print(next(os.path.join(p, 'cmeel.prefix') for p in sys.path if os.path.isdir(os.path.join(p, 'cmeel.prefix'))))")
cmake -S . -B build/tsan -DUNIROUTE_BUILD_TESTS=ON -DUNIROUTE_TSAN=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_PREFIX_PATH="$PREFIX" >/dev/null
cmake --build build/tsan
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1"
UNIROUTE_NUM_THREADS=4 build/tsan/cpp/tests/uniroute_cpp_tests
echo "ThreadSanitizer: clean"
