"""Evaluation trials at EmbedLLM's shapes (synthetic), timed through the public
``uniroute.evaluation.evaluate`` itself: UniRoute (K-means, its K chosen per trial as
the evaluation does), K-NN and ZeroRouter, the paper's protocol, 2 worker processes.

Target: 400 trials in under 10 minutes on 2 cores (full size: 36,000 prompts x 112 LLMs,
d = 768; asserted at full size). ``--bench-trials N`` runs N trials at the same shapes
(the row's limit is then the pro-rata share of the 600 s). Small size (CI, correctness): 4 trials on 3,000 x 12,
d = 64. Answers checked: the trials are seeded and reproducible, and a router that looks
at the prompt beats the prompt-independent ZeroRouter on data whose accuracy depends
on the topic.
"""
from __future__ import annotations

import time

import numpy as np

from uniroute.datasets import RoutingDataset
from uniroute.evaluation import evaluate

from .conftest import tag

TARGET_SECONDS = 600.0
ROUTERS = ["uniroute_kmeans", "knn", "zero_router"]


def synthetic_embedllm(n_prompts: int = 36_000, n_models: int = 112, dim: int = 768,
                       n_topics: int = 40, seed: int = 0) -> RoutingDataset:
    """Unit-norm embeddings around topics; each LLM's accuracy depends on the topic."""
    rng = np.random.default_rng(seed)
    topics = rng.standard_normal((n_topics, dim))
    topic = rng.integers(0, n_topics, n_prompts)
    E = np.empty((n_prompts, dim), np.float32)
    for i in range(0, n_prompts, 4096):
        t = topic[i:i + 4096]
        block = topics[t] + 1.5 * rng.standard_normal((len(t), dim))
        E[i:i + 4096] = block / np.linalg.norm(block, axis=1, keepdims=True)
    skill = rng.normal(0.0, 1.0, n_models)[:, None] + rng.normal(0.0, 1.0, (n_models, n_topics))
    p = 1.0 / (1.0 + np.exp(-skill[:, topic].T))
    Q = (rng.random(p.shape) < p).astype(np.float32)
    cost = 10.0 ** rng.uniform(0.0, 2.5, n_models)  # "parameters, in billions"
    return RoutingDataset(quality=Q, cost=cost, models=[f"llm{m}" for m in range(n_models)],
                          embeddings=E, name="synthetic_embedllm")


def test_evaluate_embedllm_shapes(benchmark, full, request):
    n_trials = request.config.getoption("--bench-trials") or (400 if full else 4)
    data = synthetic_embedllm() if full else synthetic_embedllm(3_000, 12, 64, 8)
    size = "36000 x 112, d=768" if full else "3000 x 12, d=64"
    benchmark.group = f"evaluation {n_trials} trials ({size})"
    target = TARGET_SECONDS * n_trials / 400  # the 400-trial budget, pro rata
    tag(benchmark, "ours", "uniroute.evaluation.evaluate", target_seconds=target,
        trials=n_trials, routers=ROUTERS)
    start = time.perf_counter()
    result = benchmark.pedantic(evaluate, args=(data,), kwargs=dict(
        trials=n_trials, seed=0, routers=ROUTERS, n_jobs=2), rounds=1, iterations=1)
    seconds = time.perf_counter() - start
    area = {m: float(np.mean([t.metrics[m]["area"] for t in result.trials]))
            for m in ROUTERS}
    benchmark.extra_info.update(areas=area, seconds=seconds)
    assert len(result.trials) == n_trials
    assert area["uniroute_kmeans"] > area["zero_router"] and area["knn"] > area["zero_router"]
    if full and n_trials == 400:
        assert seconds <= TARGET_SECONDS, f"{n_trials} trials took {seconds:.0f} s"
    again = evaluate(data, trials=1, seed=0, routers=ROUTERS, n_jobs=1)
    assert again.trials[0].metrics == result.trials[0].metrics
