"""Mutation testing of one module with cosmic-ray (the ``mutation`` extra), in a copy.

Usage (docs/testing.md)::

    pip install -e ".[test,mutation]"
    python tools/mutation.py features              # one module, its default test subset
    python tools/mutation.py router --tests tests/router tests/serving
    python tools/mutation.py features --tests-rev HEAD~3   # the tests of another commit
    python tools/mutation.py --all                 # every module of MODULES, one at a time
    python tools/mutation.py io --survivors-only   # after adding tests: only the survivors
    python tools/mutation.py --table docs/results/mutation   # the score table (markdown)

Each run copies the tracked package and tests to ``build/mutation/<module>/`` (never
mutating the working tree), puts the compiled ``_core`` beside the copied package, and
runs cosmic-ray there: every mutant of the module is applied in turn and the module's
test subset runs (``pytest -x``, the editable install bypassed with ``python -S`` and
``PYTHONPATH``); a mutant is killed when a test fails or times out. The score and every
survivor (operator, line, the mutated line) go to stdout and to ``summary.json``.

``--survivors-only`` re-runs only the survivors of the last full run of a module (its
``session.sqlite``) against the current tests, after checking that the module did not
change: a mutant killed before is still killed by a superset of the tests. The full
run's figures are kept under ``"before"`` in the new ``summary.json``.

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
# test run per mutant: keep these lean; node ids are fine, and so is a pytest option
# such as "--deselect=NODE" for a slow test that judges little of the module).
# `constraints.py` is no longer here: since the one-path redesign (issue 11) it only
# re-exports NoFeasibleModelError (the constraints live in `_routing.py`, `_pool.py`
# and the compiled pool).
_SLOW = ["--deselect=tests/router/test_router.py::test_route_many_prompts",
         "--deselect=tests/serving/test_production_pool.py::"
         "test_threads_route_while_the_pool_changes",
         "--deselect=tests/router/test_learned_map.py::"
         "test_learning_improves_validation_loss_and_keeps_the_best_map"]
MODULES: dict[str, list[str]] = {
    # (tests/router/test_one_decision_path.py judges this module too, but its 250
    # hypothesis cases and the import of hypothesis cost seconds per mutant)
    "_routing.py": ["tests/router/test_mutation_kills_routing.py",
                    "tests/router/test_decisions.py",
                    "tests/serving/test_production_constraints.py",
                    "tests/serving/test_production_explain.py",
                    "tests/serving/test_production_calibration.py",
                    "--deselect=tests/serving/test_production_calibration.py::"
                    "test_calibrated_dollar_budget_on_real_data"],
    "_router_base.py": ["tests/router/test_mutation_kills_router_base.py",
                        "tests/router/test_mutation_kills_router.py",
                        "tests/router/test_router.py", "tests/router/test_decisions.py",
                        "tests/serving/test_production_pool.py",
                        "tests/router/test_router_siblings.py", *_SLOW],
    "router.py": ["tests/router/test_mutation_kills_router.py",
                  "tests/router/test_router.py", "tests/router/test_decisions.py",
                  "tests/router/test_issue11_regressions.py", *_SLOW],
    # (with the learning test, whose losses are checked against a reference: it is what
    # judges the errors handed to either optimizer)
    "learned_map.py": ["tests/router/test_mutation_kills_learned_map.py",
                       "tests/router/test_learned_map.py", "tests/router/test_decisions.py",
                       "tests/router/test_issue11_regressions.py"],
    "calibration.py": ["tests/serving/test_mutation_kills_calibration.py",
                       "tests/serving/test_production_calibration.py",
                       "tests/serving/test_budget_follows_pool.py",
                       "tests/serving/test_budget_json.py",
                       "tests/router/test_issue11_regressions.py"],
    "_pool.py": ["tests/router/test_mutation_kills_pool.py",
                 "tests/serving/test_production_pool.py",
                 "tests/serving/test_production_constraints.py",
                 "tests/router/test_decisions.py", "tests/serving/test_budget_follows_pool.py",
                 *_SLOW],
    "_router_file.py": ["tests/router/test_mutation_kills_file.py", "tests/router/test_io.py",
                        "tests/router/test_io_save.py", "tests/router/test_io_hostile.py",
                        "--deselect=tests/router/test_io_hostile.py::"
                        "test_zip_bomb_member_reads_bounded_bytes",
                        "tests/router/test_main_files.py",
                        "tests/router/test_router_siblings.py",
                        "tests/serving/test_production_pool.py::"
                        "test_pickle_is_by_value_through_the_file_format",
                        "tests/router/test_router.py::test_save_load_round_trip",
                        "tests/router/test_learned_map.py::test_save_load_and_pickle_round_trip"],
    "io.py": ["tests/router/test_mutation_kills_io.py",
              "tests/router/test_io.py", "tests/router/test_io_hostile.py",
              "tests/router/test_io_save.py"],
    "features.py": ["tests/router/test_features.py",
                    "tests/router/test_decisions.py::test_observe_uses_the_routers_shrinkage",
                    "tests/router/test_router.py::"
                    "test_empty_cluster_gets_overall_error_never_zero_or_nan",
                    "tests/router/test_router.py::test_nan_correct_is_ignored",
                    "tests/router/test_router.py::"
                    "test_tune_shrinkage_picks_the_held_out_likelihood_winner_and_re_estimates_the_pool"],
    "evaluation/metrics.py": ["tests/evaluation/test_evaluation_metrics.py"],
    "_soft_safe.py": ["tests/router/test_soft_safe_level.py"],
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
    # no hypothesis / benchmark plugins: importing them costs a second or more per mutant
    # (a test file that imports hypothesis itself still works)
    cmd = (f"{sys.executable} -S -m pytest -x -q -p no:cacheprovider -p no:hypothesispytest "
           f"-p no:benchmark -o addopts='' "
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


def _previous(dest: Path, module: str) -> tuple[bytes, str, dict]:
    """The session, module text and summary of the last full run of ``module``."""
    session, summary = dest / "session.sqlite", dest / "summary.json"
    if not (session.exists() and summary.exists()):
        raise SystemExit(f"--survivors-only: no finished run of {module} in {dest}; run it "
                         f"in full first")
    before = json.loads(summary.read_text())
    return (session.read_bytes(), (dest / "python" / "uniroute" / module).read_text(),
            before.get("before", before))


def run(module: str, tests: list[str], tests_rev: str | None, timeout: float,
        out: Path, survivors_only: bool = False) -> dict:
    dest = out / module.replace("/", "_").removesuffix(".py")
    previous = _previous(dest, module) if survivors_only else None
    _copy_tree(dest, tests_rev)
    if previous is not None:
        # the killed mutants stay killed only if the module is the one they were made of
        # and the tests were only added to: then re-running the survivors is enough
        if (dest / "python" / "uniroute" / module).read_text() != previous[1]:
            raise SystemExit(f"--survivors-only: {module} changed since its full run; "
                             f"run it in full")
        (dest / "session.sqlite").write_bytes(previous[0])
        con = sqlite3.connect(dest / "session.sqlite")
        con.execute("DELETE FROM work_results WHERE lower(test_outcome) = 'survived' "
                    "AND lower(worker_outcome) = 'normal'")
        con.commit()
        con.close()
    # an older revision may lack some files or tests
    tests = [t for t in tests if t.startswith("-") or (
        (dest / t.split("::")[0]).exists()
        and ("::" not in t or t.split("::")[1] in (dest / t.split("::")[0]).read_text()))]
    cfg = _config(dest, module, tests, timeout)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([
        str(dest / "python"), str(dest), sysconfig.get_paths()["purelib"],
        sysconfig.get_paths()["platlib"]]))
    bindir = Path(sys.executable).parent
    session = dest / "session.sqlite"
    start = time.perf_counter()
    steps = [["cosmic-ray", "init", cfg.name, session.name],
             ["cr-filter-operators", session.name, cfg.name]] if previous is None else []
    for cmd in (*steps, ["cosmic-ray", "baseline", cfg.name],
                ["cosmic-ray", "exec", cfg.name, session.name]):
        subprocess.run([str(bindir / cmd[0]), *cmd[1:]], cwd=dest, env=env, check=True)
    result = _summary(session, dest / "python" / "uniroute" / module)
    result.update(module=module, tests=tests, tests_rev=tests_rev or "working tree",
                  seconds=round(time.perf_counter() - start, 1))
    if previous is not None:
        result["before"] = {k: previous[2][k] for k in
                            ("mutants", "killed", "survived", "score", "tests", "tests_rev")}
    (dest / "summary.json").write_text(json.dumps(result, indent=1) + "\n")
    return result


def table(folder: Path) -> str:
    """Markdown table of the summaries (``<module>.json`` or ``*/summary.json``) in ``folder``."""
    rows = ["| module | mutants | before: killed (score) | after: killed (score) | survivors |",
            "|---|---|---|---|---|"]
    paths = sorted(folder.glob("*.json")) or sorted(folder.glob("*/summary.json"))
    for path in paths:
        s = json.loads(path.read_text())
        b = s.get("before", s)
        after = (f"**{s['killed']}** ({s['score']:.3f})" if "before" in s
                 else "not re-run")
        rows.append(f"| `{s['module']}` | {s['mutants']} | {b['killed']} ({b['score']:.3f}) | "
                    f"{after} | {s['survived']} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("module", nargs="?", help="module under python/uniroute, e.g. features")
    p.add_argument("--all", action="store_true", help="every module of MODULES in turn")
    p.add_argument("--tests", nargs="+", help="test paths (default: the module's subset)")
    p.add_argument("--tests-rev", help="take the tests from this git revision")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds per test run")
    p.add_argument("--out", type=Path, default=ROOT / "build" / "mutation")
    p.add_argument("--survivors-only", action="store_true",
                   help="re-run only the survivors of the last full run (new tests added, "
                        "module unchanged); summary.json then keeps the full run as 'before'")
    p.add_argument("--table", type=Path, metavar="DIR",
                   help="print the markdown score table of the summaries in DIR and exit")
    args = p.parse_args(argv)
    if args.table:
        print(table(args.table))
        return 0
    if args.all == bool(args.module):
        p.error("give one module or --all")
    names = list(MODULES) if args.all else [
        args.module if args.module.endswith(".py") else args.module + ".py"]
    for name in names:
        if name not in MODULES and not args.tests:
            p.error(f"module {name!r} has no default test subset; pass --tests")
        res = run(name, args.tests or MODULES[name], args.tests_rev, args.timeout, args.out,
                  args.survivors_only)
        print(f"{name}: {res['killed']}/{res['mutants']} killed "
              f"(score {res['score']:.3f}), {res['survived']} survived, {res['seconds']} s")
        for s in res["survivors"]:
            print(f"  survivor line {s['line']} {s['operator']}: {s['code']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
