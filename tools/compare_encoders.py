"""Area on routerbench_partial with different prompt embeddings (a measurement tool).

Usage: python tools/compare_encoders.py [--trials 100] [--minilm-questions FILE.npy]

Protocol (paper section 3, K-means UniRoute, fixed K): per trial, split the 11 LLMs
2/3 train / 1/3 test (the train LLMs are unused by K-means UniRoute at fixed K) and the
prompts 60/10/30; fit K-means on the training prompts, add the test LLMs from their
answers on the validation prompts (cost = their mean real USD cost there), and trace
the exact deferral curve on the test prompts from the lam-path breakpoints, with the
real per-prompt USD costs. Area: the area under the upper-left hull of the (cost,
quality) points with cost divided by the priciest test LLM's mean test cost, quality
held at the cheapest point's value left of it and at the last point's right of it, over
[0, 1]. The same splits are used for every embedding (paired). Rows with a missing
label are dropped.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from uniroute import UniRouter, datasets
from uniroute.calibration import Problem, _region_values, _representative

ROOT = Path(__file__).resolve().parents[1]


def curve_area(cost: np.ndarray, quality: np.ndarray) -> float:
    """Area under the upper-left (non-decreasing, concave) hull over [0, 1]."""
    order = np.lexsort((-quality, cost))
    pts: list[tuple[float, float]] = []
    for x, y in zip(cost[order], quality[order]):
        if pts and y <= pts[-1][1]:
            continue  # dominated: not cheaper-and-better
        while len(pts) >= 2:
            (x1, y1), (x2, y2) = pts[-2], pts[-1]
            if (x2 - x1) * (y - y1) - (y2 - y1) * (x - x1) >= 0:
                pts.pop()  # pts[-1] lies under the chord: not on the concave hull
            else:
                break
        pts.append((float(x), float(y)))
    xs = np.array([0.0] + [p[0] for p in pts] + [1.0])
    ys = np.array([pts[0][1]] + [p[1] for p in pts] + [pts[-1][1]])
    return float(np.trapezoid(ys, np.clip(xs, 0.0, 1.0)))


def deferral_area(X, quality, cost, train, val, test, test_llms, K, seed) -> float:
    r = UniRouter(K, random_state=seed, n_init=1).fit(X[train])
    for m in test_llms:
        r.add_model(str(m), float(cost[val, m].mean()), X[val], quality[val, m])
    pool = r._state
    labels = r.assign(X[test])
    counts = np.bincount(labels, minlength=K).astype(float)
    breaks, _ = _region_values(Problem(pool.cluster_error, pool.cost, counts,
                                          pool.expected_cost(1.0), pool.names), "cost", -1)
    q, c = quality[test][:, test_llms], cost[test][:, test_llms]
    rows = np.arange(test.size)
    xs, ys = [], []
    for j in range(breaks.size):
        idx = pool.choice_table(_representative(breaks, j))[labels]
        xs.append(c[rows, idx].mean())
        ys.append(q[rows, idx].mean())
    norm = c.mean(0).max()
    return curve_area(np.array(xs) / norm, np.array(ys))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=100)
    ap.add_argument("--k", type=int, nargs="+", default=[8, 16, 32])
    ap.add_argument("--minilm-questions", default=None,
                    help=".npy of all-MiniLM-L6-v2 embeddings of the bundled question texts")
    ap.add_argument("--shared", default=str(ROOT.parent / "shared" / "data"))
    args = ap.parse_args()
    data = datasets.load("routerbench_partial")
    spaces = {"USE (bundled, question text)": data.embeddings}
    shared = Path(args.shared) / "routerbench_partial" / "embeddings_minilm.npz"
    if shared.is_file():
        with np.load(shared, allow_pickle=False) as z:
            E = z["embeddings"].astype(np.float32)
        spaces["MiniLM (shared, full prompt)"] = E
        for task in sorted(set(data.tasks or [])):
            rows = np.flatnonzero(np.array(data.tasks) == task)
            distinct = np.unique(E[rows], axis=0).shape[0]
            print(f"shared MiniLM, {task}: {rows.size} prompts, {distinct} distinct embeddings")
    if args.minilm_questions:
        spaces["MiniLM (question text)"] = np.load(args.minilm_questions).astype(np.float32)
    ok = ~np.isnan(data.quality).any(1)
    quality = data.quality[ok].astype(np.float64)
    cost = data.cost[ok]
    spaces = {k: v[ok] for k, v in spaces.items()}
    N, M = quality.shape
    print(f"{N} prompts with every label, {M} LLMs, {args.trials} paired trials")
    for K in args.k:
        res = {name: [] for name in spaces}
        for t in range(args.trials):
            rng = np.random.default_rng(1000 + t)
            llms = rng.permutation(M)
            test_llms = np.sort(llms[: M // 3 + (M % 3 > 0)])
            order = rng.permutation(N)
            n_tr, n_val = int(0.6 * N), int(0.1 * N)
            train, val, test = order[:n_tr], order[n_tr:n_tr + n_val], order[n_tr + n_val:]
            for name, X in spaces.items():
                res[name].append(deferral_area(X, quality, cost, train, val, test,
                                               test_llms, K, t))
        base = np.array(res["USE (bundled, question text)"])
        for name, v in res.items():
            v = np.array(v)
            diff = v - base
            print(f"K={K:3d}  {name:32s} Area {v.mean():.4f} ± {2 * v.std(ddof=1) / np.sqrt(v.size):.4f}"
                  f" (2 s.e.)   minus USE {diff.mean():+.4f} ± {2 * diff.std(ddof=1) / np.sqrt(v.size):.4f}"
                  f"   wins {np.mean(diff > 0):.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
