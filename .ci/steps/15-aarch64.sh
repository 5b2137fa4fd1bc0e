# The C++ core off x86-64: cross-build the kernels and their unit tests for aarch64
# with Debian's g++-aarch64-linux-gnu and run them under qemu-user
# (tools/cross_aarch64.sh). Bounded: ~3 min on 2 cores.
if ! command -v aarch64-linux-gnu-g++ >/dev/null || ! command -v qemu-aarch64 >/dev/null \
   || [ ! -f /usr/include/doctest/doctest.h ]; then
  if [ "$(id -u)" = 0 ]; then
    pkgs="g++-aarch64-linux-gnu qemu-user doctest-dev"
    (timeout 600 apt-get install -y -q $pkgs || (apt-get update -q && timeout 600 apt-get install -y -q $pkgs)) >/dev/null
  else
    echo "15-aarch64: needs g++-aarch64-linux-gnu, qemu-user and doctest-dev (apt-get install)" >&2
    exit 1
  fi
fi
UNIROUTE_CROSS_VENV="$VIRTUAL_ENV" timeout 1200 bash tools/cross_aarch64.sh
