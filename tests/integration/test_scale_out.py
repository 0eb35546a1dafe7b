"""Scale-out: gateway processes sharing one Redis, multi-worker serving, Redis outages."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.conftest import MEMBER, PROVIDER
from tests.redis_server import RedisServer
from tests.servers import Gateway, Sandbox, free_port, gateway_command, wait_until_healthy

AVAILABILITY = """query($start: DateTime!, $end: DateTime!) {
  availability(start: $start, end: $end) { start providerIds } }"""


def window(days_ahead: int) -> dict[str, str]:
    start = datetime.now(tz=UTC).replace(minute=0, second=0, microsecond=0)
    start += timedelta(days=days_ahead)
    return {"start": start.isoformat(), "end": (start + timedelta(days=2)).isoformat()}


@contextlib.contextmanager
def gateway_process(upstream: Sandbox, *args: str, **env: str) -> Iterator[Gateway]:
    """``vsee-gateway serve`` in its own process, as an operator would run it."""
    port, metrics_port = free_port(), free_port()
    process = subprocess.Popen(
        gateway_command("serve", "--port", str(port), *args),
        env={
            **os.environ,
            "VSEE_API_URL": upstream.api_url,
            "VSEE_LOG_LEVEL": "warning",
            "VSEE_METRICS_PORT": str(metrics_port),
            **env,
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    handle = Gateway(
        f"http://127.0.0.1:{port}", metrics_url=f"http://127.0.0.1:{metrics_port}/metrics"
    )
    try:
        wait_until_healthy(handle.url, process)
        yield handle
    finally:
        handle.http.close()
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_a_cached_answer_is_shared_across_processes_for_the_same_caller_only(
    upstream: Sandbox, redis_server: RedisServer
) -> None:
    redis_server.flush()
    env = {"VSEE_CACHE_URL": redis_server.url}
    with gateway_process(upstream, **env) as a, gateway_process(upstream, **env) as b:
        variables = window(3)
        first = a.query(AVAILABILITY, variables, token=MEMBER)
        assert upstream.counts() == {"GET /availability": 1}
        second = b.query(AVAILABILITY, variables, token=MEMBER)
        assert second == first
        assert upstream.counts() == {"GET /availability": 1}
        b.query(AVAILABILITY, variables, token=PROVIDER)
        assert upstream.counts() == {"GET /availability": 2}


def test_a_burst_on_two_replicas_costs_one_upstream_call(
    upstream: Sandbox, redis_server: RedisServer
) -> None:
    redis_server.flush()
    env = {"VSEE_CACHE_URL": redis_server.url}
    upstream.faults(latency_ms=200)  # keep the first fetch in flight while the burst lands
    try:
        with gateway_process(upstream, **env) as a, gateway_process(upstream, **env) as b:
            upstream.clear_log()
            variables = window(5)

            def ask(gateway: Gateway) -> dict[str, Any]:
                return gateway.query(AVAILABILITY, variables, token=MEMBER)

            with ThreadPoolExecutor(max_workers=12) as pool:
                answers = list(pool.map(ask, [a, b] * 6))
            assert all("errors" not in answer for answer in answers)
            assert len({str(answer) for answer in answers}) == 1
            assert upstream.counts() == {"GET /availability": 1}
    finally:
        upstream.faults()


def test_a_redis_outage_costs_caching_not_queries(
    make_gateway: Callable[..., Gateway], upstream: Sandbox
) -> None:
    gateway = make_gateway(cache_url=f"redis://127.0.0.1:{free_port()}/0")
    for _ in range(2):
        body = gateway.query(AVAILABILITY, window(7), token=MEMBER)
        assert "errors" not in body, body
    assert upstream.counts() == {"GET /availability": 2}
    assert "gateway_cache_errors_total" in gateway.metrics()
    ready = gateway.http.get(f"{gateway.url}/readyz").json()
    assert ready["checks"]["cache"] == "degraded"


def test_multiple_workers_serve(upstream: Sandbox) -> None:
    with gateway_process(upstream, "--workers", "2") as gateway:
        for _ in range(6):
            body = gateway.query("query WorkerProbe { currentVisit { id } }", token=MEMBER)
            assert body["data"]["currentVisit"]["id"]
        # Whichever worker answers the scrape, it reports every worker's requests.
        for _ in range(3):
            metrics = gateway.metrics()
            line = 'gateway_graphql_requests_total{operation="WorkerProbe",outcome="ok"} 6.0'
            assert line in metrics
