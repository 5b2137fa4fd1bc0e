"""Run seeded, independent trials of the protocol, in parallel over processes."""
from __future__ import annotations

import logging
import os
import pickle
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from uniroute._progress import ProgressBar
from uniroute.datasets import RoutingDataset
from uniroute.evaluation import metrics as mt
from uniroute.evaluation.decisions import Points, Scorer
from uniroute.evaluation.protocol import make_split, prepare_dataset, trial
from uniroute.evaluation.routers import Router, available_routers, router_factory

log = logging.getLogger("uniroute.evaluation")
METRICS = ("area", "area50", "qnc", "peak", "aiq")
PAIR_METRICS = ("apgr", "cpt50", "cpt80")
RouterSpec = str | tuple[str, Callable[[], Router]]


def resolve_routers(
        routers: Sequence[RouterSpec] | None) -> list[tuple[str, Callable[[], Router]]]:
    """``(name, factory)`` pairs from registered names and/or ``(name, factory)`` pairs.

    Factories travel to the worker processes, so they must be picklable (a class, or a
    ``functools.partial`` of one, defined at module level).
    """
    out = []
    for spec in routers or available_routers():
        if isinstance(spec, str):
            out.append((spec, router_factory(spec)))
        else:
            out.append((spec[0], spec[1]))
    return out


@dataclass
class TrialResult:
    """One trial: metrics per method, their curves (non-dominated points) and details."""

    index: int
    metrics: dict[str, dict[str, float | None]]
    curves: dict[str, tuple[list[float], list[float]]]
    info: dict[str, Any]


@dataclass
class EvaluationRun:
    """All trials of one evaluation (one validation size)."""

    dataset: str
    trials: list[TrialResult]
    n_val: int
    seed: int
    methods: list[str]
    details: dict[str, Any] = field(default_factory=dict)


def curve_metrics(points: Points, scorer: Scorer) -> dict[str, float | None]:
    """Area, Area(50%), QNC, peak, AIQ of one method (and APGR/CPT for two-LLM pools)."""
    c, q = points.cost, points.quality
    out: dict[str, float | None] = {
        "area": mt.area(c, q), "area50": mt.area(c, q, 0.5),
        "qnc": mt.qnc(c, q, scorer.best_quality), "peak": mt.peak(q), "aiq": mt.aiq(c, q)}
    if scorer.quality.shape[1] == 2 and scorer.routing_cost[0] != scorer.routing_cost[1]:
        # RouteLLM's weak/strong pair: the strong model is the pricier one
        strong = int(np.argmax(scorer.routing_cost))
        q_weak, q_strong = scorer.mean_quality[1 - strong], scorer.mean_quality[strong]
        share = points.usage[:, strong]
        out["apgr"] = mt.apgr(share, q, q_weak, q_strong)
        out["cpt50"] = mt.cpt(share, q, q_weak, q_strong, 0.5)
        out["cpt80"] = mt.cpt(share, q, q_weak, q_strong, 0.8)
    return out


def run_trial(dataset: RoutingDataset, index: int, seed: np.random.SeedSequence,
              routers: Sequence[RouterSpec], n_val: int | None = None,
              n_test_models: int | None = None) -> TrialResult:
    """One trial: split, build the views, fit and score every router and the oracle."""
    view, clairvoyant_view, scorer = trial(dataset, seed, n_val, n_test_models)
    info: dict[str, Any] = {
        "test_models": view.test_models, "n_scored": scorer.n, "norm_cost": scorer.norm,
        "best_test_quality": scorer.best_quality, "seconds": {}}
    results, curves = {}, {}
    for name, factory in resolve_routers(routers):
        start = time.perf_counter()
        router = factory()
        v = clairvoyant_view if router.clairvoyant else view
        points = scorer.points(router.fit(v).decisions(v))
        results[name] = curve_metrics(points, scorer)
        curves[name] = tuple(a.tolist() for a in mt.pareto_front(points.cost, points.quality))
        info["seconds"][name] = time.perf_counter() - start
        if router.info:
            info[name] = router.info
    points = scorer.oracle()
    results["oracle"] = curve_metrics(points, scorer)
    curves["oracle"] = tuple(a.tolist() for a in mt.pareto_front(points.cost, points.quality))
    return TrialResult(index, results, curves, info)  # type: ignore[arg-type]


_WORKER_DATA: RoutingDataset | None = None


def _init_worker(path: str | None) -> None:
    global _WORKER_DATA
    # The parent handles Ctrl-C (the terminal sends it to the whole process group) and
    # stops the workers itself: a worker never prints a KeyboardInterrupt traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if path is not None:
        with open(path, "rb") as fh:  # written by this run's parent in a private folder
            _WORKER_DATA = pickle.load(fh)


def _worker_trial(args: tuple[Any, ...]) -> TrialResult:
    assert _WORKER_DATA is not None
    return run_trial(_WORKER_DATA, *args)


@contextmanager
def _single_threaded_blas() -> Iterator[None]:
    """Worker processes inherit this environment: one BLAS thread and one uniroute kernel
    thread each, so that the processes, not nested threads, share the cores."""
    keys = ("UNIROUTE_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
            "MKL_NUM_THREADS")
    saved = {k: os.environ.get(k) for k in keys}
    os.environ.update({k: "1" for k in keys})
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def evaluate(dataset: RoutingDataset, *, trials: int = 100, seed: int = 0,
             routers: Sequence[RouterSpec] | None = None, n_val: int | None = None,
             n_test_models: int | None = None, min_coverage: float = 0.9, n_jobs: int = 1,
             progress: bool = False) -> EvaluationRun:
    """Run ``trials`` independent seeded trials of the protocol on ``dataset``.

    Parameters
    ----------
    dataset : RoutingDataset with embeddings.
    trials, seed : trial ``t`` uses ``SeedSequence(seed).spawn(trials)[t]``: results do
        not depend on ``n_jobs``.
    routers : names from :func:`available_routers` (default: all) and/or
        ``(name, factory)`` pairs (see :func:`resolve_routers`); the oracle is always
        reported.
    n_val : validation (probe) prompts per trial (default 10% of the prompts).
    n_test_models : LLMs in the test pool (default a third).
    min_coverage : LLMs with labels on fewer prompts are dropped (see
        :func:`~uniroute.evaluation.protocol.prepare_dataset`).
    n_jobs : worker processes (1 = in this process).
    progress : show a progress bar on stderr (:class:`uniroute._progress.ProgressBar`).

    Raises
    ------
    EvaluationInterrupted
        On Ctrl-C (a ``KeyboardInterrupt``): the workers are stopped within about a
        second and the exception's ``run`` holds the trials that finished.
    """
    start = time.perf_counter()
    specs = resolve_routers(routers)
    data, dropped = prepare_dataset(dataset, min_coverage)
    if data.embeddings is None:
        raise ValueError(f"data set {data.name!r} has no embeddings; add an 'embeddings' array")
    slim = RoutingDataset(quality=data.quality, cost=data.cost, models=data.models,
                          embeddings=data.embeddings, groups=data.groups, encoder=data.encoder,
                          name=data.name, cost_note=data.cost_note)
    seeds = np.random.SeedSequence(seed).spawn(trials)
    jobs = [(i, s, specs, n_val, n_test_models) for i, s in enumerate(seeds)]
    bar = ProgressBar(trials, f"{data.name} trials", unit="trial") if progress else None
    results: list[TrialResult] = []
    try:
        if n_jobs <= 1 or trials <= 1:
            for job in jobs:
                results.append(run_trial(slim, *job))
                if bar is not None:
                    bar.update(1)
        else:
            _run_parallel(slim, jobs, n_jobs, results, bar)
    except KeyboardInterrupt:
        if bar is not None:
            bar.close()
        partial = (_finish(slim, data, dropped, results, seeds, seed, n_val, n_test_models,
                           specs, start, n_jobs) if results else None)
        raise EvaluationInterrupted(partial, len(results), trials) from None
    if bar is not None:
        bar.close()
    return _finish(slim, data, dropped, results, seeds, seed, n_val, n_test_models, specs,
                   start, n_jobs)


def _finish(slim: RoutingDataset, data: RoutingDataset, dropped: dict[str, float],
            results: list[TrialResult], seeds: list[np.random.SeedSequence], seed: int,
            n_val: int | None, n_test_models: int | None,
            specs: list[tuple[str, Callable[[], Router]]], start: float,
            n_jobs: int) -> EvaluationRun:
    results.sort(key=lambda r: r.index)
    first = make_split(slim, np.random.default_rng(seeds[0]), n_val, n_test_models)
    details = {
        "n_prompts": data.n_prompts, "n_models": data.n_models, "dropped_models": dropped,
        "cost": data.cost_note or "as given", "encoder": data.encoder,
        "split": {"train_llms": int(first.train_models.size),
                  "test_llms": int(first.test_models.size), "train": int(first.train.size),
                  "val": int(first.val.size), "test": int(first.test.size)},
        "seconds": time.perf_counter() - start, "n_jobs": n_jobs}
    return EvaluationRun(data.name, results, int(first.val.size), seed,
                         [name for name, _ in specs] + ["oracle"], details)


class EvaluationInterrupted(KeyboardInterrupt):
    """``evaluate`` was interrupted (Ctrl-C, or SIGTERM turned into an interrupt).

    Every worker process has been stopped when this is raised. ``run`` holds the trials
    that finished (an :class:`EvaluationRun`, or None when none did).
    """

    def __init__(self, run: EvaluationRun | None, finished: int, total: int) -> None:
        super().__init__(f"interrupted after {finished} of {total} trials")
        self.run, self.finished, self.total = run, finished, total


def _run_parallel(data: RoutingDataset, jobs: list[tuple[Any, ...]], n_jobs: int,
                  results: list[TrialResult], bar: ProgressBar | None) -> None:
    """Trials over ``n_jobs`` spawned processes (see :func:`run_in_workers`)."""
    run_in_workers(_worker_trial, jobs, n_jobs, results, data=data, bar=bar)


def run_in_workers(worker: Callable[[Any], Any], jobs: Sequence[Any], n_jobs: int,
                   results: list[Any], *, data: RoutingDataset | None = None,
                   bar: ProgressBar | None = None) -> None:
    """``worker(job)`` for every job over ``n_jobs`` spawned processes, appending each
    result to ``results`` as it finishes (in completion order).

    ``data`` reaches each worker once, through a file in a private temporary folder (a
    spawned worker reads it itself, so starting a worker never waits on a pipe). On any
    exception, a Ctrl-C included, the workers are stopped at once, never waited for:
    nothing outlives the call.
    """
    import multiprocessing as mp
    import tempfile
    from concurrent.futures import ProcessPoolExecutor, as_completed

    pool = None
    with tempfile.TemporaryDirectory(prefix="uniroute-") as tmp:
        path = None
        if data is not None:
            path = os.path.join(tmp, "data.pickle")
            with open(path, "wb") as fh:
                pickle.dump(data, fh, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            with _single_threaded_blas(), _sigint_ignored():
                # Workers start with SIGINT ignored (inherited) and keep ignoring it.
                pool = ProcessPoolExecutor(max_workers=n_jobs,
                                           mp_context=mp.get_context("spawn"),
                                           initializer=_init_worker, initargs=(path,))
                futures = [pool.submit(worker, job) for job in jobs]
            for fut in as_completed(futures):
                results.append(fut.result())
                if bar is not None:
                    bar.update(1)
        except BaseException:
            if pool is not None:
                _stop_workers(pool)
            raise
        pool.shutdown(wait=True)


@contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Ignore SIGINT while worker processes are spawned (main thread only): spawned
    children inherit an ignored SIGINT (not a handler, nor a blocked mask), so a Ctrl-C
    never interrupts a worker's start-up. The window lasts while the workers are
    launched, not while they run."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _stop_workers(pool: Any, timeout: float = 1.0) -> None:
    """Terminate a ProcessPoolExecutor's workers and reap them (kill after ``timeout``)."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    for p in procs:
        if p.is_alive():
            p.terminate()
    pool.shutdown(wait=False, cancel_futures=True)
    deadline = time.monotonic() + timeout
    for p in procs:
        p.join(max(0.0, deadline - time.monotonic()))
        if p.is_alive():
            p.kill()
            p.join(0.5)
