"""Root fields reading any object by its global id (`node`, `nodes`), through the domain loaders."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Annotated

import strawberry

from gateway.loaders import safe_segment, wants_provider_detail
from gateway.upstream import InvalidInput

from .context import Info
from .intakes import load_intake
from .node import Node, parse_global_id
from .people import load_provider
from .rooms import load_room
from .visits import load_visit

# A page of a client's cache at most; each id costs at most one upstream call.
MAX_NODES = 100


async def _none() -> Node | None:
    return None


def _load(info: Info, value: object, field: str) -> Awaitable[Node | None]:
    type_name, key = parse_global_id(value, field=field)
    if type_name == "Visit":
        return load_visit(info, safe_segment("visit id", key, field=field))
    if type_name == "Intake":
        return load_intake(info, safe_segment("intake id", key, field=field))
    if type_name == "Room":
        return load_room(info, safe_segment("room code", key, field=field))
    if type_name == "Provider":
        provider_id = safe_segment("provider id", key, field=field)
        return load_provider(info, provider_id, None, detail=wants_provider_detail(info))
    # A member has a global id but VSee has no endpoint to read one by it.
    return _none()


@strawberry.type
class NodeQueries:
    @strawberry.field(
        description="Any object by its global id, read through the same loaders as the typed "
        "root fields. Null for a member (VSee has no member endpoint)."
    )
    async def node(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="A global id.")],
    ) -> Node | None:
        return await _load(info, id, "id")

    @strawberry.field(
        description=f"Objects by their global ids, in the same order (at most {MAX_NODES}); "
        "an id that reads nothing is null in its place."
    )
    def nodes(
        self,
        info: Info,
        ids: Annotated[list[strawberry.ID], strawberry.argument(description="Global ids.")],
    ) -> list[Node | None]:
        if len(ids) > MAX_NODES:
            raise InvalidInput(f"at most {MAX_NODES} ids at once", field="ids")
        # One awaitable per item: the executor awaits them together and a failing id (bad,
        # refused, unavailable) is null with its own error at `nodes.i` while the others keep
        # their objects; asyncio.gather failed the whole list at the first error and left the
        # other loads calling VSee after the answer had gone.
        return [_item(info, value, f"ids.{i}") for i, value in enumerate(ids)]  # type: ignore[misc]


async def _item(info: Info, value: object, field: str) -> Node | None:
    return await _load(info, value, field)
