"""Data access for resolvers: per-request loaders and the shared availability cache."""

from ._availability import AvailabilityQuery, AvailabilityService
from ._idempotency import IdempotencyStore
from ._loaders import Raw, RequestLoaders
from ._paths import InvalidId, safe_segment
from ._writes import RequestWrites

__all__ = [
    "AvailabilityQuery",
    "AvailabilityService",
    "IdempotencyStore",
    "InvalidId",
    "Raw",
    "RequestLoaders",
    "RequestWrites",
    "safe_segment",
]
