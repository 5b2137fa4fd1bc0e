"""Routing from many threads while K-means fits run: same answers as serial, no crash.

(The pool-changing stress test lives with the live-pool feature, tests/test_production_*.)
"""
from __future__ import annotations

import threading

import numpy as np

from uniroute import KMeans, UniRouter, _core


def test_parallel_routing_and_fitting_agree_with_serial(rng):
    X = rng.standard_normal((3000, 16)).astype(np.float32)
    r = UniRouter(n_clusters=8, random_state=0).fit(X)
    for m in range(5):
        r.add_model(f"m{m}", float(m + 1), X[:500], rng.random(500) < 0.2 * (m + 1))
    queries = [rng.standard_normal((2000, 16)).astype(np.float32) for _ in range(6)]
    expected = [r.route_indices(q, lam=0.05) for q in queries]
    km_data = rng.standard_normal((4000, 16))
    km_expected = KMeans(6, random_state=1, n_init=1).fit(km_data).inertia_
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(queries) + 2)

    def router_worker(i: int) -> None:
        try:
            barrier.wait()
            for _ in range(20):
                np.testing.assert_array_equal(r.route_indices(queries[i], lam=0.05), expected[i])
        except BaseException as exc:  # noqa: BLE001 - collected and re-raised below
            errors.append(exc)

    def fit_worker() -> None:
        try:
            barrier.wait()
            for _ in range(3):
                assert KMeans(6, random_state=1, n_init=1).fit(km_data).inertia_ == km_expected
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    def kernel_worker() -> None:
        try:
            barrier.wait()
            C = r.centroids_
            for _ in range(50):
                labels, _ = _core.assign(queries[0], C)
                np.testing.assert_array_equal(labels, r.assign(queries[0]))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=router_worker, args=(i,)) for i in range(len(queries))]
    threads += [threading.Thread(target=fit_worker), threading.Thread(target=kernel_worker)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a worker hung"
    assert not errors, errors[0]
