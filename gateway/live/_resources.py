"""What can be watched (a visit, the caller's current visit, a room's walk-in queue) and how
one poll of it reads VSee: through a fresh set of the caller's loaders, like any query."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, cast

from gateway.loaders import RequestLoaders
from gateway.upstream import Credentials, UpstreamClient

Kind = Literal["visit", "current", "room_queue"]

# VSee's visit statuses (see the sandbox's _inferred.py): 10 a walk-in waiting, 20 scheduled or
# an e-consult awaiting a provider, 30 in progress; 40 completed and 50 cancelled are inferred.
WAITING, SCHEDULED, IN_PROGRESS = 10, 20, 30
ACTIVE_STATUSES = frozenset({WAITING, IN_PROGRESS})
CLOSED_STATUSES = frozenset({40, 50})
WALK_IN = 1
# The longest queue one poll reads (one GET /visits page).
QUEUE_LIMIT = 100


@dataclass(frozen=True, slots=True)
class Resource:
    """One thing a poller reads; ``name`` is its part of every key (never a credential)."""

    kind: Kind
    key: str = ""

    @classmethod
    def visit(cls, visit_id: str) -> Resource:
        return cls("visit", visit_id)

    @classmethod
    def current(cls) -> Resource:
        return cls("current")

    @classmethod
    def room_queue(cls, room_code: str) -> Resource:
        return cls("room_queue", room_code)

    @classmethod
    def from_name(cls, name: str) -> Resource:
        """The resource a channel names (``name``'s inverse); an unknown kind matches nothing."""
        kind, _, key = name.partition(":")
        return cls(cast(Kind, kind), key)

    @property
    def name(self) -> str:
        return f"{self.kind}:{self.key}"

    async def fetch(self, client: UpstreamClient, credentials: Credentials) -> object:
        """VSee's answer for this resource, read with ``credentials`` (one call)."""
        loaders = RequestLoaders(client, credentials)
        if self.kind == "visit":
            return await loaders.visit.load(self.key)
        if self.kind == "current":
            return await loaders.current_visit()
        rows, _ = await loaders.visits_page(
            {
                "type": WALK_IN,
                "status": WAITING,
                "room_code": self.key,
                "page": 1,
                "limit": QUEUE_LIMIT,
            }
        )
        return rows


def status_of(raw: object) -> int | None:
    if not isinstance(raw, dict):
        return None
    try:
        return int(raw.get("status"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def is_active(resource: Resource, value: object) -> bool:
    """Whether what was read is moving soon: a visit waiting or in progress, a current visit,
    a non-empty queue. Active resources are polled at the short interval."""
    if resource.kind == "room_queue":
        return bool(value)
    if resource.kind == "current":
        return value is not None
    return status_of(value) in ACTIVE_STATUSES
