"""RedisCache specifics: namespacing, TTLs kept by Redis, cross-replica locks, outages."""

import asyncio

import redis

from gateway.cache import RedisCache
from tests.redis_server import RedisServer
from tests.servers import free_port


async def test_keys_are_namespaced_and_expire_in_redis(redis_server: RedisServer) -> None:
    redis_server.flush()
    cache = RedisCache(redis_server.url, namespace="ns1")
    await cache.set("avail:scope:q", b"v", ttl=30)
    raw = redis.Redis(port=redis_server.port)
    try:
        assert raw.get("ns1:avail:scope:q") == b"v"
        assert 0 < raw.pttl("ns1:avail:scope:q") <= 30_000
    finally:
        raw.close()
    other = RedisCache(redis_server.url, namespace="ns2")
    assert await other.get("avail:scope:q") is None
    await cache.aclose()
    await other.aclose()


async def test_prefix_delete_treats_glob_characters_literally(redis_server: RedisServer) -> None:
    redis_server.flush()
    cache = RedisCache(redis_server.url)
    await cache.set("a*:1", b"x", ttl=30)
    await cache.set("ab:1", b"y", ttl=30)
    assert await cache.delete_prefix("a*:") == 1
    assert await cache.get("ab:1") == b"y"
    await cache.aclose()


async def test_one_lock_holder_at_a_time(redis_server: RedisServer) -> None:
    redis_server.flush()
    a, b = RedisCache(redis_server.url), RedisCache(redis_server.url)
    token = await a.acquire_lock("k", ttl=5)
    assert token
    assert await b.acquire_lock("k", ttl=5) is None
    await b.release_lock("k", "not-the-token")  # only the holder can release
    assert await b.acquire_lock("k", ttl=5) is None
    await a.release_lock("k", token)
    assert await b.acquire_lock("k", ttl=5)
    await a.aclose()
    await b.aclose()


async def test_locks_expire(redis_server: RedisServer) -> None:
    redis_server.flush()
    cache = RedisCache(redis_server.url)
    assert await cache.acquire_lock("k", ttl=0.1)
    await asyncio.sleep(0.2)
    assert await cache.acquire_lock("k", ttl=0.1)
    await cache.aclose()


async def test_an_outage_degrades_to_misses_and_is_reported() -> None:
    errors: list[str] = []
    dead = RedisCache(f"redis://127.0.0.1:{free_port()}/0", on_error=errors.append)
    assert await dead.get("k") is None
    await dead.set("k", b"v", ttl=30)
    assert await dead.delete_prefix("k") == 0
    assert await dead.ping() is False
    assert await dead.acquire_lock("k", ttl=1) == ""
    assert errors  # counted (the app turns these into gateway_cache_errors_total)
    assert errors[0] == "get"
    await dead.aclose()


async def test_a_booking_bumps_a_generation_and_scans_nothing(redis_server: RedisServer) -> None:
    import httpx

    from gateway.loaders import AvailabilityQuery, AvailabilityService
    from gateway.upstream import Credentials, UpstreamClient

    redis_server.flush()
    raw = redis.Redis(port=redis_server.port)
    raw.config_resetstat()
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(200, json={"data": [{"start": 1, "end": 2}]})

    client = UpstreamClient("https://vsee.test", transport=httpx.MockTransport(handler))
    cache = RedisCache(redis_server.url)
    avail = AvailabilityService(client, cache, ttl=30)
    alice = Credentials(token="a", account_code="vclinic")
    bob = Credentials(token="b", account_code="vclinic")
    query = AvailabilityQuery(start=1, end=2)
    try:
        await avail.slots(alice, query)
        await avail.slots(bob, query)
        await avail.invalidate(alice)
        await avail.slots(bob, query)  # another caller of the account misses after the write
        assert calls == 3
        stats = raw.info("commandstats")
        assert "cmdstat_scan" not in stats
        assert "cmdstat_keys" not in stats
    finally:
        raw.close()
        await cache.aclose()
        await client.aclose()


async def test_reservations_are_atomic_and_report_an_outage(redis_server: RedisServer) -> None:
    from gateway.cache import StoreUnavailable

    redis_server.flush()
    # A generous timeout: ten connections opened at once on a busy test machine.
    cache = RedisCache(redis_server.url, timeout=5.0)
    results = await asyncio.gather(*(cache.reserve("idem:k", b"%d" % i, 30) for i in range(10)))
    assert results.count(None) == 1
    holder = results.index(None)
    assert all(r == b"%d" % holder for r in results if r is not None)
    await cache.aclose()
    down = RedisCache(f"redis://127.0.0.1:{free_port()}/0")
    try:
        await down.reserve("idem:k", b"x", 30)
    except StoreUnavailable:
        pass
    else:
        raise AssertionError("a reservation against a dead Redis must raise")
    await down.aclose()
