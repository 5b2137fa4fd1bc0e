"""Production routing, offline, on the bundled real RouterBench slice.

Fit a router, add a new LLM from its probe answers, route raw text, explain a decision,
respect an outage and a price cap, calibrate lam to a dollar budget on unlabelled
traffic, and check the realised cost on held-out prompts against the target.

Run (from a checkout):  pip install ".[embed]" && python examples/production_routing.py
"""
from __future__ import annotations

import numpy as np
import uniroute
from uniroute import datasets


def main(budget: float = 1.0e-3, seed: int = 0) -> dict[str, float]:
    data = datasets.load("routerbench_partial")  # real per-prompt USD costs, USE embeddings
    X, quality, usd = data.embeddings, data.quality, data.cost
    rng = np.random.default_rng(seed)
    order = rng.permutation(data.n_prompts)
    train, probe, calib, held_out = np.split(order, [1600, 2000, 2500])
    print(f"{data.name}: {data.n_prompts} prompts, {data.n_models} LLMs; "
          f"train {train.size}, probe {probe.size}, calibration {calib.size}, "
          f"held-out {held_out.size}")

    # 1. Fit on training prompts; the pool starts without GPT-4.
    router = uniroute.UniRouter(n_clusters=24, random_state=seed, encoder=data.encoder)
    router.fit(X[train])
    price = data.model_cost(probe)  # USD per query, from the probe prompts
    new_llm = "gpt-4-1106-preview"
    for m, name in enumerate(data.models):
        if name != new_llm:  # probe_cost: what each probe answer really cost
            router.add_model(name, price[m], X[probe], quality[probe, m],
                             probe_cost=usd[probe, m])

    # 2. A new LLM joins from its answers to the probe prompts: no refit.
    m_new = data.models.index(new_llm)
    router.add_model(new_llm, price[m_new], X[probe], quality[probe, m_new],
                     probe_cost=usd[probe, m_new])
    print(f"added {new_llm!r} (${price[m_new]:.2e}/query): {router}")

    # 3. Raw text in, decision out (the default encoder runs offline).
    prompts = ["Write a Python function that returns the n-th Fibonacci number.",
               ("The trophy doesn't fit into the brown suitcase because it is too large. "
                "What is too large? Option 1: the trophy. Option 2: the suitcase."),
               data.prompts[held_out[0]]]
    for text, choice in zip(prompts, router.route_text(prompts, lam=20.0)):
        print(f"  lam=20 -> {choice:28s} {text[:70]!r}")

    # 4. Why?
    print(router.explain(prompts[0], lam=20.0))

    # 5. Per-request constraints: an outage and a price cap, inside the same argmin.
    up = [m for m in router.models if m != new_llm]
    for name, kwargs in (("no constraint", {}), ("outage of GPT-4", {"allowed": up}),
                         ("cap $5e-4/query", {"max_cost": 5e-4})):
        print(f"  lam=0, {name:16s}:", [str(c) for c in router.route_text(prompts, lam=0.0, **kwargs)])

    # 6. Calibrate lam to a dollar budget on unlabelled traffic (embeddings only).
    cal = router.calibrate(X[calib], target_cost=budget)
    print(f"calibrated to ${budget:.2e}/prompt on {cal.n_prompts} prompts: lam={cal.lam:.4g} "
          f"(mix {1 - cal.weight:.4f} x lam={cal.lam_low:.4g} + {cal.weight:.4f} x "
          f"lam={cal.lam_high:.4g}); predicted cost ${cal.predicted_cost:.6e} "
          f"(target met exactly: {cal.exact}), predicted quality {cal.predicted_quality:.4f}")

    # 7. Held-out traffic with the calibrated budget: realised real USD cost vs target.
    # The sampling band: the target was predicted on one sample and is checked on
    # another, so sigma counts both (sigma_held alone is printed too).
    idx = router.route_indices(X[held_out], budget=cal)
    cols = np.array([data.models.index(name) for name in router.models])[idx]
    spent = usd[held_out, cols]
    realised = float(spent.mean())
    sigma_held = spent.std(ddof=1) / np.sqrt(spent.size)
    sigma = spent.std(ddof=1) * np.sqrt(1 / spent.size + 1 / cal.n_prompts)
    inside = abs(realised - budget) <= 2 * sigma
    got = np.nan_to_num(quality[held_out, cols]).mean()
    print(f"held-out ({spent.size} prompts): realised ${realised:.6e}/prompt vs target "
          f"${budget:.6e}: z = {(realised - budget) / sigma:+.2f} (sigma ${sigma:.2e}; "
          f"held-out sampling alone ${sigma_held:.2e}, z = "
          f"{(realised - budget) / sigma_held:+.2f}) -> inside +-2 sigma: {inside}; "
          f"realised quality {got:.4f}")
    return {"predicted": cal.predicted_cost, "realised": realised, "sigma": float(sigma),
            "sigma_held": float(sigma_held),
            "inside": float(inside), "quality": float(got)}


if __name__ == "__main__":
    main()
