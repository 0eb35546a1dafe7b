"""Failure classification over real sockets, through the aiohttp and the httpx transports.

Each fault is injected by the sandbox (or, for a refused connection, by a port nobody listens
on) and read back by the real client: what VSee may have seen decides the error, the retry,
the breaker and the fate of a keyed write.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from gateway.cache import MemoryCache
from gateway.loaders import AvailabilityQuery, AvailabilityService
from gateway.upstream import (
    BreakerState,
    CircuitBreaker,
    Credentials,
    OutcomeUnknown,
    Retry,
    Timeouts,
    TransportName,
    UpstreamBadResponse,
    UpstreamClient,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from tests.conftest import MEMBER
from tests.redis_server import RedisServer
from tests.servers import Gateway, Sandbox, free_port, gateway_command, wait_until_healthy

CREDS = Credentials(token=MEMBER, account_code="vclinic")
TRANSPORTS: list[TransportName] = ["aiohttp", "httpx"]
INTAKE = [("reason_for_visit", "fault test")]


@pytest.fixture
def fresh(upstream: Sandbox) -> Iterator[Sandbox]:
    upstream.reset()
    upstream.clear_log()
    yield upstream
    upstream.reset()


@pytest.fixture(params=TRANSPORTS)
async def client(request: pytest.FixtureRequest, fresh: Sandbox) -> AsyncIterator[UpstreamClient]:
    c = UpstreamClient(
        fresh.api_url,
        transport=request.param,
        timeouts=Timeouts(connect=1.0, read=0.5),
        retry=Retry(attempts=3, backoff=0.001),
    )
    yield c
    await c.aclose()


def calls(sandbox: Sandbox, route: str) -> int:
    return sandbox.counts().get(route, 0)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_refused_connection_is_not_sent_retried_and_unavailable(
    transport: TransportName,
) -> None:
    # Nobody listens on this port: the kernel refuses, nothing reaches VSee.
    breaker = CircuitBreaker(threshold=3, cooldown=60)
    c = UpstreamClient(
        f"http://127.0.0.1:{free_port()}",
        transport=transport,
        retry=Retry(attempts=3, backoff=0.001),
        breaker=breaker,
    )
    with pytest.raises(UpstreamUnavailable) as info:
        await c.get("/visits", CREDS, endpoint="GET /visits")
    # Not UPSTREAM_TIMEOUT (what httpx-aiohttp's ConnectTimeout mapping made of it).
    assert type(info.value) is UpstreamUnavailable
    assert info.value.code == "UPSTREAM_UNAVAILABLE"
    # Three attempts, each a connection failure: the breaker opened on the third.
    assert breaker.state is BreakerState.OPEN
    with pytest.raises(UpstreamUnavailable, match="not sent"):
        await with_fresh_breaker(c).post("/intakes", CREDS, endpoint="POST /intakes", form=INTAKE)
    await c.aclose()


def with_fresh_breaker(c: UpstreamClient) -> UpstreamClient:
    """The same client with a fresh breaker, to see a write's own classification."""
    c.breaker = CircuitBreaker(threshold=100)
    return c


async def test_reset_mid_body_read_is_not_retried(client: UpstreamClient, fresh: Sandbox) -> None:
    fresh.faults(misbehave={"GET /rooms": "reset"})
    with pytest.raises(UpstreamUnavailable) as info:
        await client.get("/rooms", CREDS, endpoint="GET /rooms")
    assert info.value.code == "UPSTREAM_UNAVAILABLE"
    assert calls(fresh, "GET /rooms") == 1  # sent, maybe seen: never sent again


async def test_reset_mid_body_write_is_an_unknown_outcome(
    client: UpstreamClient, fresh: Sandbox
) -> None:
    fresh.faults(misbehave={"POST /intakes": "reset"})
    with pytest.raises(OutcomeUnknown) as info:
        await client.post("/intakes", CREDS, endpoint="POST /intakes", form=INTAKE)
    assert info.value.code == "OUTCOME_UNKNOWN"
    assert calls(fresh, "POST /intakes") == 1


async def test_a_stalled_body_is_a_timeout_and_never_retried(
    client: UpstreamClient, fresh: Sandbox
) -> None:
    fresh.faults(misbehave={"GET /rooms": "stall", "POST /intakes": "stall"}, stall_ms=3000)
    with pytest.raises(UpstreamTimeout) as read:
        await client.get("/rooms", CREDS, endpoint="GET /rooms")
    assert read.value.code == "UPSTREAM_TIMEOUT"
    with pytest.raises(OutcomeUnknown):
        await client.post("/intakes", CREDS, endpoint="POST /intakes", form=INTAKE)
    assert calls(fresh, "GET /rooms") == 1
    assert calls(fresh, "POST /intakes") == 1


async def test_html_with_200_is_a_coded_bad_response(
    client: UpstreamClient, fresh: Sandbox
) -> None:
    fresh.faults(misbehave={"GET /rooms": "html"})
    with pytest.raises(UpstreamBadResponse) as info:
        await client.get("/rooms", CREDS, endpoint="GET /rooms")
    assert info.value.code == "UPSTREAM_BAD_RESPONSE"
    assert client.bad_responses == 1


async def test_503_with_a_body_retries_reads_but_never_writes(
    client: UpstreamClient, fresh: Sandbox
) -> None:
    fresh.faults(misbehave={"GET /rooms": "unavailable", "POST /intakes": "unavailable"})
    with pytest.raises(UpstreamUnavailable):
        await client.get("/rooms", CREDS, endpoint="GET /rooms")
    with pytest.raises(UpstreamUnavailable, match="503"):
        await client.post("/intakes", CREDS, endpoint="POST /intakes", form=INTAKE)
    assert calls(fresh, "GET /rooms") == 3
    assert calls(fresh, "POST /intakes") == 1


async def test_cancelling_a_breaker_probe_does_not_stick_the_breaker(
    client: UpstreamClient, fresh: Sandbox
) -> None:
    clock = [100.0]
    client.breaker = CircuitBreaker(threshold=1, cooldown=10, clock=lambda: clock[0])
    client.breaker.record_failure()
    clock[0] += 10
    fresh.faults(latency_ms=2000)
    probe = asyncio.create_task(client.get("/rooms", CREDS, endpoint="GET /rooms"))
    await asyncio.sleep(0.2)  # the probe is on the wire
    probe.cancel()
    with pytest.raises(asyncio.CancelledError):
        await probe
    fresh.faults()
    assert (await client.get("/rooms", CREDS, endpoint="GET /rooms")).data is not None
    assert client.breaker.state is BreakerState.CLOSED


async def test_a_cancelled_single_flight_leader_leaves_its_followers_served(
    client: UpstreamClient, fresh: Sandbox
) -> None:
    service = AvailabilityService(client, MemoryCache(), ttl=30)
    query = AvailabilityQuery(start=1_900_000_000, end=1_900_086_400)
    fresh.faults(latency_ms=300)
    leader = asyncio.create_task(service.slots(CREDS, query))
    await asyncio.sleep(0.05)
    followers = [asyncio.create_task(service.slots(CREDS, query)) for _ in range(3)]
    await asyncio.sleep(0.05)
    leader.cancel()
    answers = await asyncio.gather(*followers)
    assert all(answer == answers[0] for answer in answers)
    assert calls(fresh, "GET /availability") == 1


# -- through the gateway: keyed writes over the real transports ----------------------------

CREATE_INTAKE = """mutation($input: IntakeInput!) {
  createIntake(input: $input) { intakeId userErrors { code } } }"""


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_keyed_write_with_an_unknown_outcome_is_never_sent_again(
    make_gateway: Callable[..., Gateway], fresh: Sandbox, transport: str
) -> None:
    gateway = make_gateway(upstream_transport=transport)
    fresh.faults(misbehave={"POST /intakes": "reset"})
    key = {"Idempotency-Key": str(uuid.uuid4())}
    variables = {"input": {"reasonForVisit": "reset"}}
    for _ in range(3):
        body = gateway.query(CREATE_INTAKE, variables, token=MEMBER, headers=key)
        error = body["errors"][0]
        assert error["extensions"]["code"] == "OUTCOME_UNKNOWN"
    assert calls(fresh, "POST /intakes") == 1
    # A write refused before it is sent (503 from a proxy) frees the key for a retry.
    fresh.faults(misbehave={"POST /intakes": "unavailable"})
    other = {"Idempotency-Key": str(uuid.uuid4())}
    body = gateway.query(CREATE_INTAKE, variables, token=MEMBER, headers=other)
    assert body["errors"][0]["extensions"]["code"] == "UPSTREAM_UNAVAILABLE"
    fresh.faults()
    body = gateway.query(CREATE_INTAKE, variables, token=MEMBER, headers=other)
    assert body["data"]["createIntake"]["intakeId"]
    assert calls(fresh, "POST /intakes") == 3


def test_a_keyed_write_is_refused_while_redis_is_down(
    make_gateway: Callable[..., Gateway], fresh: Sandbox
) -> None:
    gateway = make_gateway(cache_url=f"redis://127.0.0.1:{free_port()}/0")
    key = {"Idempotency-Key": str(uuid.uuid4())}
    body = gateway.query(
        CREATE_INTAKE, {"input": {"reasonForVisit": "x"}}, token=MEMBER, headers=key
    )
    error = body["errors"][0]
    assert error["extensions"]["code"] == "IDEMPOTENCY_UNAVAILABLE"
    assert "was not sent" in error["message"]
    assert calls(fresh, "POST /intakes") == 0


def _gateway_process(upstream: Sandbox, redis_url: str) -> tuple[subprocess.Popen[bytes], Gateway]:
    port = free_port()
    process = subprocess.Popen(
        gateway_command("serve", "--port", str(port)),
        env={
            **os.environ,
            "VSEE_API_URL": upstream.api_url,
            "VSEE_CACHE_URL": redis_url,
            "VSEE_LOG_LEVEL": "warning",
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    handle = Gateway(f"http://127.0.0.1:{port}")
    wait_until_healthy(handle.url, process)
    return process, handle


def test_two_gateway_processes_racing_one_key_send_once(
    fresh: Sandbox, redis_server: RedisServer
) -> None:
    redis_server.flush()
    started = [_gateway_process(fresh, redis_server.url) for _ in range(2)]
    try:
        fresh.faults(latency_ms=400)
        key = {"Idempotency-Key": str(uuid.uuid4())}
        variables = {"input": {"reasonForVisit": "race"}}
        answers: list[dict[str, Any]] = []

        def send(gateway: Gateway) -> None:
            answers.append(gateway.query(CREATE_INTAKE, variables, token=MEMBER, headers=key))

        threads = [
            threading.Thread(target=send, args=(gateway,))
            for _, gateway in started
            for _ in range(2)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert len(answers) == 4
        ids = {answer["data"]["createIntake"]["intakeId"] for answer in answers}
        assert len(ids) == 1, answers
        assert None not in ids, answers
        assert calls(fresh, "POST /intakes") == 1
        # A different input under the same key, on either replica, is a conflict.
        body = started[1][1].query(
            CREATE_INTAKE, {"input": {"reasonForVisit": "other"}}, token=MEMBER, headers=key
        )
        assert body["errors"][0]["extensions"]["code"] == "CONFLICT"
    finally:
        fresh.faults()
        for process, gateway in started:
            gateway.http.close()
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_a_keyed_write_is_refused_by_workers_without_a_shared_store(
    make_gateway: Callable[..., Gateway], fresh: Sandbox
) -> None:
    """Before: `serve --workers 2` without VSEE_CACHE_URL kept each worker's reservations in
    its own memory; a retry on a new connection reached the other worker and one key made two
    intakes. A worker of such a run (VSEE_WORKERS > 1, no Redis) now refuses keyed writes."""
    gateway = make_gateway(workers=2)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    variables = {"input": {"reasonForVisit": "x"}}
    body = gateway.query(CREATE_INTAKE, variables, token=MEMBER, headers=key)
    error = body["errors"][0]
    assert error["extensions"]["code"] == "IDEMPOTENCY_UNAVAILABLE"
    assert "VSEE_CACHE_URL" in error["message"]
    assert calls(fresh, "POST /intakes") == 0
    # Without a key the write is the caller's own risk, as anywhere: sent once.
    body = gateway.query(CREATE_INTAKE, variables, token=MEMBER)
    assert body["data"]["createIntake"]["intakeId"]
    assert calls(fresh, "POST /intakes") == 1


def test_strangers_cannot_evict_idempotency_records_from_memory(
    make_gateway: Callable[..., Gateway], fresh: Sandbox
) -> None:
    """Before: the in-memory store was an LRU; each keyed mutation sent with a made-up token
    reserved a slot (evicting the oldest record) before VSee refused the token, so a stranger
    could flush members' records and a member's retry then created a second intake."""
    gateway = make_gateway(idempotency_cache_size=2)
    variables = {"input": {"reasonForVisit": "kept"}}
    keys = [{"Idempotency-Key": str(uuid.uuid4())} for _ in range(2)]
    ids = [
        gateway.query(CREATE_INTAKE, variables, token=MEMBER, headers=key)["data"]["createIntake"][
            "intakeId"
        ]
        for key in keys
    ]
    stranger = gateway.query(
        CREATE_INTAKE, variables, token="made-up", headers={"Idempotency-Key": "junk"}
    )
    # A full store refuses new reservations (as a noeviction Redis does) instead of evicting.
    assert stranger["errors"][0]["extensions"]["code"] == "IDEMPOTENCY_UNAVAILABLE"
    retried = gateway.query(CREATE_INTAKE, variables, token=MEMBER, headers=keys[0])
    assert retried["data"]["createIntake"]["intakeId"] == ids[0]
    assert calls(fresh, "POST /intakes") == 2
