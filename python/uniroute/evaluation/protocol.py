"""The paper's protocol: LLM and prompt splits, and who may see which labels.

One trial splits the LLMs into a training pool (2/3) and an unseen test pool (1/3),
keeping each ``group`` (near-duplicate models) on one side, and the prompts 60/10/30
into train / validation / test. The label rules are structural: a router receives a
:class:`TrialView` holding exactly what it may see --

- the training LLMs' labels (and costs) on the train and validation prompts;
- the test LLMs' labels (and costs) on the validation prompts only: their probe answers;
- embeddings of every prompt (unlabelled);

and nothing else. The test prompts' labels live only in the :class:`Scorer`. The one
declared exception is the clairvoyant reference, which gets a :class:`ClairvoyantView`
that adds the test LLMs' labels on the train prompts.

Costs: a model's routing cost is its mean cost on the validation prompts; the score uses
the realised per-prompt cost where the data has one.
"""
from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from uniroute.datasets import RoutingDataset
from uniroute.evaluation.decisions import Scorer

log = logging.getLogger("uniroute.evaluation")


@dataclass(frozen=True)
class Split:
    """Indices of one trial: LLMs (into the data set's models) and prompts."""

    train_models: np.ndarray
    test_models: np.ndarray
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def split_models(groups: list[str], n_test: int,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Random LLM split with whole groups on one side: (train, test) sorted indices.

    Groups are visited in random order and put in the test pool while they fit in
    ``n_test`` LLMs; the rest form the training pool.
    """
    names = list(dict.fromkeys(groups))
    test: list[int] = []
    for g in rng.permutation(len(names)):
        members = [i for i, x in enumerate(groups) if x == names[g]]
        if len(test) + len(members) <= n_test:
            test += members
    train = sorted(set(range(len(groups))) - set(test))
    if not test or not train:
        raise ValueError(f"cannot split {len(groups)} LLMs in {len(names)} groups into a "
                         f"non-empty training pool and a test pool of {n_test}")
    return np.array(train, dtype=np.int64), np.array(sorted(test), dtype=np.int64)


def split_prompts(n_prompts: int, rng: np.random.Generator, n_val: int | None = None,
                  test_fraction: float = 0.3,
                  val_fraction: float = 0.1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random (train, val, test) prompt indices: 60/10/30 by default.

    With ``n_val`` the validation set has that many prompts, the test set keeps 30% and
    the training set gets the rest.
    """
    n_test = round(test_fraction * n_prompts)
    n_val = round(val_fraction * n_prompts) if n_val is None else int(n_val)
    if n_val < 1 or n_prompts - n_test - n_val < 1:
        raise ValueError(f"n_val = {n_val} leaves no training prompt out of {n_prompts} "
                         f"({n_test} are test prompts)")
    order = rng.permutation(n_prompts)
    test, val, train = np.split(order, [n_test, n_test + n_val])
    return np.sort(train), np.sort(val), np.sort(test)


def make_split(dataset: RoutingDataset, rng: np.random.Generator, n_val: int | None = None,
               n_test_models: int | None = None) -> Split:
    """One trial's split of ``dataset`` (see :func:`split_models`, :func:`split_prompts`)."""
    M = dataset.n_models
    n_test = max(1, round(M / 3)) if n_test_models is None else int(n_test_models)
    groups = dataset.groups or list(dataset.models)
    train_m, test_m = split_models(groups, n_test, rng)
    train, val, test = split_prompts(dataset.n_prompts, rng, n_val)
    return Split(train_m, test_m, train, val, test)


def _ro(a: np.ndarray) -> np.ndarray:
    a = np.array(a, copy=True)
    a.setflags(write=False)
    return a


@dataclass(frozen=True)
class TrialView:
    """What a router may see in one trial (read-only copies).

    Attributes
    ----------
    train_embeddings, val_embeddings, test_embeddings : (n, dim) float32
    train_models, test_models : LLM names of the two pools
    train_quality : (n_train, n_train_llms) training LLMs on the train prompts
    val_quality_train_models : (n_val, n_train_llms) training LLMs on the val prompts
    val_cost_train_models : (n_val, n_train_llms) their realised cost on the val prompts
    val_quality : (n_val, n_test_llms) test LLMs' probe answers
    val_cost : (n_val, n_test_llms) their realised cost on the val prompts
    routing_cost : (n_test_llms,) mean validation cost of each test LLM
    train_routing_cost : (n_train_llms,) the same for the training LLMs
    seed : int, for the router's own randomness
    encoder : name of the embeddings' encoder, or None
    scratch : dict, per-trial space where routers share derived work (e.g. the K
        choice, which both UniRoute variants make identically); holds no labels of its own
    """

    train_embeddings: np.ndarray
    val_embeddings: np.ndarray
    test_embeddings: np.ndarray
    train_models: list[str]
    test_models: list[str]
    train_quality: np.ndarray
    val_quality_train_models: np.ndarray
    val_cost_train_models: np.ndarray
    val_quality: np.ndarray
    val_cost: np.ndarray
    routing_cost: np.ndarray
    train_routing_cost: np.ndarray
    seed: int
    encoder: str | None = None
    scratch: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class ClairvoyantView(TrialView):
    """The clairvoyant reference's view: also the test LLMs' labels on the train prompts."""

    test_models_train_quality: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))


def mean_cost(cost: np.ndarray) -> np.ndarray:
    """Mean cost per model over the answered prompts (0 for a model with none)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column
        mean = np.nanmean(cost, axis=0)
    return np.nan_to_num(mean, nan=0.0)


def build_trial(dataset: RoutingDataset, split: Split,
                seed: int) -> tuple[TrialView, ClairvoyantView, Scorer]:
    """The views handed to the routers and the scorer that keeps the test labels."""
    if dataset.embeddings is None:
        raise ValueError(f"data set {dataset.name!r} has no embeddings")
    Q, E = dataset.quality, dataset.embeddings
    C = dataset.cost if dataset.cost.ndim == 2 else np.broadcast_to(dataset.cost, Q.shape)
    tr, te = split.train_models, split.test_models
    names = np.asarray(dataset.models)
    val_cost = C[np.ix_(split.val, te)]
    val_cost_tr = C[np.ix_(split.val, tr)]
    routing_cost = mean_cost(val_cost)
    view: dict[str, Any] = {
        "train_embeddings": _ro(E[split.train]), "val_embeddings": _ro(E[split.val]),
        "test_embeddings": _ro(E[split.test]),
        "train_models": [str(n) for n in names[tr]],
        "test_models": [str(n) for n in names[te]],
        "train_quality": _ro(Q[np.ix_(split.train, tr)]),
        "val_quality_train_models": _ro(Q[np.ix_(split.val, tr)]),
        "val_cost_train_models": _ro(val_cost_tr),
        "val_quality": _ro(Q[np.ix_(split.val, te)]), "val_cost": _ro(val_cost),
        "routing_cost": _ro(routing_cost), "train_routing_cost": _ro(mean_cost(val_cost_tr)),
        "seed": int(seed), "encoder": dataset.encoder}
    scorer = Scorer(Q[np.ix_(split.test, te)], C[np.ix_(split.test, te)], routing_cost)
    clairvoyant = ClairvoyantView(**view,
                                  test_models_train_quality=_ro(Q[np.ix_(split.train, te)]))
    return TrialView(**view), clairvoyant, scorer


def prepare_dataset(dataset: RoutingDataset,
                    min_coverage: float = 0.9) -> tuple[RoutingDataset, dict[str, float]]:
    """Drop LLMs that have a label on fewer than ``min_coverage`` of the prompts.

    Returns the kept data set and ``{dropped model: its coverage}``. The rule for the
    remaining missing labels (the same for every method): probe answers that are NaN are
    ignored when building each router; a test prompt is scored only when every test LLM
    has a label and a cost on it.
    """
    coverage = np.mean(np.isfinite(dataset.quality), axis=0)
    keep = coverage >= min_coverage
    dropped = {m: float(c) for m, c, k in zip(dataset.models, coverage, keep) if not k}
    if dropped:
        log.info("dropping LLMs with label coverage < %.0f%%: %s", 100 * min_coverage, dropped)
    return (dataset if keep.all() else dataset.select(models=keep)), dropped


def trial(dataset: RoutingDataset, seed: np.random.SeedSequence | int, n_val: int | None = None,
          n_test_models: int | None = None) -> tuple[TrialView, ClairvoyantView, Scorer]:
    """Trial ``seed``'s split, views and scorer: what :func:`~uniroute.evaluation.evaluate`
    runs for that trial (anything replaying its trials must call this)."""
    rng = np.random.default_rng(seed)
    split = make_split(dataset, rng, n_val, n_test_models)
    return build_trial(dataset, split, int(rng.integers(2**31 - 1)))
