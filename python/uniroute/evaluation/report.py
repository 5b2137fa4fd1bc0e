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


# (key, header, percent, what it measures): the table's columns; without ``wide``
# the later ones are dropped first when the table would not fit.
COLUMNS = [
    ("area", "Area", False, "area under the deferral curve (test quality against cost "
     "normalised by the priciest test LLM) over cost [0, 1]"),
    ("qnc", "QNC", True, "least normalised cost at which the curve reaches the best test "
     "LLM's quality; n.r. = trials where it never does (the mean is over the others)"),
    ("area50", "Area(50%)", False, "the same area over the cheap half, cost [0, 0.5] (not "
     "renormalised)"),
    ("peak", "peak", False, "best quality of any point on the curve"),
    ("aiq", "AIQ", False, "RouterBench's area under the curve's non-decreasing upper convex "
     "hull"),
]
PAIR_COLUMNS = [
    ("apgr", "APGR", False, "RouteLLM's average performance gap recovered between the weak "
     "(cheaper) and strong test LLM, over the share of strong calls; above 1 = better than "
     "the strong LLM (the oracle picks per prompt, so it exceeds 1); n.r. = the two LLMs tie"),
    ("cpt50", "CPT(50%)", True, "least share of strong-LLM calls that recovers 50% of the "
     "weak-strong gap; n.r. = never recovered (or the two LLMs tie)"),
    ("cpt80", "CPT(80%)", True, "the same for 80% of the gap"),
]
GAP_COLUMN = ("gap_closed", "Gap C/O", False, ("gap closed in mean Area: (router - best "
              "single LLM) / (clairvoyant - best single), then the same to the oracle"))
TABLE_WIDTH = 100


def _gap_cell(entry: dict[str, Any], method: str) -> str:
    """``clairvoyant%/oracle%`` of a router ("-" for the references themselves)."""
    gap = entry.get("gap_closed")
    if not gap or method in ("best_single", "clairvoyant", "oracle"):
        return "-"
    return "/".join("-" if gap.get(ref) is None else f"{gap[ref]:.0%}"
                    for ref in ("clairvoyant", "oracle"))


def format_table(summary: dict[str, Any], *, wide: bool = False,
                 pair_metrics: bool = False, width: int = TABLE_WIDTH) -> str:
    """The Figure-2-style table (rows = methods) with a legend of its metrics under it.

    Parameters
    ----------
    summary : dict
        One run's :func:`summarize` object.
    wide : bool
        Show every column; by default columns are dropped (last in :data:`COLUMNS`
        first) until the table fits ``width`` characters.
    pair_metrics : bool
        Add RouteLLM's APGR and CPT columns (two-LLM test pools of unequal price only).
    width : int
        Character budget of a table line when not ``wide``.
    """
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
    methods = summary["methods"]
    pairs = pair_metrics and "apgr" in methods["oracle"]
    wanted = COLUMNS[:1] + (PAIR_COLUMNS if pairs else []) + COLUMNS[1:]
    if any("gap_closed" in e for e in methods.values()):
        wanted.append(GAP_COLUMN)
    cells = {k: [_gap_cell(e, m) if k == "gap_closed" else
                 _cell(e[k], pct, e[k].get("sign_test_p_vs_knn")) for m, e in methods.items()]
             for k, _, pct, _ in wanted}
    wl = {k: ["-" if e[k].get("wins_losses_vs_knn") is None else
              "{}-{}".format(*e[k]["wins_losses_vs_knn"]) for e in methods.values()]
          for k in ("area", "qnc")}
    names = [NAMES.get(m, m) for m in methods]
    table = [("method", names)] + [(h, cells[k]) for k, h, _, _ in wanted]
    table += [("Area W-L", wl["area"])] + ([("QNC W-L", wl["qnc"])] if wide else [])
    # keep columns by priority (Area, pairs, QNC, Area W-L, gap closed, then the rest)
    # while they fit
    order = [h for h, _ in table[1:]]
    order.insert(order.index("QNC") + 1, order.pop(order.index("Area W-L")))
    if GAP_COLUMN in wanted:
        order.insert(order.index("Area W-L") + 1, order.pop(order.index(GAP_COLUMN[1])))
    keep = {"method"}
    for h in order:
        trial = [c for c in table if c[0] in keep | {h}]
        if wide or sum(max(len(x), *map(len, v)) for x, v in trial) + 2 * len(trial) <= width:
            keep.add(h)
    shown = [c for c in table if c[0] in keep]
    hidden = [h for h, _ in table if h not in keep]
    widths = [max(len(h), *map(len, v)) for h, v in shown]
    lines.append("  ".join(h.ljust(w) for (h, _), w in zip(shown, widths)).rstrip())
    for i in range(len(names)):
        lines.append("  ".join(v[i].ljust(w) for (_, v), w in zip(shown, widths)).rstrip())
    lines += _legend([c for c in wanted if c[1] in keep], hidden, width,
                     any("W-L" in h for h in keep))
    for m, key in (("uniroute_kmeans", "n_clusters"), ("uniroute_kmeans", "shrinkage"),
                   ("knn", "n_neighbors")):
        chosen = [c[key] for c in methods.get(m, {}).get("chosen", []) if key in c]
        if chosen:
            lines.append(f"{NAMES[m]}: chosen {key} median {np.median(chosen):g} "
                         f"(range {min(chosen):g}-{max(chosen):g})")
    return "\n".join(lines)


def _legend(columns: list[tuple[str, str, bool, str]], hidden: list[str], width: int,
            wins_losses: bool) -> list[str]:
    """One wrapped line per metric shown (with its direction), then the marks."""
    import textwrap

    out = []
    for key, header, _, text in columns:
        direction = "lower is better" if key in LOWER_IS_BETTER else "higher is better"
        out += textwrap.wrap(f"{header}: {text}; {direction}.", width,
                             subsequent_indent="    ")
    marks = ("Each cell: mean over trials ± 2 standard errors; * = p < 0.01 in a paired sign "
             "test against K-NN (either direction).")
    if wins_losses:
        marks += (" W-L = trials better-worse than K-NN (a trial not reached counts as the "
                  "worst).")
    out += textwrap.wrap(marks, width, subsequent_indent="    ")
    if hidden:
        out.append(f"Not shown (--wide shows them): {', '.join(hidden)}.")
    return out


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
        raise ImportError('plotting needs matplotlib: pip install matplotlib (from a checkout: '
                          'pip install ".[plot]")') from exc
    grid = np.linspace(0.0, 1.0, 201)
    draw_curves(grid, mean_curves(run, grid),
                f"{run.dataset}: mean of {len(run.trials)} trials, N_val = {run.n_val}", path)


def draw_curves(grid: Any, curves: dict[str, tuple[Any, Any]], title: str,
                path: str | Path, dpi: int = 120) -> None:
    """Draw ``{method: (mean quality, ±band)}`` over the normalised-cost ``grid`` to ``path``
    (the one drawing of deferral curves: :func:`plot` and ``tools/plot_deferral.py``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for m, (mean, band) in curves.items():
        mean, band = np.asarray(mean, dtype=float), np.asarray(band, dtype=float)
        line, = ax.plot(grid, mean, label=NAMES.get(m, m), lw=1.5,
                        ls="--" if m in ("oracle", "clairvoyant", "random") else "-")
        ax.fill_between(grid, mean - band, mean + band, color=line.get_color(), alpha=0.15)
    ax.set_xlabel("cost (normalised by the priciest test LLM)")
    ax.set_ylabel("quality on test prompts (unseen LLMs)")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
