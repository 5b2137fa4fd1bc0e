"""The paper's evaluation protocol, its baselines and metrics (Jitkrittum et al., section 3).

``evaluate(dataset, trials=..., seed=...)`` runs seeded, independent trials: each splits
the LLMs into a training and an unseen test pool and the prompts into train /
validation / test, fits every router on what the protocol lets it see
(:class:`TrialView`), and scores its deferral curve on the test prompts over the test
pool. ``report.summarize`` / ``report.format_table`` turn a run into the paper's table.
"""
from uniroute.evaluation import metrics
from uniroute.evaluation.decisions import (
                                           Choices,
                                           ClusterErrors,
                                           ModelMixtures,
                                           Points,
                                           PromptErrors,
                                           Scorer,
)
from uniroute.evaluation.protocol import (
                                           ClairvoyantView,
                                           Split,
                                           TrialView,
                                           build_trial,
                                           make_split,
                                           prepare_dataset,
)
from uniroute.evaluation.routers import (
                                           Router,
                                           UniRouteKMeans,
                                           available_routers,
                                           make_router,
                                           register_router,
)
from uniroute.evaluation.runner import EvaluationRun, TrialResult, evaluate, run_trial
from uniroute.evaluation.selection import select_n_clusters, select_n_neighbors

__all__ = [
    "Choices",
    "ClairvoyantView",
    "ClusterErrors",
    "EvaluationRun",
    "ModelMixtures",
    "Points",
    "PromptErrors",
    "Router",
    "Scorer",
    "Split",
    "TrialResult",
    "TrialView",
    "UniRouteKMeans",
    "available_routers",
    "build_trial",
    "evaluate",
    "make_router",
    "make_split",
    "metrics",
    "prepare_dataset",
    "register_router",
    "run_trial",
    "select_n_clusters",
    "select_n_neighbors",
]
