"""Live updates over VSee's poll-only API: shared, adaptive pollers behind GraphQL subscriptions."""

from ._hub import (
    LiveHub,
    LiveObserver,
    PollPolicy,
    Problem,
    Snapshot,
    SubscriptionLimit,
    Update,
)
from ._resources import ACTIVE_STATUSES, CLOSED_STATUSES, Resource, is_active
from ._shared import SharedPolls

__all__ = [
    "ACTIVE_STATUSES",
    "CLOSED_STATUSES",
    "LiveHub",
    "LiveObserver",
    "PollPolicy",
    "Problem",
    "Resource",
    "SharedPolls",
    "Snapshot",
    "SubscriptionLimit",
    "Update",
    "is_active",
]
