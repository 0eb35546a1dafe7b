"""AvailabilityService: scoped keys, single flight, TTL, no caching of failures, invalidation."""

import asyncio

import httpx
import pytest

from gateway.cache import MemoryCache
from gateway.loaders import AvailabilityQuery, AvailabilityService
from gateway.upstream import (
    Credentials,
    Retry,
    UpstreamClient,
    UpstreamTimeout,
    UpstreamUnavailable,
    deadline_scope,
)

ALICE = Credentials(token="alice-token", account_code="vclinic")
BOB = Credentials(token="bob-token", account_code="vclinic")
QUERY = AvailabilityQuery(start=1_900_000_000, end=1_900_086_400, duration=15, room_code="r1")


class Upstream:
    """A MockTransport handler that counts calls and can be told to fail."""

    def __init__(self) -> None:
        self.calls: list[httpx.Request] = []
        self.fail = False

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        await asyncio.sleep(0.02)
        if self.fail:
            return httpx.Response(503, json={"code": 503, "message": "down"})
        token = request.headers["x-apitoken"]
        return httpx.Response(
            200,
            json={"data": [{"start": 1_900_000_000, "end": 1_900_000_900, "providers": [token]}]},
        )


def service(upstream: Upstream, ttl: float = 30) -> AvailabilityService:
    client = UpstreamClient(
        "https://vsee.test", transport=httpx.MockTransport(upstream), retry=Retry(attempts=1)
    )
    return AvailabilityService(client, MemoryCache(), ttl)


async def test_cached_within_ttl_and_sends_the_parameters() -> None:
    upstream = Upstream()
    avail = service(upstream)
    first = await avail.slots(ALICE, QUERY)
    second = await avail.slots(ALICE, QUERY)
    assert first == second
    assert len(upstream.calls) == 1
    params = dict(upstream.calls[0].url.params)
    assert params == {
        "start": "1900000000",
        "end": "1900086400",
        "duration": "15",
        "room_code": "r1",
    }


async def test_concurrent_misses_share_one_call() -> None:
    upstream = Upstream()
    avail = service(upstream)
    results = await asyncio.gather(*(avail.slots(ALICE, QUERY) for _ in range(25)))
    assert len({str(r) for r in results}) == 1
    assert len(upstream.calls) == 1


async def test_callers_never_share_entries() -> None:
    upstream = Upstream()
    avail = service(upstream)
    alice = await avail.slots(ALICE, QUERY)
    bob = await avail.slots(BOB, QUERY)
    assert alice[0]["providers"] == ["alice-token"]
    assert bob[0]["providers"] == ["bob-token"]
    assert len(upstream.calls) == 2


async def test_failures_are_not_cached() -> None:
    upstream = Upstream()
    avail = service(upstream)
    upstream.fail = True
    with pytest.raises(UpstreamUnavailable):
        await avail.slots(ALICE, QUERY)
    upstream.fail = False
    assert await avail.slots(ALICE, QUERY)
    assert len(upstream.calls) == 2


async def test_ttl_expiry_and_invalidation() -> None:
    upstream = Upstream()
    avail = service(upstream, ttl=0.2)
    await avail.slots(ALICE, QUERY)
    await asyncio.sleep(0.3)
    await avail.slots(ALICE, QUERY)
    assert len(upstream.calls) == 2
    await avail.slots(BOB, QUERY)
    await avail.invalidate(ALICE)
    await avail.slots(ALICE, QUERY)
    # Bob is another caller of the same account: Alice's booking changed his slots too.
    await avail.slots(BOB, QUERY)
    assert len(upstream.calls) == 5
    await avail.slots(BOB, QUERY)
    assert len(upstream.calls) == 5


async def test_a_write_reaches_every_caller_of_the_account_but_no_other_account() -> None:
    upstream = Upstream()
    avail = service(upstream)
    carol = Credentials(token="carol-token", account_code="otherclinic")
    for who in (ALICE, BOB, carol):
        await avail.slots(who, QUERY)
    await avail.invalidate(ALICE)
    for who in (ALICE, BOB, carol):
        await avail.slots(who, QUERY)
    assert len(upstream.calls) == 5  # Alice and Bob again; Carol's entry is untouched


async def test_a_fetch_in_flight_during_a_write_is_not_cached_after_it() -> None:
    upstream = Upstream()
    avail = service(upstream)
    before = asyncio.create_task(avail.slots(ALICE, QUERY))
    await asyncio.sleep(0.005)  # the fetch has been sent
    await avail.invalidate(BOB)  # a booking in the account while it is in flight
    await before
    await avail.slots(ALICE, QUERY)
    assert len(upstream.calls) == 2  # the pre-write answer was not cached for later


async def test_a_waiter_keeps_its_own_deadline_and_the_fetch_survives_its_leader() -> None:
    upstream = Upstream()
    avail = service(upstream)
    leader = asyncio.create_task(avail.slots(ALICE, QUERY))
    await asyncio.sleep(0)
    follower = asyncio.create_task(avail.slots(ALICE, QUERY))
    await asyncio.sleep(0.005)
    leader.cancel()
    assert (await follower)[0]["providers"] == ["alice-token"]
    assert len(upstream.calls) == 1
    with deadline_scope(0.001), pytest.raises(UpstreamTimeout):
        await avail.slots(ALICE, AvailabilityQuery(start=1, end=2))


def test_equal_questions_make_equal_keys() -> None:
    again = AvailabilityQuery(start=1_900_000_000, end=1_900_086_400, duration=15, room_code="r1")
    assert QUERY.key_part() == again.key_part()
    assert QUERY.key_part() != AvailabilityQuery(start=1, end=2).key_part()
    # Without a duration VSee uses the consultation's length: another question, another key,
    # and no `duration` parameter is sent.
    unsized = AvailabilityQuery(start=1_900_000_000, end=1_900_086_400, room_code="r1")
    assert QUERY.key_part() != unsized.key_part()
    assert "duration" not in {k for k, v in unsized.params().items() if v is not None}
