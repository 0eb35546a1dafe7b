"""Retries for reads only, the request deadline, and the circuit breaker."""

import asyncio

import httpx
import pytest

from gateway.upstream import (
    BreakerState,
    Bulkhead,
    CircuitBreaker,
    Credentials,
    Failure,
    InvalidInput,
    Overloaded,
    Retry,
    UpstreamClient,
    UpstreamRejected,
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
    probe = breaker.before_call()  # the probe
    with pytest.raises(UpstreamUnavailable):
        breaker.before_call()  # only one probe at a time
    breaker.record_failure(probe)
    assert breaker.state is BreakerState.OPEN
    clock.now += 10
    probe = breaker.before_call()
    breaker.record_success(probe)
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
    flaky = Flaky(100, None)
    c = client(flaky, breaker=CircuitBreaker(threshold=2, cooldown=60))
    for _ in range(5):
        with pytest.raises(UpstreamUnavailable):
            await c.get("/visits", CREDS, endpoint="GET /visits")
    assert flaky.calls == 2
    await c.aclose()


def test_a_probe_that_ends_without_an_outcome_frees_the_breaker() -> None:
    clock = Clock()
    breaker = CircuitBreaker(threshold=1, cooldown=10, clock=clock, probe_ttl=30)
    breaker.record_failure()
    clock.now += 10
    probe = breaker.before_call()
    breaker.release(probe)  # cancelled, or out of budget before it was sent
    assert breaker.before_call()  # the next caller may probe at once


def test_a_vanished_probe_expires_on_its_own() -> None:
    clock = Clock()
    breaker = CircuitBreaker(threshold=1, cooldown=10, clock=clock, probe_ttl=30)
    breaker.record_failure()
    clock.now += 10
    stale = breaker.before_call()
    with pytest.raises(UpstreamUnavailable):
        breaker.before_call()
    clock.now += 30
    fresh = breaker.before_call()
    assert fresh != stale
    breaker.release(stale)  # the old lease ending late does not free the new probe
    with pytest.raises(UpstreamUnavailable):
        breaker.before_call()
    breaker.record_success(fresh)
    assert breaker.state is BreakerState.CLOSED


def test_one_scope_cannot_open_the_shared_breaker_with_answers() -> None:
    breaker = CircuitBreaker(threshold=3, cooldown=10, min_scopes=2)
    for _ in range(50):
        breaker.record_failure(kind=Failure.ANSWER, scope="attacker")
    assert breaker.state is BreakerState.CLOSED
    breaker.record_failure(kind=Failure.ANSWER, scope="someone-else")
    assert breaker.state is BreakerState.OPEN


async def test_a_huge_cursor_page_from_one_member_leaves_others_served() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.headers["X-AccountCode"] == "attacker":
            return httpx.Response(500, json={"code": 500, "message": "boom"})
        return httpx.Response(200, json={"data": []})

    c = client(handler, breaker=CircuitBreaker(threshold=5, cooldown=60))
    attacker = Credentials(token="t", account_code="attacker")
    for _ in range(20):
        with pytest.raises(UpstreamUnavailable):
            await c.get("/visits", attacker, endpoint="GET /visits")
    assert (await c.get("/visits", CREDS, endpoint="GET /visits")).data == []
    await c.aclose()


async def test_the_callers_own_deadline_never_counts_against_vsee() -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        # What a real transport does when the read budget (cut to the deadline) runs out.
        await asyncio.sleep(request.extensions["timeout"]["read"])
        raise httpx.ReadTimeout("timed out", request=request)

    breaker = CircuitBreaker(threshold=2, cooldown=60)
    c = UpstreamClient(
        "https://vsee.test",
        transport=httpx.MockTransport(slow),
        retry=Retry(attempts=1),
        breaker=breaker,
    )
    for _ in range(5):
        with deadline_scope(0.02), pytest.raises(UpstreamTimeout, match="ran out of time"):
            await c.get("/visits", CREDS, endpoint="GET /visits")
    assert breaker.state is BreakerState.CLOSED
    await c.aclose()


async def test_a_cancelled_probe_releases_its_lease() -> None:
    started = asyncio.Event()

    async def hang(request: httpx.Request) -> httpx.Response:
        started.set()
        await asyncio.sleep(60)
        raise AssertionError("unreachable")

    clock = Clock()
    breaker = CircuitBreaker(threshold=1, cooldown=10, clock=clock)
    breaker.record_failure()
    clock.now += 10
    c = UpstreamClient("https://vsee.test", transport=httpx.MockTransport(hang), breaker=breaker)
    task = asyncio.create_task(c.get("/visits", CREDS, endpoint="GET /visits"))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert breaker.before_call()  # not stuck half-open: the next call probes
    await c.aclose()


async def test_a_probe_out_of_budget_before_sending_releases_its_lease() -> None:
    clock = Clock()
    breaker = CircuitBreaker(threshold=1, cooldown=10, clock=clock)
    breaker.record_failure()
    clock.now += 10
    calls = Flaky(0)
    c = client(calls, breaker=breaker)
    with deadline_scope(0.000001):
        await asyncio.sleep(0.001)
        with pytest.raises(UpstreamTimeout):
            await c.get("/visits", CREDS, endpoint="GET /visits")
    assert await c.get("/visits", CREDS, endpoint="GET /visits")
    assert breaker.state is BreakerState.CLOSED
    await c.aclose()


async def test_a_credential_no_http_header_can_carry_is_refused_before_the_breaker() -> None:
    clock = Clock()
    breaker = CircuitBreaker(threshold=1, cooldown=10, clock=clock)
    breaker.record_failure()
    clock.now += 10
    calls = Flaky(0)
    c = client(calls, breaker=breaker)
    for token in ("t\x7f", "tök"):
        with pytest.raises(InvalidInput):
            await c.get("/visits", Credentials(token=token, account_code="a"), endpoint="GET /x")
    assert await c.get("/visits", CREDS, endpoint="GET /visits")
    assert breaker.state is BreakerState.CLOSED
    await c.aclose()


async def test_reads_are_not_retried_after_an_ambiguous_failure() -> None:
    calls = 0

    def reset(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        raise httpx.RemoteProtocolError("peer closed mid-body", request=request)

    c = client(reset)
    with pytest.raises(UpstreamUnavailable):
        await c.get("/visits", CREDS, endpoint="GET /visits")
    assert calls == 1
    await c.aclose()


async def test_bulkhead_bounds_calls_in_flight_and_waits_within_the_deadline() -> None:
    in_flight = peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return httpx.Response(200, json={"data": []})

    c = UpstreamClient(
        "https://vsee.test", transport=httpx.MockTransport(handler), bulkhead=Bulkhead(3, 100)
    )
    await asyncio.gather(*(c.get("/v", CREDS, endpoint="GET /v") for _ in range(30)))
    assert peak == 3
    # A full queue is refused at once as OVERLOADED, never blamed on VSee.
    tight = UpstreamClient(
        "https://vsee.test", transport=httpx.MockTransport(handler), bulkhead=Bulkhead(1, 1)
    )
    results = await asyncio.gather(
        *(tight.get("/v", CREDS, endpoint="GET /v") for _ in range(5)), return_exceptions=True
    )
    refused = [r for r in results if isinstance(r, Overloaded)]
    assert len(refused) == 3
    assert refused[0].code == "OVERLOADED"
    assert tight.breaker.state is BreakerState.CLOSED
    await c.aclose()
    await tight.aclose()


async def test_waits_for_the_gateways_own_pool_never_count_against_vsee() -> None:
    def pool_full(request: httpx.Request) -> httpx.Response:
        raise httpx.PoolTimeout("no connection free", request=request)

    breaker = CircuitBreaker(threshold=2, cooldown=60)
    c = client(pool_full, breaker=breaker)
    for _ in range(5):
        with pytest.raises(UpstreamUnavailable):
            await c.get("/visits", CREDS, endpoint="GET /visits")
    assert breaker.state is BreakerState.CLOSED
    await c.aclose()


async def test_a_probe_answered_4xx_closes_the_breaker() -> None:
    clock = Clock()
    breaker = CircuitBreaker(threshold=1, cooldown=10, clock=clock)
    breaker.record_failure()
    clock.now += 10
    c = client(Flaky(100, 404), breaker=breaker)
    with pytest.raises(UpstreamRejected):
        await c.get("/visits/1", CREDS, endpoint="GET /visits/{id}")
    assert breaker.state is BreakerState.CLOSED
    await c.aclose()
