"""Caches shared across requests: one async interface, its backends, and single flight."""

from ._base import AsyncCache
from ._flight import SingleFlight
from ._memory import MemoryCache

__all__ = ["AsyncCache", "MemoryCache", "SingleFlight"]
