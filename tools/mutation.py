"""Mutation testing of one module with cosmic-ray (the ``mutation`` extra), in a copy.

Usage (docs/testing.md)::

    pip install -e ".[test,mutation]"
    python tools/mutation.py features              # one module, its default test subset
    python tools/mutation.py router --tests tests/router tests/serving
    python tools/mutation.py features --tests-rev HEAD~3   # the tests of another commit
    python tools/mutation.py --all                 # every module of MODULES, one at a time

Each run copies the tracked package and tests to ``build/mutation/<module>/`` (never
mutating the working tree), puts the compiled ``_core`` beside the copied package, and
runs cosmic-ray there: every mutant of the module is applied in turn and the module's
test subset runs (``pytest -x``, the editable install bypassed with ``python -S`` and
``PYTHONPATH``); a mutant is killed when a test fails or times out. The score and every
survivor (operator, line, the mutated line) go to stdout and to ``summary.json``.

Operators: cosmic-ray's core set minus the ones that multiply mutants without testing
anything new (every binary operator into every other one, number +-1 on literals that
name sizes, ...): see EXCLUDED_OPERATORS.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# module (under python/uniroute) -> the fast, relevant test subset that judges it (one
# test run per mutant: keep these lean; node ids are fine)
MODULES: dict[str, list[str]] = {
    "router.py": ["tests/router/test_router.py", "tests/router/test_decisions.py",
                  "tests/serving/test_production_pool.py"],
    "learned_map.py": ["tests/router/test_learned_map.py", "tests/router/test_decisions.py"],
    "constraints.py": ["tests/serving/test_production_constraints.py",
                       "tests/router/test_decisions.py::"
                       "test_uniroute_constrained_one_prompt_equals_batch_and_masked_brute_force",
                       "tests/router/test_decisions.py::"
                       "test_learned_map_masked_ties_and_fallback_follow_cost_order"],
    "features.py": ["tests/router/test_features.py",
                    "tests/router/test_decisions.py::test_observe_uses_the_routers_shrinkage",
                    "tests/router/test_router.py::"
                    "test_empty_cluster_gets_overall_error_never_zero_or_nan",
                    "tests/router/test_router.py::test_nan_correct_is_ignored",
                    "tests/router/test_router.py::"
                    "test_tune_shrinkage_picks_the_held_out_likelihood_winner_and_re_estimates_the_pool"],
    "calibration.py": ["tests/serving/test_production_calibration.py"],
    "evaluation/metrics.py": ["tests/evaluation/test_evaluation_metrics.py"],
    "io.py": ["tests/router/test_io.py", "tests/router/test_io_hostile.py"],
}

# Binary operators are only turned into the "near" ones (+ <-> -, * <-> /, ...), not into
# all 13 others; no decorator removal (typing/dataclass decorators are not behaviour).
EXCLUDED_OPERATORS = [
    r"core/ReplaceBinaryOperator_.*_(BitOr|BitAnd|BitXor|LShift|RShift|MatMult|Pow|FloorDiv|Mod)$",
    r"core/ReplaceBinaryOperator_(BitOr|BitAnd|BitXor|LShift|RShift|Pow|Mod)_.*",
    r"core/RemoveDecorator",
    r"core/VariableInserter", r"core/VariableReplacer",
]


def _copy_tree(dest: Path, tests_rev: str | None) -> None:
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    files = subprocess.run(["git", "ls-files", "python", "tests", "examples", "pyproject.toml"],
                           cwd=ROOT, check=True, capture_output=True, text=True).stdout.split()
    for rel in files:
        if tests_rev and rel.startswith("tests/"):
            continue
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    if tests_rev:
        archive = subprocess.run(["git", "archive", tests_rev, "tests"], cwd=ROOT, check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    import uniroute._core as core  # the built extension of this checkout

    shutil.copy2(core.__file__, dest / "python" / "uniroute" / Path(core.__file__).name)


def _config(dest: Path, module: str, tests: list[str], timeout: float) -> Path:
    cmd = (f"{sys.executable} -S -m pytest -x -q -p no:cacheprovider -o addopts='' "
           f"-m 'not slow' --strict-markers {' '.join(tests)}")
    excluded = ", ".join(json.dumps(p) for p in EXCLUDED_OPERATORS)
    cfg = dest / "cosmic-ray.toml"
    cfg.write_text(f"""[cosmic-ray]
module-path = "python/uniroute/{module}"
timeout = {timeout}
excluded-modules = []
test-command = {json.dumps(cmd)}

[cosmic-ray.distributor]
name = "local"

[cosmic-ray.filters.operators-filter]
exclude-operators = [{excluded}]
""")
    return cfg


def _summary(session: Path, module_file: Path) -> dict:
    lines = module_file.read_text().splitlines()
    con = sqlite3.connect(session)
    rows = con.execute(
        "SELECT m.operator_name, m.start_pos_row, m.occurrence, r.test_outcome, r.worker_outcome "
        "FROM mutation_specs m JOIN work_results r ON m.job_id = r.job_id").fetchall()
    con.close()
    rows = [(op, row, occ, str(t or "").lower(), str(w or "").lower())
            for op, row, occ, t, w in rows]
    tested = [r for r in rows if r[4] == "normal"]  # not filtered out, worker ran
    killed = sum(1 for r in tested if r[3] == "killed")
    survivors = [{"operator": op, "line": row, "occurrence": occ,
                  "code": lines[row - 1].strip() if 0 < row <= len(lines) else ""}
                 for op, row, occ, outcome, _ in tested if outcome == "survived"]
    return {"mutants": len(tested), "filtered": sum(1 for r in rows if r[4] == "skipped"),
            "killed": killed, "survived": len(survivors),
            "score": killed / len(tested) if tested else None,
            "survivors": sorted(survivors, key=lambda s: s["line"])}


def run(module: str, tests: list[str], tests_rev: str | None, timeout: float,
        out: Path) -> dict:
    dest = out / module.replace("/", "_").removesuffix(".py")
    _copy_tree(dest, tests_rev)
    # an older revision may lack some files or tests
    tests = [t for t in tests if (dest / t.split("::")[0]).exists()
             and ("::" not in t or t.split("::")[1] in (dest / t.split("::")[0]).read_text())]
    cfg = _config(dest, module, tests, timeout)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([
        str(dest / "python"), str(dest), sysconfig.get_paths()["purelib"],
        sysconfig.get_paths()["platlib"]]))
    bindir = Path(sys.executable).parent
    session = dest / "session.sqlite"
    start = time.perf_counter()
    for cmd in (["cosmic-ray", "init", cfg.name, session.name],
                ["cr-filter-operators", session.name, cfg.name],
                ["cosmic-ray", "baseline", cfg.name],
                ["cosmic-ray", "exec", cfg.name, session.name]):
        subprocess.run([str(bindir / cmd[0]), *cmd[1:]], cwd=dest, env=env, check=True)
    result = _summary(session, dest / "python" / "uniroute" / module)
    result.update(module=module, tests=tests, tests_rev=tests_rev or "working tree",
                  seconds=round(time.perf_counter() - start, 1))
    (dest / "summary.json").write_text(json.dumps(result, indent=1) + "\n")
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("module", nargs="?", help="module under python/uniroute, e.g. features")
    p.add_argument("--all", action="store_true", help="every module of MODULES in turn")
    p.add_argument("--tests", nargs="+", help="test paths (default: the module's subset)")
    p.add_argument("--tests-rev", help="take the tests from this git revision")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds per test run")
    p.add_argument("--out", type=Path, default=ROOT / "build" / "mutation")
    args = p.parse_args(argv)
    if args.all == bool(args.module):
        p.error("give one module or --all")
    names = list(MODULES) if args.all else [
        args.module if args.module.endswith(".py") else args.module + ".py"]
    for name in names:
        if name not in MODULES and not args.tests:
            p.error(f"module {name!r} has no default test subset; pass --tests")
        res = run(name, args.tests or MODULES[name], args.tests_rev, args.timeout, args.out)
        print(f"{name}: {res['killed']}/{res['mutants']} killed "
              f"(score {res['score']:.3f}), {res['survived']} survived, {res['seconds']} s")
        for s in res["survivors"]:
            print(f"  survivor line {s['line']} {s['operator']}: {s['code']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
