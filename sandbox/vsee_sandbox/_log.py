"""The request log tests read back, and the faults (latency, errors) injected into API calls."""

from __future__ import annotations

import random
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._config import SandboxConfig

# Enough for any test or a benchmark run's tail; totals and counts keep counting past it.
MAX_ENTRIES = 10_000


@dataclass(slots=True)
class LogEntry:
    method: str
    path: str
    route: str
    query: dict[str, Any]
    headers: dict[str, str]
    content_type: str | None
    body: dict[str, Any] | None
    status: int

    def as_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "route": self.route,
            "query": self.query,
            "headers": self.headers,
            "content_type": self.content_type,
            "body": self.body,
            "status": self.status,
        }


class RequestLog:
    """Every API-prefix request, in arrival order, with its route template and final status."""

    def __init__(self) -> None:
        self.entries: deque[LogEntry] = deque(maxlen=MAX_ENTRIES)
        self.counts: Counter[str] = Counter()
        self.total = 0

    def record(self, entry: LogEntry) -> None:
        self.entries.append(entry)
        self.counts[entry.route] += 1
        self.total += 1

    def clear(self) -> None:
        self.entries.clear()
        self.counts.clear()
        self.total = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "counts": dict(self.counts),
            "entries": [entry.as_json() for entry in self.entries],
        }


@dataclass(slots=True)
class Faults:
    """What to do to API requests: delay them, fail a fraction, or fail whole routes."""

    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    error_rate: float = 0.0
    fail: dict[str, int] = field(default_factory=dict)  # route key -> status

    @classmethod
    def from_config(cls, config: SandboxConfig) -> Faults:
        return cls(config.latency_ms, config.jitter_ms, config.error_rate)

    @classmethod
    def from_json(cls, body: Any) -> Faults:
        """Parse a PUT /_sandbox/faults body; a missing key means "none of that fault"."""
        if not isinstance(body, Mapping):
            raise ValueError("expected a JSON object")
        unknown = set(body) - {"latency_ms", "jitter_ms", "error_rate", "fail"}
        if unknown:
            raise ValueError(f"unknown keys: {', '.join(sorted(unknown))}")
        faults = cls(
            latency_ms=_number(body, "latency_ms", 0.0, None),
            jitter_ms=_number(body, "jitter_ms", 0.0, None),
            error_rate=_number(body, "error_rate", 0.0, 1.0),
        )
        fail = body.get("fail") or {}
        if not isinstance(fail, Mapping):
            raise ValueError("fail must be an object of route -> status")
        for route, status in fail.items():
            if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
                raise ValueError(f"fail[{route!r}] must be an HTTP status code")
            faults.fail[str(route)] = status
        return faults

    def as_json(self) -> dict[str, Any]:
        return {
            "latency_ms": self.latency_ms,
            "jitter_ms": self.jitter_ms,
            "error_rate": self.error_rate,
            "fail": dict(self.fail),
        }


class FaultInjector:
    """Decides, per request, the added delay and whether to fail; seeded, so reproducible."""

    def __init__(self, config: SandboxConfig) -> None:
        self._config = config
        self.reset()

    def reset(self) -> None:
        self.faults = Faults.from_config(self._config)
        self._rng = random.Random(self._config.seed)

    def delay(self) -> float:
        """Seconds to wait before answering (0 when no latency is configured)."""
        faults = self.faults
        delay_ms = faults.latency_ms
        if faults.jitter_ms:
            delay_ms += self._rng.uniform(0.0, faults.jitter_ms)
        return delay_ms / 1000.0

    def failure(self, route: str) -> int | None:
        """The status to answer instead of serving the request, if any."""
        faults = self.faults
        status = faults.fail.get(route)
        if status is not None:
            return status
        if faults.error_rate and self._rng.random() < faults.error_rate:
            return 503
        return None


def _number(body: Mapping[str, Any], name: str, low: float, high: float | None) -> float:
    value = body.get(name, 0)
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number")
    if value < low or (high is not None and value > high):
        raise ValueError(f"{name} must be in [{low}, {high if high is not None else 'inf'}]")
    return float(value)
