"""Retries for reads only, the request deadline, and the circuit breaker."""

import httpx
import pytest

from gateway.upstream import (
    BreakerState,
    CircuitBreaker,
    Credentials,
    Retry,
    UpstreamClient,
    UpstreamTimeout,
    UpstreamUnavailable,
    deadline_scope,
)

CREDS = Credentials(token="t", account_code="vclinic")


class Flaky:
    """Answers ``failures`` times with ``status`` (or a connection error), then 200."""

    def __init__(self, failures: int, status: int | None = 503) -> None:
        self.failures = failures
        self.status = status
        self.calls = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if self.calls <= self.failures:
            if self.status is None:
                raise httpx.ConnectError("refused", request=request)
            return httpx.Response(self.status, json={"code": self.status, "message": "x"})
        return httpx.Response(200, json={"data": {"ok": True}})


def client(handler: object, **kwargs: object) -> UpstreamClient:
    return UpstreamClient(
        "https://vsee.test",
        transport=httpx.MockTransport(handler),  # type: ignore[arg-type]
        retry=Retry(attempts=3, backoff=0.001),
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("status", [502, 503, 504, None])
async def test_reads_are_retried_on_transient_failures(status: int | None) -> None:
    flaky = Flaky(2, status)
    c = client(flaky)
    envelope = await c.get("/visits", CREDS, endpoint="GET /visits")
    assert envelope.data == {"ok": True}
    assert flaky.calls == 3
    await c.aclose()


async def test_reads_give_up_after_the_attempts() -> None:
    flaky = Flaky(10)
    c = client(flaky)
    with pytest.raises(UpstreamUnavailable):
        await c.get("/visits", CREDS, endpoint="GET /visits")
    assert flaky.calls == 3
    await c.aclose()


@pytest.mark.parametrize("status", [500, 404])
async def test_non_transient_statuses_are_not_retried(status: int) -> None:
    flaky = Flaky(10, status)
    c = client(flaky)
    with pytest.raises(Exception):  # noqa: B017, PT011
        await c.get("/visits", CREDS, endpoint="GET /visits")
    assert flaky.calls == 1
    await c.aclose()


async def test_writes_are_never_retried() -> None:
    for status in (503, None):
        flaky = Flaky(1, status)
        c = client(flaky)
        with pytest.raises(UpstreamUnavailable):
            await c.post("/appointments", CREDS, endpoint="POST /appointments", form=[("a", 1)])
        assert flaky.calls == 1
        await c.aclose()


async def test_each_call_gets_only_what_is_left_of_the_deadline() -> None:
    seen: list[dict[str, float]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return httpx.Response(200, json={"data": {}})

    c = UpstreamClient("https://vsee.test", transport=httpx.MockTransport(handler))
    await c.get("/visits", CREDS, endpoint="GET /visits")
    with deadline_scope(0.5):
        await c.get("/visits", CREDS, endpoint="GET /visits")
    await c.aclose()
    unbounded, bounded = seen
    assert unbounded["read"] == 10.0
    assert 0 < bounded["read"] <= 0.5
    assert 0 < bounded["connect"] <= 0.5


async def test_an_expired_deadline_makes_no_call() -> None:
    flaky = Flaky(0)
    c = client(flaky)
    with deadline_scope(-1), pytest.raises(UpstreamTimeout):
        await c.get("/visits", CREDS, endpoint="GET /visits")
    assert flaky.calls == 0
    await c.aclose()


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_breaker_opens_fails_fast_probes_and_recovers() -> None:
    clock = Clock()
    changes: list[BreakerState] = []
    breaker = CircuitBreaker(threshold=3, cooldown=10, clock=clock, on_change=changes.append)
    for _ in range(3):
        breaker.before_call()
        breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    with pytest.raises(UpstreamUnavailable):
        breaker.before_call()
    clock.now += 10
    assert breaker.state is BreakerState.HALF_OPEN
    breaker.before_call()  # the probe
    with pytest.raises(UpstreamUnavailable):
        breaker.before_call()  # only one probe at a time
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    clock.now += 10
    breaker.before_call()
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED
    assert changes == [
        BreakerState.OPEN,
        BreakerState.HALF_OPEN,
        BreakerState.OPEN,
        BreakerState.HALF_OPEN,
        BreakerState.CLOSED,
    ]


def test_successes_reset_the_failure_count() -> None:
    breaker = CircuitBreaker(threshold=3, cooldown=10)
    for _ in range(10):
        breaker.record_failure()
        breaker.record_failure()
        breaker.record_success()
    assert breaker.state is BreakerState.CLOSED


async def test_open_breaker_makes_no_calls() -> None:
    flaky = Flaky(100, 500)
    c = client(flaky, breaker=CircuitBreaker(threshold=2, cooldown=60))
    for _ in range(5):
        with pytest.raises(UpstreamUnavailable):
            await c.get("/visits", CREDS, endpoint="GET /visits")
    assert flaky.calls == 2
    await c.aclose()
