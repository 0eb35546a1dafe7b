"""Data access for resolvers: per-request loaders and the shared availability cache."""

from ._availability import AvailabilityQuery, AvailabilityService
from ._loaders import Raw, RequestLoaders
from ._paths import InvalidId, safe_segment

__all__ = [
    "AvailabilityQuery",
    "AvailabilityService",
    "InvalidId",
    "Raw",
    "RequestLoaders",
    "safe_segment",
]
