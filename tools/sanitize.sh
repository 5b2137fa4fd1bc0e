#!/usr/bin/env bash
# Build uniroute's core with AddressSanitizer + UndefinedBehaviorSanitizer into its own
# venv and run the test suite (and a fuzz burst) under it.
#   bash tools/sanitize.sh [extra pytest args]
# Needs gcc's libasan (it ships with gcc). Leak checking is off: CPython itself keeps
# allocations alive at exit, which LeakSanitizer would report.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${UNIROUTE_ASAN_VENV:-.venv-asan}
python3 -m venv "$VENV"
"$VENV/bin/pip" install -q --upgrade pip
"$VENV/bin/pip" install -q numpy pytest hypothesis scikit-learn
"$VENV/bin/pip" install -q . -Cbuild-dir=build/asan -Ccmake.define.UNIROUTE_SANITIZE=ON \
  -Ccmake.build-type=RelWithDebInfo
# libasan must load first; libstdc++ must be loaded with it so that ASan's __cxa_throw
# interceptor finds the real one (python itself does not link libstdc++).
export LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libstdc++.so)"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:allocator_may_return_null=1:strict_string_checks=1:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
"$VENV/bin/python" -c "import uniroute._core as c; print('sanitized core loaded:', c.__file__)"
"$VENV/bin/python" -m pytest -q -p no:cacheprovider tests "$@"
"$VENV/bin/python" fuzz/fuzz_core.py --calls "${UNIROUTE_ASAN_FUZZ_CALLS:-50000}"
