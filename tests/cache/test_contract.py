"""The AsyncCache contract, run against every backend."""

import asyncio

from gateway.cache import AsyncCache


async def test_roundtrip(cache: AsyncCache) -> None:
    assert await cache.get("ns:a") is None
    await cache.set("ns:a", b"value", ttl=30)
    assert await cache.get("ns:a") == b"value"


async def test_overwrite_and_delete(cache: AsyncCache) -> None:
    await cache.set("ns:a", b"1", ttl=30)
    await cache.set("ns:a", b"2", ttl=30)
    assert await cache.get("ns:a") == b"2"
    await cache.delete("ns:a")
    await cache.delete("ns:missing")
    assert await cache.get("ns:a") is None


async def test_entries_expire(cache: AsyncCache) -> None:
    await cache.set("ns:short", b"x", ttl=0.2)
    await cache.set("ns:long", b"y", ttl=30)
    await asyncio.sleep(0.35)
    assert await cache.get("ns:short") is None
    assert await cache.get("ns:long") == b"y"


async def test_zero_ttl_stores_nothing(cache: AsyncCache) -> None:
    await cache.set("ns:none", b"x", ttl=0)
    assert await cache.get("ns:none") is None


async def test_delete_prefix_only_touches_that_prefix(cache: AsyncCache) -> None:
    await cache.set("avail:scope-a:q1", b"1", ttl=30)
    await cache.set("avail:scope-a:q2", b"2", ttl=30)
    await cache.set("avail:scope-b:q1", b"3", ttl=30)
    assert await cache.delete_prefix("avail:scope-a:") == 2
    assert await cache.get("avail:scope-a:q1") is None
    assert await cache.get("avail:scope-b:q1") == b"3"


async def test_binary_values_survive(cache: AsyncCache) -> None:
    blob = bytes(range(256))
    await cache.set("ns:bin", blob, ttl=30)
    assert await cache.get("ns:bin") == blob


async def test_ping(cache: AsyncCache) -> None:
    assert await cache.ping() is True
