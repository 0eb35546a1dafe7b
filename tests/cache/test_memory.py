"""MemoryCache specifics beyond the shared contract: it stays bounded."""

from gateway.cache import MemoryCache


async def test_bounded_by_maxsize() -> None:
    cache = MemoryCache(maxsize=3)
    for i in range(10):
        await cache.set(f"k{i}", b"v", ttl=30)
    assert len(cache) == 3
    assert await cache.get("k9") == b"v"
    assert await cache.get("k0") is None
