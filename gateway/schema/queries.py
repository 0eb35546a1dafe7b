"""Root query fields: what mobile screens and dashboards read."""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime
from typing import Annotated, cast

import strawberry

from gateway.loaders import AvailabilityQuery, Raw, safe_segment
from gateway.upstream import InvalidInput

from ._convert import as_datetime, as_id, as_int, as_list, to_epoch
from ._sources import lacks, needs
from .context import Info
from .enums import VisitStatusInput, VisitTypeInput
from .types import VISIT_SPEC, Intake, Room, Slot, Visit, load_intake, load_room, load_visit

MAX_AVAILABILITY_DAYS = 31


@strawberry.type(description="Paging state of a connection.")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type(description="A visit and where it stands in the list.")
class VisitEdge:
    cursor: str
    node: Visit


@strawberry.type(description="A page of visits.")
class VisitConnection:
    edges: list[VisitEdge]
    page_info: PageInfo
    total_count: int | None = strawberry.field(description="All matching visits, when VSee says.")

    @strawberry.field(description="The visits of this page, without cursors.")
    def nodes(self) -> list[Visit]:
        return [edge.node for edge in self.edges]


@strawberry.input(
    description="Filters of the visits list. Inferred: VSee's docs document no filters for "
    "GET /visits; these are sent as `type`, `status`, `member_id`, `provider_id`, `room_code`, "
    "`from` and `to`."
)
class VisitFilter:
    type: VisitTypeInput | None = None
    status: VisitStatusInput | None = None
    member_id: strawberry.ID | None = None
    provider_id: strawberry.ID | None = None
    room_code: str | None = None
    start_from: datetime | None = strawberry.field(default=None, description="Start at or after.")
    start_to: datetime | None = strawberry.field(default=None, description="Start before.")
    upcoming: bool | None = strawberry.field(
        default=None,
        description="true: only visits starting in the future; false: only past ones.",
    )


# Deeper than any list of visits gets; the cursor's number is checked before it becomes a page.
MAX_CURSOR_OFFSET = 1_000_000


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"visit:{offset}".encode()).decode()


def decode_cursor(cursor: str) -> int:
    try:
        kind, _, number = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        offset = int(number)
    except (ValueError, UnicodeDecodeError):
        offset = -1
        kind = ""
    # Bounded: an offset becomes VSee's `page`, and a huge one (10^28) made VSee answer 500.
    if kind != "visit" or not 0 <= offset <= MAX_CURSOR_OFFSET:
        raise InvalidInput("`after` is not a cursor this API gave out", field="after")
    return offset


def _filter_params(flt: VisitFilter | None) -> dict[str, str | int | None]:
    if flt is None:
        return {}
    start_from = to_epoch(flt.start_from) if flt.start_from else None
    start_to = to_epoch(flt.start_to) if flt.start_to else None
    if flt.upcoming is not None:
        now = int(datetime.now(tz=UTC).timestamp())
        if flt.upcoming:
            start_from = max(start_from or now, now)
        else:
            start_to = min(start_to or now, now)
    if start_from is not None and start_to is not None and start_from > start_to:
        raise InvalidInput("startFrom must not be after startTo", field="filter.startFrom")
    return {
        "type": cast(int, flt.type.value) if flt.type else None,
        "status": cast(int, flt.status.value) if flt.status else None,
        "member_id": safe_segment("member id", flt.member_id) if flt.member_id else None,
        "provider_id": safe_segment("provider id", flt.provider_id) if flt.provider_id else None,
        "room_code": safe_segment("room code", flt.room_code) if flt.room_code else None,
        "from": start_from,
        "to": start_to,
    }


async def _complete_rows(info: Info, rows: list[Raw]) -> list[Visit]:
    """The page's visits; rows lacking a key the selection needs are read through the visit
    loader (one batched call per distinct visit), the others cost nothing more."""
    needed = needs(info, VISIT_SPEC, ("nodes",), ("edges", "node"))
    loaders = info.context.loaders
    todo: list[tuple[int, str]] = []
    for i, row in enumerate(rows):
        visit_id = as_id(row.get("id")) or as_id(row.get("_id"))
        if visit_id is not None and lacks(row, needed):
            todo.append((i, visit_id))
    if not todo:
        return [Visit.from_raw(row) for row in rows]
    details = await asyncio.gather(*(loaders.complete_visit(rows[i], vid) for i, vid in todo))
    completed = {i: detail for (i, _), detail in zip(todo, details, strict=True)}
    return [
        Visit.from_detail(completed[i]) if i in completed else Visit.from_raw(row)
        for i, row in enumerate(rows)
    ]


@strawberry.type
class Query:
    @strawberry.field(description="One visit in full, by id.")
    async def visit(self, info: Info, id: strawberry.ID) -> Visit | None:
        return await load_visit(info, safe_segment("visit id", id))

    @strawberry.field(
        description="The caller's visits, a page at a time (`first`/`after`). Inferred: VSee's "
        "docs document no paging for GET /visits; the gateway sends `page`/`limit` and reads "
        "`total` when VSee answers one."
    )
    async def visits(
        self,
        info: Info,
        first: int = 20,
        after: str | None = None,
        filter: VisitFilter | None = None,
    ) -> VisitConnection:
        limit = info.context.services.max_page_size
        if not 1 <= first <= limit:
            raise InvalidInput(f"`first` must be between 1 and {limit}", field="first")
        offset = decode_cursor(after) + 1 if after else 0
        params = _filter_params(filter)
        loaders = info.context.loaders
        # VSee pages by (page, limit); an offset between page boundaries spans two pages.
        page, skip = divmod(offset, first)
        pages = [page + 1] if skip == 0 else [page + 1, page + 2]
        answers = await asyncio.gather(
            *(loaders.visits_page({**params, "page": p, "limit": first}) for p in pages)
        )
        rows: list[Raw] = [row for chunk, _ in answers for row in chunk][skip : skip + first]
        total = answers[0][1]
        nodes = await _complete_rows(info, rows)
        edges = [
            VisitEdge(cursor=encode_cursor(offset + i), node=node) for i, node in enumerate(nodes)
        ]
        # Without a total, a full last page is the only hint that more may follow.
        has_next = offset + len(rows) < total if total is not None else len(answers[-1][0]) == first
        return VisitConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=has_next,
                has_previous_page=offset > 0,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
            total_count=total,
        )

    @strawberry.field(
        description="The caller's visit in progress, or null (GET /visits/current; the shape of "
        'its answer, and of "none", are inferred: VSee\'s docs show no example).'
    )
    async def current_visit(self, info: Info) -> Visit | None:
        raw = await info.context.loaders.current_visit()
        # Inferred: GET /visits/current answers the detail shape (VSee's docs show no example).
        return None if raw is None else Visit.from_detail(raw)

    @strawberry.field(description="One intake by id.")
    async def intake(self, info: Info, id: strawberry.ID) -> Intake | None:
        return await load_intake(info, safe_segment("intake id", id))

    @strawberry.field(description="A room by code, with its providers and consultations.")
    async def room(self, info: Info, code: str) -> Room | None:
        return await load_room(info, safe_segment("room code", code))

    @strawberry.field(description="The account's rooms.")
    async def rooms(self, info: Info) -> list[Room]:
        return [Room.from_raw(raw) for raw in await info.context.loaders.rooms()]

    @strawberry.field(
        description="Open slots between `start` and `end` (at most 31 days), cached briefly."
    )
    async def availability(
        self,
        info: Info,
        start: datetime,
        end: datetime,
        duration_minutes: Annotated[
            int | None,
            strawberry.argument(
                description="Slot length in minutes, sent as `duration` only when given; "
                "without it VSee uses the consultation's own length."
            ),
        ] = None,
        room_code: Annotated[
            str | None,
            strawberry.argument(description="Only this room's slots (inferred VSee parameter)."),
        ] = None,
        provider_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(
                description="Only this provider's slots (inferred VSee parameter)."
            ),
        ] = None,
        member_id: strawberry.ID | None = None,
        consultation_id: strawberry.ID | None = None,
        intake_id: strawberry.ID | None = None,
    ) -> list[Slot]:
        start_s, end_s = to_epoch(start), to_epoch(end)
        if end_s <= start_s:
            raise InvalidInput("`end` must be after `start`", field="end")
        if end_s - start_s > MAX_AVAILABILITY_DAYS * 86400:
            raise InvalidInput(
                f"at most {MAX_AVAILABILITY_DAYS} days of availability at once", field="end"
            )
        if duration_minutes is not None and not 5 <= duration_minutes <= 480:
            raise InvalidInput("`durationMinutes` must be 5 to 480", field="durationMinutes")

        def opt(what: str, value: str | None) -> str | None:
            return safe_segment(what, value) if value else None

        query = AvailabilityQuery(
            start=start_s,
            end=end_s,
            duration=duration_minutes,
            member_id=opt("member id", member_id),
            provider_id=opt("provider id", provider_id),
            room_code=opt("room code", room_code),
            consultation_id=opt("consultation id", consultation_id),
            intake_id=opt("intake id", intake_id),
        )
        ctx = info.context
        raw_slots = await ctx.services.availability.slots(ctx.loaders.credentials, query)
        slots: list[Slot] = []
        for raw in raw_slots:
            slot_start, slot_end = as_datetime(raw.get("start")), as_datetime(raw.get("end"))
            if slot_start is None or slot_end is None:
                continue
            ids = [str(p) for p in as_list(raw.get("providers")) if p is not None]
            slots.append(
                Slot(
                    start=slot_start,
                    end=slot_end,
                    duration_minutes=as_int((slot_end - slot_start).total_seconds() // 60) or 0,
                    provider_ids=[strawberry.ID(i) for i in ids],
                    room_code=query.room_code,
                )
            )
        return slots
