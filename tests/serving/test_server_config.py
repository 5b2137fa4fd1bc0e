"""The backends file, the model string, request text extraction and the serve command's
input errors (no network)."""
from __future__ import annotations

import math

import pytest

pytest.importorskip("starlette")
pytest.importorskip("aiohttp")
pytest.importorskip("yaml")

from uniroute.cli import main
from uniroute.integrations.decision import as_budget, completion_text, prompt_text
from uniroute.serve.app import parse_model
from uniroute.serve.config import parse_config
from uniroute.serve.errors import GatewayError

URL = "http://127.0.0.1:9/v1"


def test_config_reads_keys_from_env_and_hides_them():
    cfg = parse_config({"models": {"a": {"base_url": URL, "api_key_env": "K", "timeout": 2},
                                   "b": {"base_url": URL, "model": "bee"}},
                        "fallback": False, "max_attempts": 2, "timeout": 5,
                        "api_keys_env": "CK", "admin_token_env": "AT"},
                       {"K": "sk-secret", "CK": " one, two ", "AT": "t" * 16})
    a, b = cfg.backends["a"], cfg.backends["b"]
    assert (a.api_key, a.timeout, a.model) == ("sk-secret", 2.0, "a")
    assert (b.api_key, b.timeout, b.model) == (None, 5.0, "bee")
    assert cfg.api_keys == frozenset({"one", "two"}) and cfg.admin_token == "t" * 16
    assert (cfg.fallback, cfg.max_attempts) == (False, 2)
    assert "sk-secret" not in repr(cfg) and "t" * 16 not in repr(cfg)
    assert a.url("/chat/completions") == "http://127.0.0.1:9/v1/chat/completions"


@pytest.mark.parametrize("spec, env, match", [
    ({}, {}, "'models'"),
    ({"models": {"a": {"base_url": "ftp://x"}}}, {}, r"models\['a'\].base_url"),
    ({"models": {"a": {"base_url": URL, "api_key_env": "NOPE"}}}, {}, "NOPE is not set"),
    ({"models": {"a": {"base_url": URL, "colour": 1}}}, {}, "unknown keys"),
    ({"models": {"a": {"base_url": URL}}, "timeout": 0}, {}, "timeout"),
    ({"models": {"a": {"base_url": URL}}, "max_attempts": 0}, {}, "max_attempts"),
    ({"models": {"a": {"base_url": URL}}, "admin_token_env": "T"}, {"T": "short"}, "16"),
    ({"models": {"a": {"base_url": URL}}, "extra": 1}, {}, "unknown top-level"),
])
def test_config_errors_name_the_key(spec, env, match):
    with pytest.raises(ValueError, match=match):
        parse_config(spec, env)


def test_model_string():
    assert parse_model("uniroute") == (True, None)
    assert parse_model("uniroute:lam=0.25") == (True, 0.25)
    assert parse_model("gpt-4o") == (False, None)
    assert parse_model("uniroutex") == (False, None)
    for bad in ("uniroute:lam=-1", "uniroute:lam=nan", "uniroute:mu=1", "uniroute:lam", ""):
        with pytest.raises(GatewayError) as info:
            parse_model(bad)
        assert info.value.status == 400 and info.value.param == "model"


def test_request_text_is_the_last_user_message():
    msgs = [{"role": "user", "content": "first"}, {"role": "assistant", "content": "x"},
            {"role": "user", "content": [{"type": "text", "text": "a"},
                                         {"type": "image_url", "image_url": {"url": "u"}},
                                         {"type": "text", "text": "b"}]},
            {"role": "system", "content": "late system"}]
    assert prompt_text(msgs) == "a\nb"
    assert prompt_text(msgs[:2]) == "first"
    assert prompt_text([{"role": "user", "content": "  "}]) is None
    assert prompt_text("not a list") is None
    assert completion_text(["p", "q"]) == "p" and completion_text([1, 2]) is None


def test_budget_round_trips_through_to_dict():
    import numpy as np

    from tests._production import small_router

    r, X = small_router(np.random.default_rng(0))
    cal = r.calibrate(X[:200], target_cost=float(np.mean(r.costs)))
    again = as_budget(cal.to_dict())
    assert again == cal and math.isclose(again.lam, cal.lam)
    with pytest.raises(ValueError, match="budget"):
        as_budget({"kind": "cost"})


def test_serve_command_bad_input_is_one_line_exit_2(tmp_path, capsys):
    (tmp_path / "b.yaml").write_text("models: {a: {base_url: 'http://127.0.0.1:9/v1'}}\n")
    assert main(["serve", str(tmp_path / "missing.npz"), "--backends",
                 str(tmp_path / "b.yaml")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("uniroute serve:") and "missing.npz" in err and "\n" not in err
    (tmp_path / "bad.yaml").write_text("models: [1, 2]\n")
    assert main(["serve", "x.npz", "--backends", str(tmp_path / "bad.yaml")]) == 2
    assert "'models'" in capsys.readouterr().err


def test_import_uniroute_imports_no_gateway_library():
    import subprocess
    import sys

    code = ("import sys, uniroute, uniroute.cli, uniroute.integrations, uniroute.serve, "
            "uniroute.integrations.litellm; heavy = {'starlette', 'litellm', 'uvicorn', "
            "'aiohttp', 'yaml', 'httpx'}; print(sorted(m for m in sys.modules "
            "if m.split('.')[0] in heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True)
    assert out.stdout.strip() == "[]"
