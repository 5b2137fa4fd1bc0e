"""The routing entry points every router shares, all on one compiled decision path.

``route``, ``route_indices``, ``route_text``, ``explain``, ``predict_error`` and
``calibrate`` read one pool snapshot and make one call to its compiled pool
(``_core.CompiledPool``): the core computes the prompt map, the per-prompt lam of a
budget, the masks and price caps, the tie rule (cheaper, then earlier-added) and the
cheapest-allowed fallback, for any number of rows. Python only turns model names into
a mask (cached per snapshot) and a budget into the lams solved for this snapshot
(:func:`uniroute.calibration.resolve`). So a prompt gets the same model from every
entry point, alone or in any batch.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from uniroute._pool import PoolSnapshot
from uniroute._validation import as_cost, as_embeddings
from uniroute.calibration import Calibration, calibrate, resolve
from uniroute.explain import Explanation, explain_rows


class RoutingMixin:
    """route / route_indices / route_text / explain / predict_error / calibrate."""

    def _route(self, pool: PoolSnapshot, embeddings: Any, lam: Any, encoder: Any,
               allowed: Any, max_cost: Any, strict: bool, budget: Any,
               details: bool = False) -> Any:
        if encoder is not None:
            self._check_encoder(encoder)  # type: ignore[attr-defined]
        compiled = pool.compiled()
        call = compiled.details if details else compiled.route
        if allowed is not None:
            allowed = pool.mask_of(allowed)
        if budget is None:
            return call(embeddings, lam, None, 0.0, allowed, max_cost, strict)
        if lam is not None:
            raise ValueError("pass lam or budget, not both")
        b = resolve(budget, pool, self._strength)  # type: ignore[attr-defined]
        return call(embeddings, b.lam_low, b.lam_high, b.weight, allowed, max_cost, strict)

    def route_indices(self, embeddings: Any, lam: float | None = None, *,
                      encoder: str | None = None, allowed: Any = None, max_cost: Any = None,
                      strict: bool = False, budget: Calibration | None = None
                      ) -> np.ndarray | int:
        """Pool index of the chosen model per prompt: int64 ``(n,)``, or an int for one.

        The choice is ``argmin_m gamma(x, h_m) + lam * cost[m]`` over the feasible
        models; ties go to the cheaper model, then to the earlier-added one. The indices
        refer to the pool at the instant of the call (use :meth:`route` for names while
        the pool changes). See :meth:`route` for the arguments.
        """
        pool = self.__dict__.get("pool_")  # the unconstrained request: as in route()
        if (pool is not None and pool.names and encoder is None and allowed is None
                and max_cost is None and budget is None and not strict):
            return pool.compiled().route_plain(embeddings, lam)
        return self._route(self._pool(), embeddings, lam, encoder,  # type: ignore[attr-defined]
                           allowed, max_cost, strict, budget)

    def route(self, embeddings: Any, lam: float | None = None, *, encoder: str | None = None,
              allowed: Any = None, max_cost: Any = None, strict: bool = False,
              budget: Calibration | None = None) -> np.ndarray | str:
        """Name of the chosen model per prompt: ``(n,)`` str array, or a str for one.

        Parameters
        ----------
        embeddings : (n, dim) or (dim,) array
        lam : float, default 0
            Cost weight: 0 picks the most accurate predicted model, larger values
            cheaper ones. Not with ``budget``.
        encoder : str, optional
            Name of the encoder of ``embeddings`` (checked against the router's).
        allowed : model names, bool ``(M,)`` or bool ``(n, M)``, optional
            Models available to the request(s) (see :mod:`uniroute.constraints`).
        max_cost : float >= 0 or ``(n,)`` array, optional
            Per-request price cap: models costing more are excluded.
        strict : bool
            Raise :class:`~uniroute.exceptions.NoFeasibleModelError` instead of falling
            back to the cheapest allowed model when nothing is feasible.
        budget : Calibration, optional
            The result of :meth:`calibrate`: route with its (possibly mixed) lam, solved
            again on the current pool if the pool changed since.
        """
        pool = self.__dict__.get("pool_")  # the snapshot (see RouterBase._state)
        if (pool is not None and pool.names and encoder is None and allowed is None
                and max_cost is None and budget is None and not strict):
            # The unconstrained request: the same core call as _route makes with these
            # arguments (its defaults), minus the Python steps it does not need.
            idx = pool.compiled().route_plain(embeddings, lam)
        else:
            pool = self._pool()  # type: ignore[attr-defined]
            idx = self._route(pool, embeddings, lam, encoder, allowed, max_cost, strict, budget)
        if type(idx) is int:
            return pool.names[idx]
        return pool.names_array()[idx]

    def route_text(self, prompts: Any, lam: float | None = None, *, encoder: Any = None,
                   **constraints: Any) -> np.ndarray | str:
        """Encode raw prompt text and route it, in one call.

        ``prompts`` is a str or a sequence of str; ``encoder`` an encoder object (default:
        the router's, see the class docstring). Other arguments as in :meth:`route`.
        """
        X, single = self._encode(prompts, encoder)
        if single:  # one prompt: the 1-D path (the same decision, fewer conversions)
            return self.route(X[0], lam, **constraints)  # type: ignore[no-any-return]
        return self.route(X, lam, **constraints)

    def predict_error(self, embeddings: Any, *, encoder: str | None = None) -> np.ndarray:
        """Predicted error ``gamma(x, h_m)`` per model: ``(n, M)``, or ``(M,)`` for one
        (hard clusters: ``Psi[m, k(x)]``; a learned map: ``Phi(x) . Psi[m]``)."""
        pool = self._pool()  # type: ignore[attr-defined]
        out = self._route(pool, embeddings, None, encoder, None, None, False, None, True)
        return out[4][0] if out[6] else out[4]

    def explain(self, x_or_text: Any, lam: float | None = None, *, encoder: Any = None,
                allowed: Any = None, max_cost: Any = None, strict: bool = False,
                budget: Calibration | None = None) -> Explanation | list[Explanation]:
        """Explain the routing of prompts given as embeddings or as text.

        Returns one :class:`~uniroute.explain.Explanation` for one prompt (a str or a
        ``(dim,)`` array), a list of them for a batch. The decision is the one
        :meth:`route` makes with the same arguments (the same core call).
        """
        pool = self._pool()  # type: ignore[attr-defined]
        text = isinstance(x_or_text, str) or (isinstance(x_or_text, (list, tuple)) and x_or_text
                                              and isinstance(x_or_text[0], str))
        if text:
            X, single = self._encode(x_or_text, encoder)
            name = None
        else:
            X, single = x_or_text, False
            name = encoder if isinstance(encoder, str) else None
        idx, cluster, sqdist, lams, errors, feasible, single_x = self._route(
            pool, X, lam, name, allowed, max_cost, strict, budget, True)
        rows = explain_rows(pool.names, pool.cost, cluster, sqdist, lams, errors, feasible, idx)
        return rows[0] if (single or single_x) else rows

    def calibrate(self, embeddings: Any, *, target_cost: float | None = None,
                  target_quality: float | None = None,
                  target_share: tuple[str, float] | None = None,
                  encoder: str | None = None) -> Calibration:
        """Choose lam on a sample of unlabelled traffic so that a target is met exactly.

        Give exactly one target: the average cost per prompt, the predicted quality
        (1 - average predicted error), or one model's share ``(name, fraction)``. The
        breakpoints of the exact lam-path are walked (no search); a target inside a step
        mixes the two bracketing decisions (see :mod:`uniroute.calibration`). Pass the
        result to ``route(..., budget=...)``; it keeps the target and what it needs of
        the sample, so routing on a changed pool re-solves it exactly. For a share, the
        smallest lam (highest quality) that meets it is taken. A target out of reach
        gives the closest decision with ``exact=False``.
        """
        given = [t is not None for t in (target_cost, target_quality, target_share)]
        if sum(given) != 1:
            raise ValueError("give exactly one of target_cost, target_quality, target_share")
        pool = self._pool()  # type: ignore[attr-defined]
        self._check_encoder(encoder)  # type: ignore[attr-defined]
        X, _ = as_embeddings(embeddings, "embeddings", self.embedding_dim)  # type: ignore[attr-defined]
        if X.shape[0] == 0:
            raise ValueError("embeddings is empty; calibration needs a sample of prompts")
        model = None
        if target_share is not None:
            if not (isinstance(target_share, tuple) and len(target_share) == 2):
                raise TypeError("target_share must be a tuple (model name, fraction)")
            model, target = target_share[0], as_cost(target_share[1], "target_share fraction")
            pool.index_of(model)
            kind, bound = "share", "target_share fraction"
        elif target_cost is not None:
            kind, target, bound = "cost", as_cost(target_cost, "target_cost"), ""
        else:
            kind, target = "quality", as_cost(target_quality, "target_quality")
            bound = "target_quality"
        if bound and target > 1.0:
            raise ValueError(f"{bound} must lie in [0, 1], got {target}")
        X = np.ascontiguousarray(X, dtype=np.float32)
        return calibrate(pool, self._calibration_sample(pool, X), X.shape[0], kind, target,
                         model, self._strength)  # type: ignore[attr-defined]

    def _calibration_sample(self, pool: PoolSnapshot, X: np.ndarray) -> tuple[str, np.ndarray]:
        """What a budget keeps of its sample: the hard clusters' histogram."""
        labels = pool.compiled_index().assign(X)[0]
        return "hard", np.bincount(labels, minlength=pool.n_clusters).astype(np.float64)

    # ------------------------------------------------------------------ text
    def _encode(self, prompts: Any, encoder: Any) -> tuple[np.ndarray, bool]:
        from uniroute._texts import as_texts

        texts, single = as_texts(prompts)
        enc = self._resolve_encoder(encoder)
        return enc.encode(texts), single

    def _resolve_encoder(self, encoder: Any) -> Any:
        self._fitted()  # type: ignore[attr-defined]
        name = self._encoder_name  # type: ignore[attr-defined]
        if name is None:
            raise ValueError("this router has no recorded encoder, so text cannot be routed; "
                             "construct it with encoder=... and fit it on that encoder's "
                             "embeddings")
        enc = encoder if encoder is not None else self.__dict__.get("_text_encoder")
        if enc is None and not isinstance(self.encoder, str):  # type: ignore[attr-defined]
            enc = self.encoder  # type: ignore[attr-defined]
        if enc is None:
            from uniroute.encoders import from_name  # the encoders uniroute knows by name

            enc = from_name(name)
            if enc is None:
                raise ValueError(f"pass encoder=: the router was fitted with encoder "
                                 f"{name!r}, which uniroute does not know by name")
            self.__dict__["_text_encoder"] = enc
        if getattr(enc, "name", None) != name:
            raise ValueError(f"encoder {getattr(enc, 'name', None)!r} is not the router's "
                             f"encoder {name!r}; refit the router for it")
        if int(getattr(enc, "dim", -1)) != self.embedding_dim:  # type: ignore[attr-defined]
            raise ValueError(f"encoder {enc.name!r} has dim {getattr(enc, 'dim', None)}, the "
                             f"router was fitted with dim {self.embedding_dim}")  # type: ignore[attr-defined]
        return enc
