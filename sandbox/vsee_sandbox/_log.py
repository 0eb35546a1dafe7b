"""The request log tests read back, and the faults (latency, errors) injected into API calls."""

from __future__ import annotations

import random
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._config import SandboxConfig

# What a request can be made to suffer at the transport level, after it was logged:
#   reset        the request is served (a write IS applied), then the answer's status and part
#                of its body are sent and the connection is closed: the client cannot tell
#   stall        the request is served, part of the body is sent, then ``stall_ms`` of silence
#   html         not served: 200 with an HTML page (a proxy's or maintenance page)
#   unavailable  not served: 503 with an HTML body
# A refused connection needs no knob: point the client at a port nobody listens on (ASGI
# cannot refuse a connection it was handed).
MISBEHAVIOURS = ("reset", "stall", "html", "unavailable")
# The kinds answered instead of serving the request, as a proxy in front of VSee would.
NOT_SERVED = frozenset({"html", "unavailable"})

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
    fault: str | None = None  # the misbehaviour injected, if any (see MISBEHAVIOURS)

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
            "fault": self.fault,
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

    def as_json(self, since: int = 0) -> dict[str, Any]:
        """The log; with ``since`` (an earlier ``total``), only the entries recorded after it
        that are still kept, so a long run can read everything by polling."""
        newer = max(0, min(self.total - since, len(self.entries)))
        entries = list(self.entries)[len(self.entries) - newer :] if since else self.entries
        return {
            "total": self.total,
            "counts": dict(self.counts),
            "entries": [entry.as_json() for entry in entries],
        }


@dataclass(slots=True)
class Faults:
    """What to do to API requests: delay them, fail a fraction, or fail whole routes."""

    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    error_rate: float = 0.0
    fail: dict[str, int] = field(default_factory=dict)  # route key -> status
    # Transport-level misbehaviour (see MISBEHAVIOURS): per route, or at random.
    misbehave: dict[str, str] = field(default_factory=dict)  # route key -> kind
    misbehave_rate: float = 0.0
    misbehave_kinds: list[str] = field(default_factory=lambda: list(MISBEHAVIOURS))
    stall_ms: float = 30_000.0

    @classmethod
    def from_config(cls, config: SandboxConfig) -> Faults:
        return cls(config.latency_ms, config.jitter_ms, config.error_rate)

    @classmethod
    def from_json(cls, body: Any) -> Faults:
        """Parse a PUT /_sandbox/faults body; a missing key means "none of that fault"."""
        if not isinstance(body, Mapping):
            raise ValueError("expected a JSON object")
        unknown = set(body) - {
            "latency_ms",
            "jitter_ms",
            "error_rate",
            "fail",
            "misbehave",
            "misbehave_rate",
            "misbehave_kinds",
            "stall_ms",
        }
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
        misbehave = body.get("misbehave") or {}
        if not isinstance(misbehave, Mapping):
            raise ValueError("misbehave must be an object of route -> kind")
        for route, kind in misbehave.items():
            faults.misbehave[str(route)] = _kind(kind)
        faults.misbehave_rate = _number(body, "misbehave_rate", 0.0, 1.0)
        kinds = body.get("misbehave_kinds")
        if kinds is not None:
            if not isinstance(kinds, list) or not kinds:
                raise ValueError("misbehave_kinds must be a non-empty list")
            faults.misbehave_kinds = [_kind(kind) for kind in kinds]
        if "stall_ms" in body:
            faults.stall_ms = _number(body, "stall_ms", 0.0, 600_000.0)
        return faults

    def as_json(self) -> dict[str, Any]:
        return {
            "latency_ms": self.latency_ms,
            "jitter_ms": self.jitter_ms,
            "error_rate": self.error_rate,
            "fail": dict(self.fail),
            "misbehave": dict(self.misbehave),
            "misbehave_rate": self.misbehave_rate,
            "misbehave_kinds": list(self.misbehave_kinds),
            "stall_ms": self.stall_ms,
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

    def misbehaviour(self, route: str) -> str | None:
        """How to break this request's HTTP exchange (see ``MISBEHAVIOURS``), if at all."""
        faults = self.faults
        kind = faults.misbehave.get(route)
        if kind is not None:
            return kind
        if faults.misbehave_rate and self._rng.random() < faults.misbehave_rate:
            return self._rng.choice(faults.misbehave_kinds)
        return None


def _kind(kind: Any) -> str:
    if kind not in MISBEHAVIOURS:
        raise ValueError(f"misbehaviour must be one of {', '.join(MISBEHAVIOURS)}")
    return str(kind)


def _number(body: Mapping[str, Any], name: str, low: float, high: float | None) -> float:
    value = body.get(name, 0)
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number")
    if value < low or (high is not None and value > high):
        raise ValueError(f"{name} must be in [{low}, {high if high is not None else 'inf'}]")
    return float(value)
