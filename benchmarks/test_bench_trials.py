"""400 evaluation trials at EmbedLLM's shapes (synthetic), UniRoute + K-NN + ZeroRouter.

Target: under 10 minutes on 2 cores (full size). Small size: 4 trials on a small set.
The mean areas are recorded, and must order sensibly (a router that looks at the prompt
beats the prompt-independent ZeroRouter on data whose accuracy depends on the topic).
"""
from __future__ import annotations

from .conftest import tag
from .trials import run_trials

TARGET_SECONDS = 600.0


def test_trials_embedllm_shapes(benchmark, full):
    n_trials = 400 if full else 4
    shapes = None if full else dict(n_prompts=3_000, n_models=12, dim=64, n_topics=8)
    size = "36000 x 112, d=768" if full else "3000 x 12, d=64"
    benchmark.group = f"evaluation {n_trials} trials ({size})"
    tag(benchmark, "ours", "uniroute", target_seconds=TARGET_SECONDS, trials=n_trials)
    areas = benchmark.pedantic(run_trials, args=(n_trials,), kwargs=dict(shapes=shapes),
                               rounds=1, iterations=1)
    benchmark.extra_info.update(areas=areas)
    assert areas["uniroute"] > areas["zerorouter"]
    assert areas["knn"] > areas["zerorouter"]
