"""Why a K is chosen: the K sweep of Appendix F.1 with the Proposition 2 diagnostic.

``uniroute select-k DATA --trials N`` runs the same seeded trials as ``uniroute evaluate``
(trial t of N uses ``SeedSequence(seed).spawn(N)[t]``) and, for every candidate K,
averages over trials what :func:`uniroute.evaluation.selection.k_sweep` reports from
training-pool labels only -- the validation Area F.1 maximises, the within-cluster
heterogeneity, the probes per cluster and their standard error -- next to how often K
was chosen. One more column, ``test Area``, scores the test LLMs on the test prompts at
that K with the same clusters: a diagnostic that explains a result, never an input to
the choice.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from uniroute.datasets import RoutingDataset
from uniroute.evaluation.decisions import ClusterErrors
from uniroute.evaluation.metrics import area
from uniroute.evaluation.protocol import prepare_dataset, trial
from uniroute.evaluation.selection import DEFAULT_K_GRID, cluster_errors, k_sweep

COLUMNS = ("area", "heterogeneity", "probes_per_cluster", "probe_std_error", "test_area")


def k_sweep_trial(dataset: RoutingDataset, seed: np.random.SeedSequence,
                  n_val: int | None = None, grid: tuple[int, ...] = DEFAULT_K_GRID,
                  shrinkage: float = 1.0, n_init: int = 1,
                  max_iter: int = 100) -> list[dict[str, float]]:
    """One trial's K sweep rows (the selection's own fits: ``n_init`` as in
    :class:`~uniroute.evaluation.routers.UniRouteKMeans`'s ``selection_n_init``)."""
    view, _, scorer = trial(dataset, seed, n_val)
    test_area: dict[int, float] = {}

    def score_test(K: int, km: Any, val_labels: np.ndarray) -> None:
        psi = cluster_errors(val_labels, view.val_quality, K, shrinkage)
        labels = np.asarray(km.predict(view.test_embeddings), np.int64)
        pts = scorer.points(ClusterErrors(labels, psi))
        test_area[K] = area(pts.cost, pts.quality)

    rows = k_sweep(view.train_embeddings, view.train_quality, view.val_embeddings,
                   view.val_quality_train_models, view.val_cost_train_models, grid=grid,
                   shrinkage=shrinkage, random_state=view.seed, n_init=n_init,
                   max_iter=max_iter, on_fit=score_test)
    best = max(rows, key=lambda r: (r["area"], -r["n_clusters"]))["n_clusters"]
    for r in rows:
        r["test_area"] = test_area[int(r["n_clusters"])]
        r["chosen"] = float(r["n_clusters"] == best)
    return rows


def _worker(args: tuple[Any, ...]) -> list[dict[str, float]]:
    return k_sweep_trial(*args)


def _indexed_worker(job: tuple[int, tuple[Any, ...]]) -> tuple[int, list[dict[str, float]]]:
    return job[0], _worker(job[1])


def k_selection_table(dataset: RoutingDataset, *, trials: int = 20, seed: int = 0,
                      n_val: int | None = None, grid: tuple[int, ...] = DEFAULT_K_GRID,
                      min_coverage: float = 0.9, n_jobs: int = 1) -> list[dict[str, float]]:
    """Per candidate K: the mean of each column over the trials where K was on the
    (data-capped) grid, ``trials`` (that count) and ``chosen`` (how many chose it)."""
    data, _ = prepare_dataset(dataset, min_coverage)
    if data.embeddings is None:
        raise ValueError(f"data set {data.name!r} has no embeddings")
    jobs = [(data, s, n_val, tuple(grid)) for s in np.random.SeedSequence(seed).spawn(trials)]
    if n_jobs <= 1:
        per_trial = [_worker(j) for j in jobs]
    else:  # workers stopped at once on Ctrl-C; results in trial order
        from uniroute.evaluation.runner import run_in_workers

        done: list[tuple[int, list[dict[str, float]]]] = []
        run_in_workers(_indexed_worker, list(enumerate(jobs)), n_jobs, done)
        per_trial = [rows for _, rows in sorted(done, key=lambda d: d[0])]
    by_k: dict[int, list[dict[str, float]]] = defaultdict(list)
    for rows in per_trial:
        for r in rows:
            by_k[int(r["n_clusters"])].append(r)
    table = []
    for K in sorted(by_k):
        rs = by_k[K]
        entry = {"n_clusters": K, "trials": len(rs), "chosen": sum(r["chosen"] for r in rs)}
        entry.update({c: float(np.mean([r[c] for r in rs])) for c in COLUMNS})
        table.append(entry)
    return table


def format_k_table(table: list[dict[str, float]]) -> str:
    """The table as aligned text (the CLI's output)."""
    head = (f"{'K':>5} {'trials':>6} {'chosen':>6} {'val Area (F.1)':>14} "
            f"{'heterogeneity':>13} {'probes/cluster':>14} {'probe s.e.':>10} "
            f"{'test Area*':>10}")
    lines = [head]
    for e in table:
        lines.append(f"{int(e['n_clusters']):>5} {int(e['trials']):>6} {int(e['chosen']):>6} "
                     f"{e['area']:>14.4f} {e['heterogeneity']:>13.4f} "
                     f"{e['probes_per_cluster']:>14.1f} {e['probe_std_error']:>10.4f} "
                     f"{e['test_area']:>10.4f}")
    lines.append("val Area, heterogeneity (Prop. 2, train prompts) and probe s.e. use training "
                 "LLMs only (what F.1 sees); * test Area = test LLMs on test prompts at that K, "
                 "a diagnostic, never used to choose K")
    return "\n".join(lines)
