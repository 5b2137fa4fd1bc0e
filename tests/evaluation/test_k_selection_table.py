"""The K sweep with the Proposition 2 diagnostic (uniroute select-k)."""
from __future__ import annotations

import numpy as np
import pytest
from uniroute import datasets, select_n_clusters
from uniroute.cli import main
from uniroute.evaluation.k_table import k_selection_table, k_sweep_trial
from uniroute.evaluation.protocol import prepare_dataset, trial
from uniroute.evaluation.routers import UniRouteKMeans
from uniroute.evaluation.selection import k_sweep

from tests.evaluation.test_evaluation_routers import make_view


def test_k_sweep_rows_match_select_n_clusters(rng):
    view = make_view(rng)
    args = (view.train_embeddings, view.train_quality, view.val_embeddings,
            view.val_quality_train_models, view.val_cost_train_models)
    rows = k_sweep(*args, grid=(1, 2, 4, 8), random_state=0, n_init=1)
    best, scores = select_n_clusters(*args, grid=(1, 2, 4, 8), random_state=0, n_init=1,
                                     return_scores=True)
    assert [r["n_clusters"] for r in rows] == [1, 2, 4, 8]
    assert {r["n_clusters"]: r["area"] for r in rows} == scores
    assert best == max(scores, key=lambda k: (scores[k], -k))
    het = [r["heterogeneity"] for r in rows]
    se = [r["probe_std_error"] for r in rows]
    # two topics: one cluster mixes them, two or more separate them
    assert het[0] > 0.2 and het[1] < 0.5 * het[0]
    assert se[-1] > se[0]
    assert rows[2]["probes_per_cluster"] == view.val_embeddings.shape[0] / 4


def test_trial_table_chooses_what_the_evaluated_router_chooses():
    data, _ = prepare_dataset(datasets.load("zeroeval_math_code"))
    seed = np.random.SeedSequence(0).spawn(1)[0]
    grid = (5, 10, 20)
    rows = k_sweep_trial(data, seed, grid=grid)
    chosen = [r["n_clusters"] for r in rows if r["chosen"]]
    view, _, _ = trial(data, seed)
    router = UniRouteKMeans(grid=grid, selection="f1").fit(view)
    assert chosen == [router.info["n_clusters"]]
    # each row's test area is what the evaluation reports for UniRoute with that K and the
    # selection's own settings (one k-means++ init, strength 1)
    from uniroute.evaluation import run_trial

    specs = [(f"k{K}", lambda K=K: UniRouteKMeans(n_clusters=K, n_init=1, shrinkage=1.0,
                                                         selection="f1"))
             for K in grid]
    res = run_trial(data, 0, seed, specs)
    for r in rows:
        want = res.metrics[f"k{int(r['n_clusters'])}"]["area"]
        assert r["test_area"] == pytest.approx(want, rel=1e-12)


def test_table_aggregates_trials_and_cli_prints_it(capsys):
    data = datasets.load("zeroeval_math_code")
    table = k_selection_table(data, trials=2, grid=(5, 10))
    assert [e["n_clusters"] for e in table] == [5, 10]
    assert sum(e["chosen"] for e in table) == 2 and all(e["trials"] == 2 for e in table)
    assert main(["select-k", "zeroeval_math_code", "--trials", "2", "--grid", "5", "10",
                 "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    assert "heterogeneity" in out and "never used to choose K" in out
