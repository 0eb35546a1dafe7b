"""Prometheus metrics for requests, upstream calls, caches, the circuit breaker and streams."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

from gateway.upstream import BreakerState

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
MAX_OPERATION_NAMES = 200
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """One registry per app, so several apps in one process (tests, workers) never collide.

    Label values are bounded: endpoints are route templates; operation names are those of
    trusted documents, then those of validated operations from callers with credentials, capped
    at ``MAX_OPERATION_NAMES`` distinct values (then "other"); nothing carries a credential.
    """

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "gateway_graphql_requests",
            "GraphQL operations by operation name and outcome (ok, partial, error).",
            ["operation", "outcome"],
            registry=self.registry,
        )
        self.request_seconds = Histogram(
            "gateway_graphql_request_seconds",
            "Time to execute a GraphQL operation.",
            ["operation"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.upstream_calls = Counter(
            "gateway_upstream_calls",
            "Calls to VSee by endpoint and outcome (HTTP status, timeout, connection_error).",
            ["endpoint", "outcome"],
            registry=self.registry,
        )
        self.upstream_seconds = Histogram(
            "gateway_upstream_call_seconds",
            "Latency of calls to VSee by endpoint.",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.cache_lookups = Counter(
            "gateway_cache_lookups",
            "Cache lookups by cache and result (hit, miss, error).",
            ["cache", "result"],
            registry=self.registry,
        )
        self.cache_errors = Counter(
            "gateway_cache_errors",
            "Shared-cache (Redis) failures by operation; each one served as a miss.",
            ["operation"],
            registry=self.registry,
        )
        self.breaker_state = Gauge(
            "gateway_upstream_breaker_state",
            "Circuit breaker towards VSee: 0 closed, 1 half-open, 2 open (worst live worker).",
            registry=self.registry,
            multiprocess_mode="livemax",
        )
        self.breaker_transitions = Counter(
            "gateway_upstream_breaker_transitions_total",
            "Circuit breaker changes: to=open (openings), to=closed (recoveries), half_open.",
            ["to"],
            registry=self.registry,
        )
        self.shed_requests = Counter(
            "gateway_requests_shed_total",
            "GraphQL requests refused with OVERLOADED by admission control.",
            registry=self.registry,
        )
        self.dependency = Gauge(
            "gateway_dependency_up",
            "Whether a dependency looked healthy at the last readiness check (1) or not (0).",
            ["dependency"],
            registry=self.registry,
            multiprocess_mode="livemin",
        )
        self.conversions = Counter(
            "gateway_unconvertible_values_total",
            "Values VSee sent that could not be converted and were answered as null.",
            ["kind"],
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "gateway_rate_limited",
            "Requests refused with RATE_LIMITED, by caller kind (caller, anon).",
            ["caller"],
            registry=self.registry,
        )
        self.rate_limit_fallbacks = Counter(
            "gateway_rate_limit_fallbacks",
            "Rate-limit checks served by this replica's own buckets because Redis failed.",
            registry=self.registry,
        )
        # Subscriptions (gateway.live): the saving is subscriptions / pollers.
        self.live_subscriptions_open = Gauge(
            "gateway_live_subscriptions",
            "Subscriptions open (each one stream of updates to a client).",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.live_pollers_running = Gauge(
            "gateway_live_pollers",
            "Pollers running: one per credential scope and resource, however many subscribe.",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.live_polls = Counter(
            "gateway_live_polls",
            "Polls of VSee for subscriptions, by resource kind and outcome (ok, rate_limited, "
            "or the error code); rate() is polls per second.",
            ["kind", "outcome"],
            registry=self.registry,
        )
        self.live_events = Counter(
            "gateway_live_events_sent",
            "Results sent on streams: subscription events (unchanged results are not sent), "
            "and the one answer of a query or mutation sent over a stream.",
            registry=self.registry,
        )
        self.live_degraded_total = Counter(
            "gateway_live_degraded",
            "Lease checks that found Redis down, so this replica polled on its own.",
            registry=self.registry,
        )
        self._live_counts = [0, 0]
        self.live_saving = Gauge(
            "gateway_live_subscriptions_per_poller",
            "The saving of shared polling: open subscriptions divided by running pollers.",
            registry=self.registry,
            multiprocess_mode="livemax",
        )
        # Subscription streams over HTTP (SSE, multipart), by transport; drops by reason.
        self.streams_open = Gauge(
            "gateway_streams_open",
            "HTTP subscription streams open, by transport (sse, multipart).",
            ["transport"],
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.streams_opened = Counter(
            "gateway_streams_opened",
            "HTTP subscription streams started, by transport.",
            ["transport"],
            registry=self.registry,
        )
        self.streams_dropped = Counter(
            "gateway_streams_dropped",
            "HTTP subscription streams ended or refused by the gateway, by transport and reason: "
            "slow_consumer (the client did not read), limit (the caller's subscription cap), "
            "shutdown (SIGTERM), error (a failure of ours).",
            ["transport", "reason"],
            registry=self.registry,
        )
        self._operations: set[str] = set()
        self._reserved: set[str] = set()
        # Labelled children, looked up once per label set: prometheus_client's labels() takes
        # a lock and builds a tuple on every call, and these are on every request and call.
        # Bounded: operation labels are capped (MAX_OPERATION_NAMES), endpoints and outcomes
        # are the gateway's own.
        self._per_operation: dict[tuple[str, str], tuple[Any, Any]] = {}
        self._per_call: dict[tuple[str, str], tuple[Any, Any]] = {}

    def reserve_operations(self, names: Iterable[str]) -> None:
        """Names that always get their own label (trusted documents), outside the cap."""
        self._reserved.update(name for name in names if _NAME.fullmatch(name))

    def operation(
        self, name: str | None, outcome: str, seconds: float, *, credentialed: bool = True
    ) -> None:
        label = self._operation_label(name, credentialed)
        children = self._per_operation.get((label, outcome))
        if children is None:
            children = (self.requests.labels(label, outcome), self.request_seconds.labels(label))
            self._per_operation[(label, outcome)] = children
        children[0].inc()
        children[1].observe(seconds)

    def upstream_call(self, endpoint: str, outcome: str, seconds: float) -> None:
        children = self._per_call.get((endpoint, outcome))
        if children is None:
            children = (
                self.upstream_calls.labels(endpoint, outcome),
                self.upstream_seconds.labels(endpoint),
            )
            self._per_call[(endpoint, outcome)] = children
        children[0].inc()
        children[1].observe(seconds)

    def breaker_changed(self, state: BreakerState) -> None:
        self.breaker_state.set(state.value)
        self.breaker_transitions.labels(state.name.lower()).inc()

    def shed(self) -> None:
        self.shed_requests.inc()

    def dependency_up(self, name: str, up: bool) -> None:
        self.dependency.labels(name).set(1 if up else 0)

    def unconvertible(self, kind: str) -> None:
        self.conversions.labels(kind).inc()

    def cache_lookup(self, cache: str, result: str) -> None:
        self.cache_lookups.labels(cache, result).inc()

    def rate_limit_refused(self, caller: str) -> None:
        self.rate_limited.labels(caller).inc()

    def rate_limit_fallback(self) -> None:
        self.rate_limit_fallbacks.inc()

    def cache_error(self, operation: str) -> None:
        self.cache_errors.labels(operation).inc()

    def live_subscriptions(self, delta: int) -> None:
        self.live_subscriptions_open.inc(delta)
        self._live_counts[0] += delta
        self._live_saving()

    def live_pollers(self, delta: int) -> None:
        self.live_pollers_running.inc(delta)
        self._live_counts[1] += delta
        self._live_saving()

    def live_poll(self, kind: str, outcome: str) -> None:
        self.live_polls.labels(kind, outcome).inc()

    def live_event(self) -> None:
        self.live_events.inc()

    def live_degraded(self) -> None:
        self.live_degraded_total.inc()

    def stream_opened(self, transport: str) -> None:
        self.streams_open.labels(transport).inc()
        self.streams_opened.labels(transport).inc()

    def stream_closed(self, transport: str) -> None:
        self.streams_open.labels(transport).dec()

    def stream_dropped(self, transport: str, reason: str) -> None:
        self.streams_dropped.labels(transport, reason).inc()

    def _live_saving(self) -> None:
        subscriptions, pollers = self._live_counts
        self.live_saving.set(subscriptions / pollers if pollers > 0 else 0)

    def render(self) -> bytes:
        """The exposition text; with several workers, summed over all of them.

        ``vsee-gateway serve --workers N`` sets ``PROMETHEUS_MULTIPROC_DIR``, where every worker
        writes its values, so a scrape reaching any one worker sees the whole process tree.
        """
        directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if directory and os.path.isdir(directory):
            merged = CollectorRegistry()
            MultiProcessCollector(merged, path=directory)  # type: ignore[no-untyped-call]
            return generate_latest(merged)
        return generate_latest(self.registry)

    def _operation_label(self, name: str | None, credentialed: bool = True) -> str:
        if not name:
            return "anonymous"
        if name in self._reserved or name == "invalid":
            return name
        if not credentialed or not _NAME.fullmatch(name):
            # A stranger's names never take one of the capped slots.
            return "other"
        if name not in self._operations:
            if len(self._operations) >= MAX_OPERATION_NAMES:
                return "other"
            self._operations.add(name)
        return name
