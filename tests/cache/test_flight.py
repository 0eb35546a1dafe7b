"""Single flight: concurrent identical misses share one fetch; failures are not remembered."""

import asyncio

import pytest

from gateway.cache import SingleFlight
from gateway.upstream import UpstreamUnavailable


async def test_concurrent_callers_share_one_fetch() -> None:
    flight: SingleFlight[int] = SingleFlight()
    calls = 0

    async def fetch() -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        return 42

    results = await asyncio.gather(*(flight.run("k", fetch) for _ in range(20)))
    assert results == [42] * 20
    assert calls == 1
    assert len(flight) == 0


async def test_different_keys_fetch_separately() -> None:
    flight: SingleFlight[str] = SingleFlight()

    async def fetch_for(key: str) -> str:
        await asyncio.sleep(0.01)
        return key

    a, b = await asyncio.gather(
        flight.run("a", lambda: fetch_for("a")), flight.run("b", lambda: fetch_for("b"))
    )
    assert (a, b) == ("a", "b")


async def test_failure_reaches_every_waiter_and_is_forgotten() -> None:
    flight: SingleFlight[int] = SingleFlight()
    calls = 0

    async def failing() -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.02)
        raise RuntimeError("upstream down")

    results = await asyncio.gather(
        *(flight.run("k", failing) for _ in range(5)), return_exceptions=True
    )
    assert all(isinstance(r, RuntimeError) for r in results)
    assert calls == 1

    async def ok() -> int:
        return 7

    assert await flight.run("k", ok) == 7


async def test_a_cancelled_leader_leaves_its_followers_served() -> None:
    flight: SingleFlight[int] = SingleFlight()
    calls = 0

    async def slow() -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        return 1

    leader = asyncio.create_task(flight.run("k", slow))
    await asyncio.sleep(0)
    follower = asyncio.create_task(flight.run("k", slow))
    await asyncio.sleep(0)
    leader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leader
    assert await follower == 1
    assert calls == 1
    assert len(flight) == 0


async def test_each_waiter_waits_within_its_own_budget() -> None:
    flight: SingleFlight[int] = SingleFlight()

    async def slow() -> int:
        await asyncio.sleep(0.1)
        return 2

    hasty = asyncio.create_task(flight.run("k", slow, within=0.01))
    patient = asyncio.create_task(flight.run("k", slow, within=5))
    with pytest.raises(TimeoutError):
        await hasty
    assert await patient == 2


async def test_each_waiter_gets_its_own_copy_of_a_failure() -> None:
    flight: SingleFlight[int] = SingleFlight()

    async def failing() -> int:
        await asyncio.sleep(0.01)
        raise UpstreamUnavailable("VSee answered 503")

    results = await asyncio.gather(
        *(flight.run("k", failing) for _ in range(3)), return_exceptions=True
    )
    assert all(isinstance(r, UpstreamUnavailable) for r in results)
    assert len({id(r) for r in results}) == 3
    assert all(
        r.code == "UPSTREAM_UNAVAILABLE" for r in results if isinstance(r, UpstreamUnavailable)
    )


async def test_a_shared_refusal_with_keyword_arguments_reaches_every_waiter() -> None:
    from gateway.upstream import NotFound

    flight: SingleFlight[int] = SingleFlight()

    async def missing() -> int:
        await asyncio.sleep(0.01)
        raise NotFound("no such room", status=404, endpoint="GET /rooms/{code}")

    results = await asyncio.gather(
        *(flight.run("k", missing) for _ in range(3)), return_exceptions=True
    )
    assert all(isinstance(r, NotFound) for r in results), results
    assert {r.status for r in results if isinstance(r, NotFound)} == {404}
