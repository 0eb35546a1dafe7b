"""Rooms and slots: a clinic's rooms, their specialties and providers, and open slots."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import datetime
from typing import Annotated

import strawberry

from gateway.loaders import (
    AvailabilityQuery,
    Raw,
    safe_segment,
    selected_names,
    wants_provider_detail,
)
from gateway.upstream import InvalidInput

from ._base import converted
from ._convert import (
    as_bool,
    as_datetime,
    as_dict,
    as_id,
    as_int,
    as_list,
    as_text,
    in_epoch_range,
    to_epoch,
)
from ._paging import (
    DEFAULT_FIRST,
    PageInfo,
    empty_page,
    encode_cursor,
    read,
    total_only,
    window,
)
from .billing import Consultation
from .context import Info
from .node import NODE_ID_KINDS, Node, global_id, key_of, vsee_id
from .people import Provider, load_provider

# Bounded lists: a month of 15-minute slots is thousands; a room may list many providers.
DEFAULT_SLOTS, MAX_SLOTS = 200, 1000
DEFAULT_ROOM_PROVIDERS, MAX_ROOM_PROVIDERS = 50, 200


def load_room(info: Info, code: str) -> Awaitable[Room]:
    return converted(info.context.loaders.room.load(code), Room.from_raw)


@strawberry.type(description="A specialty a room offers.")
class Specialty:
    code: str | None = strawberry.field(description="The specialty's code.")
    name: str | None = strawberry.field(description="The specialty's name.")
    duration_minutes: int | None = strawberry.field(description="Default visit length in minutes.")


@strawberry.type(description="A virtual clinic room: its waiting room, providers and prices.")
class Room(Node):
    id: strawberry.ID = strawberry.field(description="Global id (`Room` + the room's code).")
    database_id: strawberry.ID | None = strawberry.field(
        description="VSee's own room id, when the answer carries one (rooms are named by code)."
    )
    code: str = strawberry.field(description="Room code, as used in `roomCode`.")
    name: str | None = strawberry.field(description="The room's name shown to members.")
    slug: str | None = strawberry.field(description='The room\'s URL slug, e.g. "UAT".')
    domain: str | None = strawberry.field(
        description="The web domain the room is served on, e.g. vclinic.vseepreview.com."
    )
    created_at: datetime | None = strawberry.field(
        description="When the room was created (`created`)."
    )
    updated_at: datetime | None = strawberry.field(
        description="When the room last changed (`modified`)."
    )
    _raw: strawberry.Private[Raw]

    @classmethod
    def from_raw(cls, raw: Raw) -> Room:
        rid = as_id(raw.get("id"))
        code = key_of(raw, "room", "code")
        return cls(
            id=global_id("Room", code),
            database_id=strawberry.ID(rid) if rid else None,
            code=code,
            name=as_text(raw.get("name")),
            slug=as_text(raw.get("slug")),
            domain=as_text(raw.get("domain")),
            created_at=as_datetime(raw.get("created")),
            updated_at=as_datetime(raw.get("modified")),
            _raw=raw,
        )

    async def _detail(self, info: Info) -> Raw:
        """The full room; a room embedded in a visit carries only id, code and name."""
        if "payment" in self._raw or "operation_settings" in self._raw or not self.code:
            return self._raw
        return await info.context.loaders.room.load(self.code)

    @strawberry.field(description="Specialties offered in this room.")
    async def specialties(self, info: Info) -> list[Specialty]:
        raw = await self._detail(info)
        return [
            Specialty(
                code=as_text(s.get("code")),
                name=as_text(s.get("name")),
                duration_minutes=as_int(s.get("duration")),
            )
            for s in as_list(raw.get("specialties"))
            if isinstance(s, dict)
        ]

    @strawberry.field(description="Consultations members can book here, with prices.")
    async def consultations(self, info: Info) -> list[Consultation]:
        payment = as_dict((await self._detail(info)).get("payment")) or {}
        currency = payment.get("currency")
        return [
            Consultation.from_raw(c, currency)
            for c in as_list(payment.get("consultations"))
            if isinstance(c, dict)
        ]

    @strawberry.field(description="Whether the room is closed to new visits now.")
    async def is_closed(self, info: Info) -> bool | None:
        settings = as_dict((await self._detail(info)).get("operation_settings")) or {}
        return as_bool(settings.get("is_closed"))

    @strawberry.field(description="Message shown to members while the room is closed.")
    async def close_message(self, info: Info) -> str | None:
        settings = as_dict((await self._detail(info)).get("operation_settings")) or {}
        return as_text(settings.get("close_msg"))

    @strawberry.field(description="The room's default IANA time zone.")
    async def timezone(self, info: Info) -> str | None:
        settings = as_dict((await self._detail(info)).get("operation_settings")) or {}
        return as_text(settings.get("default_timezone"))

    @strawberry.field(description="Whether members can walk in.")
    async def walkin_enabled(self, info: Info) -> bool | None:
        visits = as_dict((await self._detail(info)).get("visits")) or {}
        return as_bool((as_dict(visits.get("walkin")) or {}).get("enabled"))

    @strawberry.field(description="Whether members can book appointments.")
    async def appointment_enabled(self, info: Info) -> bool | None:
        visits = as_dict((await self._detail(info)).get("visits")) or {}
        return as_bool((as_dict(visits.get("appointment")) or {}).get("enabled"))

    @strawberry.field(
        description="Providers who see members in this room, at most `first` of them in "
        "VSee's order (VSee answers a room's providers in one list, without paging)."
    )
    async def providers(
        self,
        info: Info,
        first: Annotated[
            int,
            strawberry.argument(description=f"How many (1 to {MAX_ROOM_PROVIDERS})."),
        ] = DEFAULT_ROOM_PROVIDERS,
    ) -> list[Provider]:
        if not 1 <= first <= MAX_ROOM_PROVIDERS:
            raise InvalidInput(f"`first` must be 1 to {MAX_ROOM_PROVIDERS}", field="first")
        rows = await info.context.loaders.room_providers.load(self.code)
        return [Provider.from_raw(row) for row in rows[:first]]


@strawberry.type(description="A bookable time with the providers free at that time.")
class Slot:
    start: datetime = strawberry.field(description="When the slot starts (UTC).")
    end: datetime = strawberry.field(description="When the slot ends (UTC).")
    duration_minutes: int = strawberry.field(description="Length of the slot in minutes.")
    provider_ids: list[strawberry.ID] = strawberry.field(
        description="Global ids of the providers free for the whole slot, as VSee lists them."
    )
    _provider_keys: strawberry.Private[list[str]]
    room_code: strawberry.Private[str | None]

    @strawberry.field(description="The providers free in this slot (each fetched once a request).")
    async def providers(self, info: Info) -> list[Provider]:
        # One future per distinct provider and request, shared by every slot: a week of slots
        # names the same few providers hundreds of times, and gathering ready futures costs no
        # task and no second conversion.
        memo = info.context.provider_futures
        detail = wants_provider_detail(info)
        futures = []
        for pid in self._provider_keys:
            key = (self.room_code, str(pid), detail)
            future = memo.get(key)
            if future is None:
                future = asyncio.ensure_future(
                    load_provider(info, str(pid), self.room_code, detail=detail)
                )
                memo[key] = future
            futures.append(future)
        found = await asyncio.gather(*futures)
        return [provider for provider in found if provider is not None]


MAX_AVAILABILITY_DAYS = 31
ROOM_CURSOR = "room"


@strawberry.type(description="A room and where it stands in the list.")
class RoomEdge:
    cursor: str = strawberry.field(
        description="Opaque position of this room in the list (pass as `after` or `before`)."
    )
    node: Room = strawberry.field(description="The room.")


@strawberry.type(description="A page of the account's rooms.")
class RoomConnection:
    edges: list[RoomEdge] = strawberry.field(
        description="The rooms of this page, each with its cursor."
    )
    page_info: PageInfo = strawberry.field(
        description="Whether there are more pages, and the cursors to reach them."
    )
    total_count: int | None = strawberry.field(
        description="All the account's rooms, when VSee says (inferred: `total` beside `data`; "
        "VSee documents GET /rooms's `page`/`limit`, not its answer's paging keys): the same on "
        "every page, an empty one included; null when VSee sends no total or one that is not a "
        "count."
    )

    @strawberry.field(description="The rooms of this page, without cursors.")
    def nodes(self) -> list[Room]:
        return [edge.node for edge in self.edges]


@strawberry.type
class RoomQueries:
    @strawberry.field(description="A room by code, with its providers and consultations.")
    async def room(
        self,
        info: Info,
        code: Annotated[str, strawberry.argument(description="The room's code, as in `roomCode`.")],
    ) -> Room | None:
        return await load_room(info, safe_segment("room code", code))

    @strawberry.field(
        description="The account's rooms, a page at a time (`first`/`after`, or "
        "`last`/`before`), in VSee's order, read through as many of VSee's `GET /rooms` pages "
        "as the window needs. A page holds at most the gateway's page limit "
        "(`VSEE_MAX_PAGE_SIZE`, 100 by default); a larger `first` is BAD_USER_INPUT before any "
        "call. Cursors are offsets, not stable under inserts: VSee lists rooms only by "
        "`page`/`limit` (no keyset, no sort), so a room created before a cursor shifts the "
        "pages after it by one. No `orderBy`: VSee documents no sort for GET /rooms."
    )
    async def rooms(
        self,
        info: Info,
        first: Annotated[
            int | None,
            strawberry.argument(
                description=f"Rooms after `after` ({DEFAULT_FIRST} when neither `first` nor "
                "`last` is given; at most VSEE_MAX_PAGE_SIZE)."
            ),
        ] = None,
        after: Annotated[
            str | None, strawberry.argument(description="A cursor from this connection.")
        ] = None,
        last: Annotated[
            int | None,
            strawberry.argument(
                description="Rooms just before `before` (needs `before`; at most "
                "VSEE_MAX_PAGE_SIZE)."
            ),
        ] = None,
        before: Annotated[
            str | None, strawberry.argument(description="A cursor from this connection.")
        ] = None,
    ) -> RoomConnection:
        at = window(
            first=first,
            after=after,
            last=last,
            before=before,
            limit=info.context.services.max_page_size,
            kind=ROOM_CURSOR,
        )
        fetch = info.context.loaders.rooms_page
        if at.count == 0:
            wanted = "totalCount" in selected_names(info)
            total = await total_only(fetch) if wanted else None
            return RoomConnection(edges=[], page_info=empty_page(), total_count=total)
        got = await read(at, fetch)
        edges = [
            RoomEdge(cursor=encode_cursor(at.offset + i, ROOM_CURSOR), node=Room.from_raw(row))
            for i, row in enumerate(got.rows)
        ]
        return RoomConnection(
            edges=edges,
            page_info=got.page_info([edge.cursor for edge in edges]),
            total_count=got.total,
        )

    @strawberry.field(
        description="Open slots between `start` and `end` (at most 31 days), cached briefly."
    )
    async def availability(
        self,
        info: Info,
        start: Annotated[
            datetime,
            strawberry.argument(description="Start of the window, RFC 3339 with an offset."),
        ],
        end: Annotated[
            datetime,
            strawberry.argument(
                description="End of the window (at most 31 days after `start`), RFC 3339 with an "
                "offset."
            ),
        ],
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
        member_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(
                description="Slots for this member: a member's global id (VSee's `member_id`)."
            ),
        ] = None,
        consultation_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(
                description="Slots for this consultation of the room (VSee's `consultation_id`)."
            ),
        ] = None,
        intake_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(
                description="Slots for this intake: an intake's global id (VSee's `intake_id`)."
            ),
        ] = None,
        first: Annotated[
            int,
            strawberry.argument(
                description=f"At most this many slots, in VSee's order (1 to {MAX_SLOTS})."
            ),
        ] = DEFAULT_SLOTS,
    ) -> list[Slot]:
        if not 1 <= first <= MAX_SLOTS:
            raise InvalidInput(f"`first` must be 1 to {MAX_SLOTS}", field="first")
        start_s, end_s = to_epoch(start), to_epoch(end)
        for name, epoch in (("start", start_s), ("end", end_s)):
            if not in_epoch_range(epoch):
                raise InvalidInput(f"`{name}` must be between 1970 and 2100", field=name)
        if end_s <= start_s:
            raise InvalidInput("`end` must be after `start`", field="end")
        if end_s - start_s > MAX_AVAILABILITY_DAYS * 86400:
            raise InvalidInput(
                f"at most {MAX_AVAILABILITY_DAYS} days of availability at once", field="end"
            )
        if duration_minutes is not None and not 5 <= duration_minutes <= 480:
            raise InvalidInput("`durationMinutes` must be 5 to 480", field="durationMinutes")

        def opt(what: str, value: str | None) -> str | None:
            if not value:
                return None
            node_type = NODE_ID_KINDS.get(what)
            if node_type is None:
                return safe_segment(what, value)
            field = {"member id": "memberId", "provider id": "providerId"}.get(what, "intakeId")
            return vsee_id(node_type, value, field=field)

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
                    provider_ids=[global_id("Provider", i) for i in ids],
                    _provider_keys=ids,
                    room_code=query.room_code,
                )
            )
            if len(slots) == first:
                break
        return slots
