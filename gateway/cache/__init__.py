"""Caches shared across requests: one async interface, its backends, and single flight."""

from collections.abc import Callable

from ._base import AsyncCache, DistributedLocks
from ._flight import SingleFlight
from ._memory import MemoryCache
from ._redis import RedisCache

__all__ = [
    "AsyncCache",
    "DistributedLocks",
    "MemoryCache",
    "RedisCache",
    "SingleFlight",
    "open_cache",
]


def open_cache(
    url: str | None, *, maxsize: int, on_error: Callable[[str], None] | None = None
) -> AsyncCache:
    """The backend a URL names: ``redis://…`` or ``rediss://…`` for Redis, else in-memory."""
    if url and url.startswith(("redis://", "rediss://", "unix://")):
        return RedisCache(url, on_error=on_error)
    return MemoryCache(maxsize=maxsize)
