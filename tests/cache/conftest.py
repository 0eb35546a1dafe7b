"""Every cache backend, so one contract suite runs against each of them."""

from collections.abc import AsyncIterator

import pytest

from gateway.cache import AsyncCache, MemoryCache, RedisCache
from tests.redis_server import RedisServer


@pytest.fixture(params=["memory", "redis"])
async def cache(request: pytest.FixtureRequest) -> AsyncIterator[AsyncCache]:
    backend: AsyncCache
    if request.param == "redis":
        server: RedisServer = request.getfixturevalue("redis_server")
        server.flush()
        backend = RedisCache(server.url, namespace="contract")
    else:
        backend = MemoryCache(maxsize=100)
    yield backend
    await backend.aclose()
