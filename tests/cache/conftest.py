"""Every cache backend, so one contract suite runs against each of them."""

from collections.abc import AsyncIterator

import pytest

from gateway.cache import AsyncCache, MemoryCache


@pytest.fixture(params=["memory"])
async def cache(request: pytest.FixtureRequest) -> AsyncIterator[AsyncCache]:
    backend: AsyncCache = MemoryCache(maxsize=100)
    yield backend
    await backend.aclose()
