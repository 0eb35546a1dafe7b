"""Caches shared across requests: one async interface, its backends, and single flight."""

from ._base import AsyncCache, DistributedLocks, ReservationStore, StoreUnavailable
from ._flight import SingleFlight
from ._memory import MemoryCache
from ._redis import RedisCache

__all__ = [
    "AsyncCache",
    "DistributedLocks",
    "MemoryCache",
    "RedisCache",
    "ReservationStore",
    "SingleFlight",
    "StoreUnavailable",
]
