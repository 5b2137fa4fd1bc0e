"""The probe settings of a router: how ``"auto"`` is resolved, soft probes, the safe option.

Kept in one place; :class:`~uniroute._router_base.RouterBase` calls in from ``fit``
(``_fit_clusters``), the probe statistics, the snapshot setter and the router file:

- :func:`resolve` -- in ``fit``: with the training LLMs' labels, every ``"auto"`` among
  ``n_clusters``, ``shrinkage``, ``probe_temperature`` and ``safe_level`` is chosen by the
  probe-aware selection (:func:`uniroute.tuning.select_hyperparameters`; ``safe_level``
  as the least level keeping the option's promise in its draws, ``Selection.best(safe=True)``);
- :func:`probe_stats` -- the per-cluster statistics of a model's probe answers: hard
  counts, or soft ones when a probe temperature is set;
- :func:`with_safe_option` -- every new pool snapshot is given the safe option's
  cluster errors when ``safe_level_`` is set (called where the router installs a
  snapshot);
- :func:`file_fields` / :func:`restore` -- the settings in the router file.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from uniroute._learned_map_fit import softmax
from uniroute.exceptions import RouterFileError
from uniroute.features import (
    probe_statistics,
    safe_cluster_error,
    shrunk_cluster_error,
    soft_probe_statistics,
)

AUTO = "auto"


def _setting(value: Any, name: str, *, allow_none: bool) -> Any:
    if value == AUTO or (value is None and allow_none):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number{', None' if allow_none else ''} or 'auto', "
                        f"got {value!r}")
    if not (np.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    if name == "probe_temperature" and value == 0:
        raise ValueError("probe_temperature must be > 0 (None = hard probes)")
    return float(value)


def resolve(router: Any, X: np.ndarray, train_correct: Any, val_embeddings: Any,
            val_correct: Any, cost: Any) -> tuple[int, np.ndarray | None]:
    """Resolve the router's settings for ``fit``: K, and the selection's centroids at K
    when the selection ran (the clusters it scored; None: fit K-means).

    Sets ``probe_temperature_``, ``safe_level_``, ``selection_`` (the
    :class:`~uniroute.tuning.Selection`, or None) and, when chosen, ``shrinkage_``.
    """
    from uniroute._validation import as_positive_int

    T = _setting(router.probe_temperature, "probe_temperature", allow_none=True)
    z = _setting(router.safe_level, "safe_level", allow_none=True)
    if not isinstance(router.shrinkage, str):
        _setting(router.shrinkage, "shrinkage", allow_none=False)
    elif router.shrinkage != AUTO:
        raise ValueError(f"shrinkage must be a number >= 0 or 'auto', got {router.shrinkage!r}")
    K = router.n_clusters
    auto = [K == AUTO, router.shrinkage == AUTO, T == AUTO, z == AUTO]
    labelled = train_correct is not None and val_embeddings is not None \
        and val_correct is not None
    router.selection_ = None
    if any(auto) and labelled:
        from uniroute.tuning import (
            DEFAULT_SAFE_LEVELS,
            DEFAULT_TEMPERATURES,
            select_hyperparameters,
        )

        sel = select_hyperparameters(
            X, train_correct, val_embeddings, val_correct, cost,
            grid=(K,) if K != AUTO else router.selection_grid,
            temperatures=DEFAULT_TEMPERATURES if T == AUTO else (None,),
            safe_levels=DEFAULT_SAFE_LEVELS if z == AUTO else (),
            random_state=router.random_state, max_iter=router.max_iter, tol=router.tol)
        best = sel.best(safe=z == AUTO)
        router.selection_ = sel
        K, T = best.n_clusters, (best.probe_temperature if T == AUTO else T)
        z = best.safe_level if z == AUTO else z
        if router.shrinkage == AUTO:
            router.shrinkage_ = float(best.shrinkage)
    elif auto[0] or auto[2] or auto[3]:
        raise ValueError("n_clusters, probe_temperature and safe_level = 'auto' are chosen from "
                         "the training LLMs' labels: pass train_correct, val_embeddings and "
                         "val_correct to fit")
    router.probe_temperature_ = T
    router.safe_level_ = z
    K = as_positive_int(K, "n_clusters")
    sel = router.selection_
    return K, (None if sel is None else sel.centroids[K])


def probe_stats(router: Any, centroids: np.ndarray, X: np.ndarray, labels: np.ndarray,
                correct: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Error sums and counts per cluster of probe answers ``correct`` (1-D or 2-D)."""
    T = getattr(router, "probe_temperature_", None)
    K = centroids.shape[0]
    if T is None:
        return probe_statistics(labels, correct, K)
    C = centroids.astype(np.float64)
    X64 = np.asarray(X, np.float64)
    D2 = (X64 * X64).sum(1)[:, None] - 2.0 * X64 @ C.T + (C * C).sum(1)
    return soft_probe_statistics(softmax(-D2 / float(T)), correct)


def with_safe_option(router: Any, pool: Any) -> Any:
    """``pool`` with the safe option's cluster errors (from its probe statistics) when
    the router's ``safe_level_`` is set; else ``pool`` itself."""
    level = router.__dict__.get("safe_level_")
    if pool is None or level is None or pool.n_models <= 1:
        return pool
    raw = shrunk_cluster_error(pool.error_sum, pool.probe_count, router._strength)
    safe = safe_cluster_error(raw, pool.error_sum, pool.probe_count, pool.cost, float(level))
    return pool._evolve(cluster_error=safe, version=pool.version)


def file_fields(router: Any) -> dict[str, Any]:
    """The settings to store in the router file (empty for the defaults)."""
    T = getattr(router, "probe_temperature_", None)
    z = getattr(router, "safe_level_", None)
    if T is None and z is None:
        return {}
    return {"probe_temperature": T, "safe_level": z}


def restore(router: Any, meta: dict[str, Any], where: str) -> None:
    """Read the settings back (files without them: hard probes, no safe option)."""
    fields = meta.get("probe_settings", {})
    try:
        if not isinstance(fields, dict):
            raise TypeError("'probe_settings' must be a table")
        T, z = fields.get("probe_temperature"), fields.get("safe_level")
        T = None if T is None else _setting(T, "probe_temperature", allow_none=False)
        z = None if z is None else _setting(z, "safe_level", allow_none=False)
    except (TypeError, ValueError) as exc:
        raise RouterFileError(f"{where}: bad probe_settings: {exc}") from exc
    router.probe_temperature, router.safe_level = T, z
    router.probe_temperature_, router.safe_level_ = T, z
    router._state = router._state  # re-derive the cluster errors under the settings
