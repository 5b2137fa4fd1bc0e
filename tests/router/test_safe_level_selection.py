"""The safe option's level rule (issue 13): the least level whose curve reaches the
simulated pool's best LLM in >= 95% of the selection's draws, against brute-force
references (lambda enumeration in numpy, a replay of the draws scored by the
evaluation's Scorer)."""
from __future__ import annotations

import numpy as np
import pytest
from uniroute import KMeans, select_hyperparameters
from uniroute._safe_level import SAFE_REACH_RATE, curve_peak, reaches, safe_level_key
from uniroute.features import probe_statistics, safe_cluster_error, shrunk_cluster_error
from uniroute.tuning import Selection
from tests.reference import selection_draws_ref


def brute_peak(sum_q, size, psi, cost):
    """Best mean quality over every lam (midpoints between all pairwise breakpoints, so
    no ties) and the all-to-the-cheapest point: each cluster's argmin psi + lam * cost."""
    M, K = psi.shape
    cuts = [0.0]
    for k in range(K):
        for i in range(M):
            for j in range(M):
                if cost[i] < cost[j] and psi[i, k] > psi[j, k]:
                    cuts.append((psi[i, k] - psi[j, k]) / (cost[j] - cost[i]))
    cuts = np.unique(cuts)
    lams = np.concatenate([[0.0], (cuts[1:] + cuts[:-1]) / 2, [cuts[-1] + 1.0]])
    best = sum_q[:, int(np.argmin(cost))].sum()
    for lam in lams:
        pick = np.argmin(psi + lam * cost[:, None], axis=0)
        best = max(best, sum_q[np.arange(K), pick].sum())
    return best / size.sum()


def test_curve_peak_matches_lambda_enumeration():
    rng = np.random.default_rng(3)
    checked = 0
    for _ in range(200):
        K, M = int(rng.integers(1, 7)), int(rng.integers(2, 6))
        size = rng.integers(1, 30, K).astype(float)
        sum_q = rng.random((K, M)) * size[:, None]
        psi = rng.random((M, K))
        cost = (rng.permutation(M) if rng.random() < 0.5  # or with ties (the curve's
                else rng.integers(1, 3, M)).astype(float) + rng.random()  # anchor counts)
        want = brute_peak(sum_q, size, psi, cost)
        assert curve_peak(sum_q, size, psi, cost) == pytest.approx(want, abs=1e-12)
        top = sum_q.sum(0).max() / size.sum()
        assert reaches(sum_q, size, psi, cost) == (want >= top - 1e-9)
        checked += want < top - 1e-9  # some routes must miss for the test to bite
    assert 20 < checked < 200


def _key(z):
    return (5, None, 1.0, z)


@pytest.mark.parametrize("rates, want", [
    ({0.0: 0.9, 0.5: 0.95, 1.0: 1.0, 2.0: 1.0}, 0.5),  # exactly the rate qualifies
    ({2.0: 1.0, 0.0: 0.5, 1.0: 0.97, 0.5: 0.94}, 1.0),  # insertion order does not matter
    ({0.0: 0.96, 1.0: 0.9, 2.0: 1.0}, 0.0),  # the least qualifying, even if a later dips
    ({0.0: 0.5, 1.0: 0.9, 4.0: 0.925}, 4.0),  # none qualifies: the largest level
])
def test_least_level_reaching_the_rate(rates, want):
    reach = {_key(z): r for z, r in rates.items()}
    assert SAFE_REACH_RATE == 0.95
    assert safe_level_key(reach) == _key(want)
    sel = Selection({**{_key(z): 0.5 for z in rates}, _key(None): 0.6}, {5: 1.0}, {}, 10, 3,
                    6, reach, 40)
    choice = sel.best(safe=True)
    assert (choice.safe_level, choice.reach, choice.n_clusters) == (want, rates[want], 5)
    assert sel.best().safe_level is None and sel.best().reach is None


def test_level_rule_rejects_bad_input():
    with pytest.raises(ValueError, match="no safe level"):
        safe_level_key({_key(None): 1.0})
    with pytest.raises(ValueError, match="rate must lie in"):
        safe_level_key({_key(0.0): 1.0}, rate=0.0)
    with pytest.raises(ValueError, match="one K, estimator and strength"):
        safe_level_key({_key(0.0): 1.0, (3, None, 1.0, 1.0): 1.0})


def _replay_reach(X, Y, V, Yv, cost, K, strength, levels, n_draws, seed, n_probes, size):
    """Independent replay of the documented draws: the reach rate of each level, each
    draw scored by the evaluation's Scorer on the held-out prompts."""
    from uniroute.evaluation.decisions import ClusterErrors, Scorer

    A, YA = np.vstack([X, V]), np.vstack([Y, Yv])
    draws = selection_draws_ref(A.shape[0], Y.shape[1], n_draws, seed, n_probes, size)
    lab = KMeans(K, n_init=1, random_state=seed).fit(X).predict(A)
    hits = dict.fromkeys(levels, 0)
    for probes, held, pool in draws:
        stats = probe_statistics(lab[probes], YA[np.ix_(probes, pool)], K)
        psi = shrunk_cluster_error(*stats, strength)
        Qh = YA[np.ix_(held, pool)]
        scorer = Scorer(Qh, np.tile(cost[pool], (held.size, 1)), cost[pool])
        for z in levels:
            safe = safe_cluster_error(psi, *stats, cost[pool], z)
            pts = scorer.points(ClusterErrors(lab[held].astype(np.int64), safe))
            hits[z] += bool(pts.quality.max() >= Qh.mean(0).max() - 1e-9)
    return {z: h / n_draws for z, h in hits.items()}


def _noise_data(rng, n=360, d=4, m=4):
    X = rng.standard_normal((n, d)).astype(np.float32)
    return X, (rng.random((n, m)) < 0.5).astype(float)


def _topic_data(rng, n=360, d=4, m=4):
    side = rng.integers(0, 2, n)
    X = rng.standard_normal((n, d)) + np.where(side == 0, 3.0, -3.0)[:, None] * np.eye(d)[0]
    skill = np.array([0.95, 0.3, 0.55, 0.6])[:m]
    p = np.where(side[:, None] == 0, skill, skill[::-1])
    return X.astype(np.float32), (rng.random((n, m)) < p).astype(float)


@pytest.mark.parametrize("make, qualifies", [(_topic_data, True), (_noise_data, False)])
def test_selection_picks_the_least_level_reaching_95_percent(make, qualifies):
    X, Y = make(np.random.default_rng(11))
    cost = np.array([1.0, 2.0, 3.0, 4.0])
    levels = (0.0, 0.5, 1.0, 2.0, 4.0)
    sel = select_hyperparameters(X[:300], Y[:300], X[300:], Y[300:], cost, grid=(2,),
                                 shrinkage_grid=(3.0,), temperatures=(None,),
                                 safe_levels=levels, repeats=3, safe_repeats=20,
                                 pool_size=3, random_state=5)
    want = _replay_reach(X[:300], Y[:300], X[300:], Y[300:], cost, 2, 3.0, levels, 20, 5, 60, 3)
    assert sel.reach == {(2, None, 3.0, z): r for z, r in want.items()}
    assert sel.safe_repeats == 20 and sel.repeats == 3
    good = [z for z in levels if want[z] >= 0.95]
    assert bool(good) == qualifies  # the case is what it claims to be
    choice = sel.best(safe=True)
    assert choice.safe_level == (good[0] if good else max(levels))
    assert choice.reach == want[choice.safe_level]
    if qualifies:  # the level rule, not the largest level (nor the best Area)
        assert good[0] < max(levels)


def test_safe_draws_leave_the_main_choice_alone():
    X, Y = _topic_data(np.random.default_rng(2))
    args = (X[:300], Y[:300], X[300:], Y[300:], [1.0, 2.0, 3.0, 4.0])
    kw = dict(grid=(2, 4), shrinkage_grid=(0.0, 3.0), repeats=3, pool_size=3, random_state=1)
    plain = select_hyperparameters(*args, **kw)
    safe = select_hyperparameters(*args, **kw, safe_levels=(0.0, 2.0), safe_repeats=9)
    main = {k: v for k, v in safe.scores.items() if k[3] is None}
    assert main == plain.scores and safe.best() == plain.best()
    win = plain.best()
    assert {k[:3] for k in safe.reach} == {(win.n_clusters, None if win.probe_temperature
                                            is None else 4.0, win.shrinkage)}
    assert plain.reach == {} and plain.safe_repeats == 0
    with pytest.raises(ValueError, match="safe_repeats must be >= 1"):
        select_hyperparameters(*args, **kw, safe_levels=(0.0,), safe_repeats=0)
