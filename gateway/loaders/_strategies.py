"""Fetching strategies: which loader answers a selection, the cheapest call first."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from ._loaders import Raw, RequestLoaders
from ._selection import Info, Requirements, lacks, selected_names

# What GET /rooms/{code}/providers tells of each provider. A selection within these is served
# from the room's list (one call for all of them); anything more needs each provider's detail.
PROVIDER_LIST_FIELDS = frozenset(
    {
        "__typename",
        "id",
        "databaseId",
        "code",
        "username",
        "firstName",
        "lastName",
        "fullName",
        "title",
        "suffix",
        "subtype",
        "vseeId",
        "photo",
        "status",
        "statusCode",
        "shortBio",
    }
)


def wants_provider_detail(info: Info) -> bool:
    """Whether the providers being resolved are asked for more than their room's list holds."""
    return not selected_names(info) <= PROVIDER_LIST_FIELDS


async def provider_raw(
    loaders: RequestLoaders, provider_id: str, room_code: str | None, *, detail: bool
) -> Raw | None:
    """A provider through the cheapest call that answers what the query selected."""
    if room_code is None:
        listed = await loaders.provider_anywhere(provider_id)
        if listed is None:
            return None
        if not detail:
            return listed
        room_code = str(listed["_room_code"])
    elif not detail:
        for row in await loaders.room_providers.load(room_code):
            if str(row.get("id")) == provider_id:
                return row
        # Not in the room's list: the detail call gives VSee's own answer (usually a 404).
    return await loaders.provider.load((room_code, provider_id))


async def complete_rows(
    loaders: RequestLoaders,
    rows: list[Raw],
    needed: Requirements,
    id_of: Callable[[Raw], str | None],
) -> list[tuple[Raw, bool] | Exception]:
    """A page's rows, each with whether it is now its detail answer: rows lacking a key the
    selection needs are read through the visit loader (one batched call per distinct visit),
    the others cost nothing more. A row whose detail read failed is that failure, so that row
    alone answers with the coded error and the others keep their data."""
    todo: list[tuple[int, str]] = []
    for i, row in enumerate(rows):
        visit_id = id_of(row)
        if visit_id is not None and lacks(row, needed):
            todo.append((i, visit_id))
    if not todo:
        return [(row, False) for row in rows]
    details = await asyncio.gather(
        *(loaders.complete_visit(rows[i], vid) for i, vid in todo), return_exceptions=True
    )
    completed: dict[int, tuple[Raw, bool] | Exception] = {}
    for (i, _), detail in zip(todo, details, strict=True):
        if isinstance(detail, BaseException) and not isinstance(detail, Exception):
            raise detail  # cancellation and exits are not a row's failure
        completed[i] = detail if isinstance(detail, Exception) else (detail, True)
    return [completed.get(i, (row, False)) for i, row in enumerate(rows)]
