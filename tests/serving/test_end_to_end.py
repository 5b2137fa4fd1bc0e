"""End to end on the real ZeroEval math+code matrices (../shared/data/zeroeval_math_code)."""
from __future__ import annotations

import numpy as np

from uniroute import UniRouter

from tests.conftest import shared_data


def test_zeroeval_route_beats_random_and_round_trips(tmp_path):
    root = shared_data("zeroeval_math_code")
    mats = np.load(root / "combined_matrices.npz", allow_pickle=False)
    emb = np.load(root / "embeddings_minilm.npz", allow_pickle=False)["embeddings"]
    # Models with a label on every item (one model answered only part of GSM8K).
    full = ~np.isnan(mats["correct"]).any(axis=0)
    correct, models = mats["correct"][:, full], [str(m) for m in mats["models"][full]]
    assert len(models) >= 20
    # Derived cost for the test only: mean output length (chars) per model.
    cost = np.nanmean(mats["output_chars"][:, full], axis=0) / 1000.0
    order = np.random.default_rng(0).permutation(len(emb))
    train, val, test = order[:1700], order[1700:2000], order[2000:]
    r = UniRouter(n_clusters=8, random_state=0, encoder="all-MiniLM-L6-v2").fit(emb[train])
    for m, name in enumerate(models):
        r.add_model(name, cost[m], emb[val], correct[val, m])
    q = correct[test]
    rows = np.arange(test.size)
    idx0 = r.route_indices(emb[test], lam=0.0)
    # At lam = 0 the router is at least as good as the best single model on its probes...
    best_on_val = int(np.nanmean(correct[val], axis=0).argmax())
    assert q[rows, idx0].mean() >= q[:, best_on_val].mean() - 0.02
    # ... and far better than a uniformly random model.
    assert q[rows, idx0].mean() > q.mean() + 0.1
    # Raising lam never raises the mean (predicted) cost of the routes.
    costs = [cost[r.route_indices(emb[test], lam=lam)].mean() for lam in [0, 0.01, 0.1, 1, 10]]
    assert all(a >= b - 1e-12 for a, b in zip(costs, costs[1:]))
    r.save(tmp_path / "z.npz")
    np.testing.assert_array_equal(UniRouter.load(tmp_path / "z.npz").route(emb[test], 0.05),
                                  r.route(emb[test], 0.05))
