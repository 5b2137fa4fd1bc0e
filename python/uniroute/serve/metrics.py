"""Prometheus text exposition of the gateway's counters (no client library needed).

Counters are plain dicts updated from the event loop thread (and from reload, under the
GIL): ``uniroute_requests_total{endpoint,status}``, ``uniroute_decisions_total{model}``,
``uniroute_backend_errors_total{model,kind}``, ``uniroute_reloads_total{result}``, the
histogram ``uniroute_decision_seconds`` and the gauge ``uniroute_router_version``.
"""
from __future__ import annotations

import bisect
from collections import Counter

BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(names: tuple[str, ...], values: tuple[str, ...]) -> str:
    return "{" + ",".join(f'{n}="{_escape(v)}"' for n, v in zip(names, values)) + "}"


class Metrics:
    """The gateway's metrics."""

    def __init__(self) -> None:
        self.requests: Counter[tuple[str, str]] = Counter()
        self.decisions: Counter[tuple[str]] = Counter()
        self.backend_errors: Counter[tuple[str, str]] = Counter()
        self.reloads: Counter[tuple[str]] = Counter()
        self.router_version = 0
        self._bucket_counts = [0] * (len(BUCKETS) + 1)
        self._sum = 0.0

    def observe_decision(self, model: str, seconds: float) -> None:
        self.decisions[(model,)] += 1
        self._bucket_counts[bisect.bisect_left(BUCKETS, seconds)] += 1
        self._sum += seconds

    def render(self) -> str:
        """The Prometheus text format (version 0.0.4)."""
        out: list[str] = []

        def counter(name: str, help_: str, labels: tuple[str, ...], data: Counter) -> None:
            out.extend([f"# HELP {name} {help_}", f"# TYPE {name} counter"])
            for key, value in sorted(data.items()):
                out.append(f"{name}{_labels(labels, key)} {value}")

        counter("uniroute_requests_total", "Requests answered, by endpoint and HTTP status.",
                ("endpoint", "status"), self.requests)
        counter("uniroute_decisions_total", "Routing decisions, by chosen model.",
                ("model",), self.decisions)
        counter("uniroute_backend_errors_total", "Failed backend attempts, by model and kind.",
                ("model", "kind"), self.backend_errors)
        counter("uniroute_reloads_total", "Router reloads, by result.", ("result",),
                self.reloads)
        name = "uniroute_decision_seconds"
        out.extend([f"# HELP {name} Time to decide (encode + route) one request.",
                    f"# TYPE {name} histogram"])
        total = 0
        for bound, count in zip(BUCKETS + (float("inf"),), self._bucket_counts):
            total += count
            le = "+Inf" if bound == float("inf") else repr(bound)
            out.append(f'{name}_bucket{{le="{le}"}} {total}')
        out.extend([f"{name}_sum {self._sum!r}", f"{name}_count {total}",
                    ("# HELP uniroute_router_version Version of the served router (1 = first "
                     "load, +1 per successful reload)."), "# TYPE uniroute_router_version gauge",
                    f"uniroute_router_version {self.router_version}"])
        return "\n".join(out) + "\n"
