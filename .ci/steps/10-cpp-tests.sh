# The C++ core on its own: build the kernels and their unit tests (cpp/tests, doctest)
# without Python and run them. doctest comes from Debian (doctest-dev); Eigen from the
# pinned cmeel-eigen in this venv. Bounded: a few minutes on 2 cores.
if [ ! -f /usr/include/doctest/doctest.h ]; then
  if [ "$(id -u)" = 0 ]; then
    (apt-get install -y -q doctest-dev || (apt-get update -q && apt-get install -y -q doctest-dev)) >/dev/null
  else
    echo "10-cpp-tests: doctest-dev is not installed (apt-get install doctest-dev)" >&2
    exit 1
  fi
fi
pip install -q "cmeel-eigen==3.4.1"
PREFIX=$(python -c "import os, sys; print(next(os.path.join(p, 'cmeel.prefix') for p in sys.path if os.path.isdir(os.path.join(p, 'cmeel.prefix'))))")
cmake -S . -B build/cpp-tests -DUNIROUTE_BUILD_TESTS=ON -DCMAKE_PREFIX_PATH="$PREFIX" >/dev/null
timeout 900 cmake --build build/cpp-tests
timeout 300 ctest --test-dir build/cpp-tests --output-on-failure
