"""Summaries over trials: means, 2-sigma bands, sign tests, the table, JSON and the plot.

The band is two standard errors of the mean over trials (``2 * std / sqrt(n)``). The
paired sign test compares a method's per-trial value with K-NN's in the same trial
(ties dropped; two-sided exact binomial); ``*`` marks p < 0.01. For QNC (lower is
better) a trial where the curve never reaches the best test LLM counts as worse than
any reached value; its mean is over the trials that reached it, with the count of the
others reported.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from uniroute.evaluation.runner import METRICS, PAIR_METRICS, EvaluationRun

NAMES = {
    "zero_router": "ZeroRouter", "knn": "K-NN", "uniroute_kmeans": "UniRoute (K-means)",
    "uniroute_learned_map": "UniRoute (LearnedMap)", "clairvoyant": "Clairvoyant (logistic)",
    "random": "Random", "best_single": "Best single LLM", "oracle": "Oracle",
    "uniroute_backoff": "Psi: mean+back-off", "uniroute_shrinkage": "Psi: shrinkage 1",
    "uniroute_shrinkage_ll": "Psi: shrinkage LL", "uniroute_soft_probes": "Psi: soft probes",
    "uniroute_kmeans_f1": "UniRoute (K-means, F.1)",
    "uniroute_learned_map_f1": "UniRoute (LearnedMap, F.1)",
    "uniroute_kmeans_safe": "UniRoute (K-means, safe)",
    "uniroute_learned_map_safe": "UniRoute (LearnedMap, safe)"}
LOWER_IS_BETTER = {"qnc", "cpt50", "cpt80"}
SIGNIFICANCE = 0.01


def wins_losses(values: list[float | None], reference: list[float | None],
                lower_is_better: bool = False) -> tuple[int, int]:
    """Trials where ``values`` beat / lose to ``reference`` (None = never reached = worst)."""
    worst = math.inf if lower_is_better else -math.inf
    a = np.array([worst if v is None else v for v in values], dtype=np.float64)
    b = np.array([worst if v is None else v for v in reference], dtype=np.float64)
    better = (a < b) if lower_is_better else (a > b)
    worse = (a > b) if lower_is_better else (a < b)
    return int(better.sum()), int(worse.sum())


def sign_test(values: list[float | None], reference: list[float | None],
              lower_is_better: bool = False) -> float:
    """Two-sided exact sign test of paired per-trial values (None = never reached)."""
    wins, losses = wins_losses(values, reference, lower_is_better)
    n = wins + losses
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(wins, losses) + 1))
    return min(1.0, 2.0 * tail / 2**n)


def _stat(values: list[float | None]) -> dict[str, Any]:
    reached = np.array([v for v in values if v is not None], dtype=np.float64)
    mean = float(reached.mean()) if reached.size else None
    band = float(2 * reached.std(ddof=1) / math.sqrt(reached.size)) if reached.size > 1 else 0.0
    return {"mean": mean, "band": band, "per_trial": list(values),
            "not_reached": len(values) - int(reached.size)}


def summarize(run: EvaluationRun) -> dict[str, Any]:
    """The JSON object of one run (see the CLI's ``--json``)."""
    metrics = list(METRICS)
    if any("apgr" in t.metrics["oracle"] for t in run.trials):
        metrics += list(PAIR_METRICS)
    per = {m: {k: [t.metrics[m].get(k) for t in run.trials] for k in metrics}
           for m in run.methods}
    methods: dict[str, Any] = {}
    for m in run.methods:
        entry: dict[str, Any] = {}
        for k in metrics:
            entry[k] = _stat(per[m][k])
            if "knn" in per and m != "knn":
                lower = k in LOWER_IS_BETTER
                entry[k]["sign_test_p_vs_knn"] = sign_test(per[m][k], per["knn"][k], lower)
                entry[k]["wins_losses_vs_knn"] = wins_losses(per[m][k], per["knn"][k], lower)
        entry["sign_test_p_vs_knn"] = entry["area"].get("sign_test_p_vs_knn")
        chosen = [t.info.get(m) for t in run.trials if t.info.get(m)]
        if chosen:
            entry["chosen"] = chosen
        entry["seconds_per_trial"] = float(np.mean([t.info["seconds"].get(m, 0.0)
                                                    for t in run.trials]))
        methods[m] = entry
    _add_gap_closed(methods)  # issue 13
    return {"dataset": run.dataset, "trials": len(run.trials), "n_val": run.n_val,
            "seed": run.seed, "methods": methods, "details": run.details,
            "best_test_quality": [t.info["best_test_quality"] for t in run.trials],
            "test_models": [t.info["test_models"] for t in run.trials]}


def _add_gap_closed(methods: dict[str, Any]) -> None:
    """``gap_closed`` per method: ``(Area - best single) / (reference - best single)`` for
    the clairvoyant reference and the oracle, from the mean Areas over the trials (a
    ratio of means: a per-trial ratio is unstable where the references nearly meet)."""
    if "best_single" not in methods:
        return
    base = methods["best_single"]["area"]["mean"]
    for entry in methods.values():
        gap = {}
        for ref in ("clairvoyant", "oracle"):
            top = methods.get(ref, {}).get("area", {}).get("mean")
            if top is not None and top != base:
                gap[ref] = (entry["area"]["mean"] - base) / (top - base)
        if gap:
            entry["gap_closed"] = gap


def _gap_line(summary: dict[str, Any]) -> str | None:
    """One line: the share of the gap from the best single LLM to the clairvoyant
    reference / the oracle that each router closes (Area)."""
    cells = [f"{NAMES.get(m, m)} " + "/".join(
                 "-" if r not in e["gap_closed"] else f"{e['gap_closed'][r]:.0%}"
                 for r in ("clairvoyant", "oracle"))
             for m, e in summary["methods"].items()
             if "gap_closed" in e and m not in ("best_single", "clairvoyant", "oracle")]
    return ("gap closed in Area, (router - best single) / (clairvoyant - best single) / "
            "same to the oracle: " + "; ".join(cells)) if cells else None


def _cell(stat: dict[str, Any], percent: bool = False, p: float | None = None) -> str:
    if stat["mean"] is None:
        return "not reached"
    scale, unit = (100.0, "%") if percent else (1.0, "")
    digits = 1 if percent else 3
    text = f"{stat['mean'] * scale:.{digits}f}{unit} ± {stat['band'] * scale:.{digits}f}"
    text += "*" if p is not None and p < SIGNIFICANCE else " "
    if stat["not_reached"]:
        text += f" ({stat['not_reached']} n.r.)"
    return text


def format_table(summary: dict[str, Any]) -> str:
    """The Figure-2-style table: rows = methods; Area, Area(50%), QNC, peak (and AIQ)."""
    d = summary["details"]
    s = d["split"]
    lines = [(f"{summary['dataset']}: {d['n_prompts']} prompts, {d['n_models']} LLMs; "
              f"cost: {d['cost']}")]
    if d["dropped_models"]:
        dropped = ", ".join(f"{m} ({c:.1%} labelled)" for m, c in d["dropped_models"].items())
        lines.append(f"dropped (label coverage < min): {dropped}")
    lines.append(f"{summary['trials']} trials, seed {summary['seed']}; per trial "
                 f"{s['train_llms']} training / {s['test_llms']} test LLMs, {s['train']} train / "
                 f"{summary['n_val']} validation / {s['test']} test prompts")
    cols = [("area", "Area", False), ("area50", "Area(50%)", False), ("qnc", "QNC", True),
            ("peak", "peak", False), ("aiq", "AIQ", False)]
    if "apgr" in summary["methods"]["oracle"]:
        cols += [("apgr", "APGR", False), ("cpt50", "CPT(50%)", True),
                 ("cpt80", "CPT(80%)", True)]
    widths = [24] + [max(16, len(c[1]) + 2) for c in cols] + [10, 10]
    rows = [["method"] + [c[1] for c in cols] + ["Area W-L", "QNC W-L"]]
    for m, entry in summary["methods"].items():
        wl = [entry[k].get("wins_losses_vs_knn") for k in ("area", "qnc")]
        rows.append([NAMES.get(m, m)] + [
            _cell(entry[k], pct, entry[k].get("sign_test_p_vs_knn")) for k, _, pct in cols]
            + ["-" if x is None else f"{x[0]}-{x[1]}" for x in wl])
    widths = [max(w, *(len(r[i]) for r in rows)) for i, w in enumerate(widths)]
    for r in rows:
        lines.append("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip())
    lines.append("± = 2 standard errors of the mean over trials; * = p < 0.01, paired sign "
                 "test against K-NN (either direction: W-L = trials better-worse than K-NN); "
                 "n.r. = trials whose curve never reaches the best test LLM's quality (QNC "
                 "mean over the others; in W-L a trial not reached is the worst); cost "
                 "normalised by the priciest test LLM")
    gap = _gap_line(summary)  # issue 13
    if gap:
        lines.append(gap)
    for m, key in (("uniroute_kmeans", "n_clusters"), ("uniroute_kmeans", "shrinkage"),
                   ("knn", "n_neighbors")):
        chosen = [c[key] for c in summary["methods"].get(m, {}).get("chosen", []) if key in c]
        if chosen:
            lines.append(f"{NAMES[m]}: chosen {key} median {np.median(chosen):g} "
                         f"(range {min(chosen):g}-{max(chosen):g})")
    return "\n".join(lines)


def write_json(summaries: list[dict[str, Any]], path: str | Path) -> None:
    """One run as its object; an ``--n-val`` sweep as ``{"dataset", "runs": [...]}``."""
    doc = summaries[0] if len(summaries) == 1 else {
        "dataset": summaries[0]["dataset"], "runs": summaries}
    Path(path).write_text(json.dumps(doc, indent=1, default=float) + "\n", encoding="utf-8")


def mean_curves(run: EvaluationRun, grid: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Mean deferral curve and its band per method on a normalised-cost grid."""
    out = {}
    for m in run.methods:
        ys = np.array([np.interp(grid, *t.curves[m]) for t in run.trials])
        band = 2 * ys.std(0, ddof=1) / math.sqrt(len(ys)) if len(ys) > 1 else 0 * grid
        out[m] = (ys.mean(0), band)
    return out


def plot(run: EvaluationRun, path: str | Path) -> None:
    """Draw the mean deferral curves (matplotlib, an optional extra)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError("--plot needs matplotlib: pip install 'uniroute[plot]'") from exc
    grid = np.linspace(0.0, 1.0, 201)
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for m, (mean, band) in mean_curves(run, grid).items():
        line, = ax.plot(grid, mean, label=NAMES.get(m, m), lw=1.5,
                        ls="--" if m in ("oracle", "clairvoyant", "random") else "-")
        ax.fill_between(grid, mean - band, mean + band, color=line.get_color(), alpha=0.15)
    ax.set_xlabel("cost (normalised by the priciest test LLM)")
    ax.set_ylabel("quality on test prompts")
    ax.set_title(f"{run.dataset}: mean of {len(run.trials)} trials, N_val = {run.n_val}")
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
