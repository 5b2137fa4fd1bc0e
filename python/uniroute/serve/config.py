"""The backends file of ``uniroute serve``: where each pool model is served.

.. code-block:: yaml

    models:                           # one entry per pool model (the router file's names)
      gpt-4o-mini:
        base_url: https://api.openai.com/v1   # an OpenAI-compatible API
        api_key_env: OPENAI_API_KEY           # or api_key: "..." (prefer the env var)
        model: gpt-4o-mini                    # the name the backend knows (default: the key)
        timeout: 30                           # seconds (default: the top-level timeout)
    timeout: 60          # seconds per backend attempt
    fallback: true       # on a backend error or timeout, try the next-best allowed model
    max_attempts: 3      # backends tried per request at most (the first one included)
    api_keys_env: UNIROUTE_API_KEYS   # optional: comma-separated keys clients must send
    admin_token_env: UNIROUTE_ADMIN_TOKEN   # optional: enables POST /admin/reload

Keys are read from the environment at start-up, kept out of every log line and ``repr``.
"""
from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Backend:
    """One pool model's OpenAI-compatible endpoint."""

    name: str
    base_url: str
    model: str
    timeout: float
    api_key: str | None = field(default=None, repr=False)

    def url(self, path: str) -> str:
        """The backend URL of an OpenAI path such as ``"/chat/completions"``."""
        return self.base_url.rstrip("/") + path


@dataclass(frozen=True)
class GatewayConfig:
    """The parsed backends file."""

    backends: dict[str, Backend]
    timeout: float = 60.0
    fallback: bool = True
    max_attempts: int = 3
    api_keys: frozenset[str] = field(default=frozenset(), repr=False)
    admin_token: str | None = field(default=None, repr=False)


def _env(name: Any, what: str, env: Mapping[str, str]) -> str:
    if not isinstance(name, str) or not name:
        raise ValueError(f"{what} must name an environment variable")
    value = env.get(name)
    if value is None:
        raise ValueError(f"{what}: environment variable {name} is not set")
    return value


def _seconds(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
            math.isfinite(value) and value > 0):
        raise ValueError(f"{what} must be a number of seconds > 0, got {value!r}")
    return float(value)


def _backend(name: str, spec: Any, timeout: float, env: Mapping[str, str]) -> Backend:
    where = f"models[{name!r}]"
    if not isinstance(spec, Mapping):
        raise ValueError(f"{where} must be a mapping with base_url")  # noqa: TRY004
    unknown = sorted(set(spec) - {"base_url", "api_key", "api_key_env", "model", "timeout"})
    if unknown:
        raise ValueError(f"{where} has unknown keys {unknown}")
    url = spec.get("base_url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ValueError(f"{where}.base_url must be an http(s) URL, got {url!r}")
    if "api_key" in spec and "api_key_env" in spec:
        raise ValueError(f"{where}: give api_key or api_key_env, not both")
    key = spec.get("api_key")
    if "api_key_env" in spec:
        key = _env(spec["api_key_env"], f"{where}.api_key_env", env)
    elif key is not None and not isinstance(key, str):
        raise ValueError(f"{where}.api_key must be a string")
    model = spec.get("model", name)
    if not isinstance(model, str) or not model:
        raise ValueError(f"{where}.model must be a non-empty string")
    t = _seconds(spec["timeout"], f"{where}.timeout") if "timeout" in spec else timeout
    return Backend(name=name, base_url=url, model=model, timeout=t, api_key=key)


def parse_config(data: Any, env: Mapping[str, str] | None = None) -> GatewayConfig:
    """A :class:`GatewayConfig` from the parsed YAML (ValueError naming the bad key)."""
    env = os.environ if env is None else env
    if not isinstance(data, Mapping):
        raise ValueError(  # noqa: TRY004 - a bad file is a ValueError
            "the backends file must be a mapping with a 'models' table")
    unknown = sorted(set(data) - {"models", "timeout", "fallback", "max_attempts",
                                  "api_keys_env", "admin_token_env"})
    if unknown:
        raise ValueError(f"unknown top-level keys {unknown}")
    timeout = _seconds(data.get("timeout", 60.0), "timeout")
    models = data.get("models")
    if not isinstance(models, Mapping) or not models:
        raise ValueError("'models' must map at least one pool model name to its backend")
    backends = {str(n): _backend(str(n), s, timeout, env) for n, s in models.items()}
    fallback = data.get("fallback", True)
    if not isinstance(fallback, bool):
        raise ValueError(f"fallback must be true or false, got {fallback!r}")  # noqa: TRY004
    attempts = data.get("max_attempts", 3)
    if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
        raise ValueError(f"max_attempts must be a whole number >= 1, got {attempts!r}")
    keys: frozenset[str] = frozenset()
    if "api_keys_env" in data:
        raw = _env(data["api_keys_env"], "api_keys_env", env)
        keys = frozenset(k.strip() for k in raw.split(",") if k.strip())
        if not keys:
            raise ValueError("api_keys_env names an empty variable")
    token = _env(data["admin_token_env"], "admin_token_env", env) \
        if "admin_token_env" in data else None
    if token is not None and len(token) < 16:
        raise ValueError("the admin token must be at least 16 characters")
    return GatewayConfig(backends=backends, timeout=timeout, fallback=fallback,
                         max_attempts=attempts, api_keys=keys, admin_token=token)


def load_config(path: str | os.PathLike[str],
                env: Mapping[str, str] | None = None) -> GatewayConfig:
    """Read and check a backends YAML file."""
    import yaml

    with open(path, encoding="utf-8") as fh:
        try:
            data = yaml.safe_load(fh)
        except yaml.YAMLError as exc:
            raise ValueError(f"{os.fspath(path)} is not valid YAML: {exc}") from None
    try:
        return parse_config(data, env)
    except ValueError as exc:
        raise ValueError(f"{os.fspath(path)}: {exc}") from None
