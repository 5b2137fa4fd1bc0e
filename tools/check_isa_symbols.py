"""Check that no code outside the AVX2 unit of uniroute._core uses AVX instructions.

The AVX2 kernels live in namespace ``uniroute::isa_avx2`` (and Eigen, compiled in that
unit, as ``uniroute_eigen_avx2``). If the linker had kept an AVX2-compiled copy of an
inline template for the baseline path (an ODR violation between the two units), that
function would carry a baseline name and use %ymm/%zmm registers: the baseline path
would then die with SIGILL on a CPU without AVX2. This script disassembles an
*unstripped* build of the module (the build tree's copy, before ``install`` strips it)
and fails if any function outside the AVX2 namespaces touches a ymm/zmm register.

Usage: ``python tools/check_isa_symbols.py build/<tag>/_core.*.so``
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys

AVX2_NAMESPACES = ("uniroute::isa_avx2::", "uniroute_eigen_avx2::")
HEADER = re.compile(r"^[0-9a-f]+ <(.*)>:$")
INSN = re.compile(r"^\s*[0-9a-f]+:\s+(?:\{\w+\}\s+)?(v\w+)")


def functions_using_avx(path: str) -> dict[str, int]:
    """Demangled function name -> number of its AVX (VEX/EVEX) instructions."""
    out = subprocess.run(["objdump", "-d", "-C", "--no-show-raw-insn", path], check=True,
                         capture_output=True, text=True).stdout
    found: dict[str, int] = {}
    current = ""
    for line in out.splitlines():
        m = HEADER.match(line)
        if m:
            current = m.group(1)
        elif ("%ymm" in line or "%zmm" in line
              or ((m := INSN.match(line)) and m.group(1) not in ("verr", "verw"))):
            found[current] = found.get(current, 0) + 1
    return found


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__)
        return 2
    if shutil.which("objdump") is None:
        print("objdump not found (binutils); cannot check")
        return 2
    symtab = subprocess.run(["nm", argv[1]], capture_output=True, text=True)
    if "no symbols" in symtab.stderr or not symtab.stdout.strip():
        print(f"{argv[1]} is stripped; give the build tree's unstripped module")
        return 2
    found = functions_using_avx(argv[1])
    avx2 = {f: n for f, n in found.items() if any(ns in f for ns in AVX2_NAMESPACES)}
    leaked = {f: n for f, n in found.items() if f not in avx2}
    print(f"functions with AVX instructions inside the AVX2 namespaces: {len(avx2)} "
          f"({sum(avx2.values())} instructions)")
    for f in sorted(avx2)[:8]:
        print(f"    {avx2[f]:6d}  {f[:110]}")
    print(f"functions with AVX instructions anywhere else (baseline path): {len(leaked)}")
    for f in sorted(leaked):
        print(f"    {leaked[f]:6d}  {f[:160]}")
    return 1 if leaked or not avx2 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
