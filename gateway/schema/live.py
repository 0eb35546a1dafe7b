"""Subscriptions: a visit, the caller's current visit and a room's walk-in queue, live.

Resolvers only wire the shared pollers of ``gateway.live`` to the schema's types: every event
is the same ``Visit`` (or queue) a query answers, resolved through fresh per-event loaders
with the subscriber's own credentials. Which events reach the client (only those whose
selected data changed) is decided in ``GatewaySchema.stream``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated, Any, cast

import strawberry

from gateway.live import CLOSED_STATUSES, LiveHub, Problem, Resource, Snapshot
from gateway.live._hub import event_deadline
from gateway.live._resources import status_of
from gateway.loaders import VISIT_SPEC, Raw, complete_rows, needs, safe_segment
from gateway.upstream import GatewayError, MissingCredentials

from ._convert import as_id, as_int
from .context import Info
from .node import vsee_id
from .visits import Visit, _row_node


class SubscriptionsUnavailable(GatewayError):
    code = "SUBSCRIPTIONS_UNAVAILABLE"


@strawberry.type(
    description="A room's walk-in queue: the visits waiting (status 10, type walk-in) in the "
    "order they arrived (earliest `start` first). Inferred: read with GET /visits filtered by "
    "`type`, `status` and `room_code`, filters VSee's docs do not show; at most 100 visits."
)
class RoomQueue:
    room_code: str = strawberry.field(description="The room's code.")
    total_count: int = strawberry.field(description="How many walk-ins are waiting.")
    _rows: strawberry.Private[list[Raw]]

    @strawberry.field(
        description="The waiting visits, first in line first. What a row of VSee's list lacks "
        "of the selection is read from each visit's detail."
    )
    async def visits(self, info: Info) -> list[Visit | None]:
        done = await complete_rows(
            info.context.loaders, self._rows, needs(info, VISIT_SPEC), _visit_id
        )
        return [_row_node(row) for row in done]


def _visit_id(raw: Raw) -> str | None:
    return as_id(raw.get("id")) or as_id(raw.get("_id"))


def _queue_order(row: Raw) -> tuple[int, int]:
    return as_int(row.get("start")) or 0, as_int(row.get("id")) or 0


async def _updates(info: Info, resource: Resource) -> AsyncGenerator[Snapshot | Problem, None]:
    """The hub's updates for this subscriber; each event gets fresh loaders and a deadline."""
    context = info.context
    hub: LiveHub | None = context.services.live
    if hub is None:
        raise SubscriptionsUnavailable("Subscriptions are not available on this endpoint.")
    if context.credentials is None:
        raise MissingCredentials()
    async for update in hub.watch(context.credentials, resource, context.admit):
        if isinstance(update, Problem) and update.final:
            raise update.error
        context.fresh_loaders()
        event_deadline(hub.event_deadline)
        yield update


def _field_error(update: Problem) -> Any:
    # graphql-core completes an Exception value as this field's located error: one coded
    # error on the stream, and the subscription goes on.
    return cast(Any, update.error)


def _visit_event(info: Info, update: Snapshot | Problem) -> Any:
    """One event of a visit subscription: the visit, null when there is none, or the error."""
    if isinstance(update, Problem):
        return _field_error(update)
    raw = update.value
    if not isinstance(raw, dict):
        return None
    info.context.loaders.prime_visit(raw)
    return Visit.from_detail(raw)


@strawberry.type(
    description="Live updates. VSee has no push: the gateway polls it, once per credentials and "
    "resource however many subscribe (on every replica together with Redis), every few seconds "
    "while a visit waits or runs and less often when idle, and sends an event only when the "
    "data the subscription selected changed. Served on /graphql over WebSocket "
    "(graphql-transport-ws), GraphQL over SSE and multipart HTTP (Apollo Client's HttpLink)."
)
class Subscription:
    @strawberry.subscription(
        description="A visit now, then whenever a field the subscription selected changes. "
        "Completes after the event showing the visit closed (status 40 or 50, inferred: "
        "closed visits do not change). A visit the caller's credentials cannot read ends "
        "the subscription with NOT_FOUND or FORBIDDEN; VSee refusing the credentials with "
        "UNAUTHENTICATED."
    )
    async def visit_updated(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The visit's global id.")],
    ) -> AsyncGenerator[Visit | None, None]:
        visit_id = vsee_id("Visit", id, field="id")
        async for update in _updates(info, Resource.visit(visit_id)):
            yield _visit_event(info, update)
            if not isinstance(update, Problem) and status_of(update.value) in CLOSED_STATUSES:
                return

    @strawberry.subscription(
        description="For a member app: the caller's visit in progress (GET /visits/current) "
        "when it appears, whenever a selected field changes, and null when it ends. Never "
        "completes on its own."
    )
    async def current_visit_updated(self, info: Info) -> AsyncGenerator[Visit | None, None]:
        async for update in _updates(info, Resource.current()):
            yield _visit_event(info, update)

    @strawberry.subscription(
        description="For providers: a room's waiting walk-ins in order, now and whenever the "
        "selected data changes."
    )
    async def room_queue(
        self,
        info: Info,
        room_code: Annotated[str, strawberry.argument(description="The room's code.")],
    ) -> AsyncGenerator[RoomQueue, None]:
        code = safe_segment("room code", room_code, field="roomCode")
        async for update in _updates(info, Resource.room_queue(code)):
            if isinstance(update, Problem):
                yield _field_error(update)
                continue
            value = update.value
            listed = value if isinstance(value, list) else []
            rows = [row for row in listed if isinstance(row, dict)]
            rows.sort(key=_queue_order)
            yield RoomQueue(room_code=code, total_count=len(rows), _rows=rows)
