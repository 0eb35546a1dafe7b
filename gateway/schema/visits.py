"""Visits: walk-ins, appointments and e-consults, their meeting and call log; their root fields."""

from __future__ import annotations

import re
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Annotated, cast

import strawberry
from strawberry.scalars import JSON

from gateway.loaders import (
    INTAKE_SPEC,
    MEMBER_SPEC,
    PROVIDER_SPEC,
    ROOM_SPEC,
    VISIT_SPEC,
    AvailabilityQuery,
    Raw,
    complete_rows,
    lacks,
    needs,
    provider_raw,
    safe_segment,
    selected_names,
    wants_provider_detail,
)
from gateway.upstream import FormFields, InvalidInput

from ._base import converted, ids_of, later, later_or_now, texts_of
from ._convert import (
    as_bool,
    as_code,
    as_datetime,
    as_dict,
    as_id,
    as_int,
    as_list,
    as_ref_id,
    as_str,
    as_text,
    in_epoch_range,
    to_epoch,
)
from ._mutation import (
    UserError,
    UserErrorCode,
    _call,
    _check_window,
    _Checker,
    _epoch,
    _form,
)
from ._paging import PageInfo, empty_page, encode_cursor, read, total_only, window
from .billing import Invoice, Payment
from .clinical import PostVisit, Prescription
from .context import Info
from .enums import (
    AppointmentTypeInput,
    CloseReason,
    VisitStatus,
    VisitStatusInput,
    VisitType,
    VisitTypeInput,
    from_code,
)
from .intakes import Intake, load_intake
from .node import Node, global_id, key_of, vsee_id
from .people import Account, Member, Provider, UserRef
from .rooms import Room, load_room


# One way to fetch each object by id, through the request's loaders, for every resolver.
def load_visit(info: Info, visit_id: object) -> Awaitable[Visit]:
    return converted(info.context.loaders.visit.load(str(visit_id)), Visit.from_detail)


def visit_of(info: Info, raw: Raw) -> Visit | Awaitable[Visit]:
    """A visit from an answer that may lack keys the selection needs (a list row, a mutation's
    answer, an embedded visit): read through the visit's detail loader only then."""
    visit_id = as_id(raw.get("id")) or as_id(raw.get("_id"))
    if visit_id is None or not lacks(raw, needs(info, VISIT_SPEC)):
        return Visit.from_raw(raw)
    return converted(info.context.loaders.complete_visit(raw, visit_id), Visit.from_detail)


@strawberry.type(description="A number to dial into a visit's meeting.")
class MeetingPhoneNumber:
    country: str = strawberry.field(description='Country code as VSee keys it, e.g. "US".')
    number: str = strawberry.field(
        description='The number as VSee writes it, e.g. "+1.650.758.0255".'
    )

    @classmethod
    def all_of(cls, value: object) -> list[MeetingPhoneNumber]:
        found: list[MeetingPhoneNumber] = []
        for country, numbers in (as_dict(value) or {}).items():
            listed = numbers if isinstance(numbers, list) else [numbers]
            found.extend(
                cls(country=str(country), number=str(number))
                for number in listed
                if isinstance(number, str | int) and not isinstance(number, bool) and number != ""
            )
        return found


@strawberry.type(
    description="A provider's role in hosting one visit's meeting. Its id is per visit and "
    "provider (the role differs between visits); the provider is `provider`."
)
class VisitHost:
    id: strawberry.ID = strawberry.field(
        description="Global id (`VisitHost` + the visit's id + the provider's user id)."
    )
    role: str | None = strawberry.field(description='The host\'s role, e.g. "owner".')
    timezone: str | None = strawberry.field(
        description="The host's IANA time zone as the visit lists it, e.g. America/Los_Angeles."
    )
    _raw: strawberry.Private[Raw]
    _room_code: strawberry.Private[str | None]

    @classmethod
    def from_raw(cls, raw: Raw, visit_id: str, room_code: str | None) -> VisitHost:
        key = key_of(raw, "host")
        return cls(
            id=global_id("VisitHost", f"{visit_id}/{key}"),
            role=as_text(raw.get("role")),
            timezone=as_text(raw.get("timezone")),
            _raw=raw,
            _room_code=room_code,
        )

    @strawberry.field(
        description="The provider hosting. What the visit's host entry lacks of the selection "
        "is read from the room's provider list, or the provider's detail."
    )
    def provider(self, info: Info) -> Provider:
        if not lacks(self._raw, needs(info, PROVIDER_SPEC)):
            return Provider.from_raw(self._raw)
        return later(self._load(info))

    async def _load(self, info: Info) -> Provider:
        provider_id = key_of(self._raw, "host")
        found = await provider_raw(
            info.context.loaders,
            provider_id,
            self._room_code,
            detail=wants_provider_detail(info),
        )
        return Provider.from_raw({**self._raw, **(found or {})})


@strawberry.type(
    description="The video meeting behind a visit. VSee gives it no id of its own: its `id` is "
    "derived from the visit's, so client caches keep one meeting per visit."
)
class Meeting:
    id: strawberry.ID = strawberry.field(description="Global id (`Meeting` + the visit's id).")
    meeting_id: str | None = strawberry.field(description="VSee's meeting id (`meeting_id`).")
    conference_pin: str | None = strawberry.field(description="PIN for dial-in participants.")
    expiry: datetime | None = strawberry.field(description="When the meeting expires (`expiry`).")
    hosts: list[str] = strawberry.field(description="VSee ids of the meeting's hosts.")
    phone_numbers: list[MeetingPhoneNumber] = strawberry.field(
        description="Dial-in numbers, one entry per number (VSee groups them by country)."
    )
    recording_auto_start: bool | None = strawberry.field(
        description="Whether recording starts with the call (`recording_auto_start`)."
    )

    @classmethod
    def from_raw(cls, raw: Raw, visit_id: str) -> Meeting:
        return cls(
            id=global_id("Meeting", visit_id),
            meeting_id=as_text(raw.get("meeting_id")),
            conference_pin=as_str(raw.get("conference_pin")),
            expiry=as_datetime(raw.get("expiry")),
            hosts=[str(h) for h in as_list(raw.get("hosts")) if isinstance(h, (str, int))],
            phone_numbers=MeetingPhoneNumber.all_of(raw.get("phone_numbers")),
            recording_auto_start=as_bool(raw.get("recording_auto_start")),
        )


@strawberry.type(description="One leg of a visit's call.")
class CallSegment:
    provider: str | None = strawberry.field(description="The provider's VSee id.")
    start: datetime | None = strawberry.field(
        description="When this leg of the call started (`call_start_N`)."
    )
    duration_seconds: int | None = strawberry.field(
        description="Length of this leg in seconds (`call_duration_N`)."
    )
    wait_seconds: int | None = strawberry.field(
        description="How long the member waited before this leg, in seconds (`wait_time_N`)."
    )


_SEGMENT_KEY = re.compile(r"^call_start_(\d+)$")


@strawberry.type(description="Call statistics of a visit.")
class CallLog:
    total_start: datetime | None = strawberry.field(
        description="When the call started (`total_start`)."
    )
    total_end: datetime | None = strawberry.field(description="When the call ended (`total_end`).")
    total_duration_seconds: int | None = strawberry.field(
        description="Length of the whole call in seconds (`total_duration`)."
    )
    waiting_seconds: int | None = strawberry.field(
        description="How long the member waited, in seconds (`waiting_time`)."
    )
    source: str | None = strawberry.field(description='VSee\'s call-log source, e.g. "v2".')
    segments: list[CallSegment] = strawberry.field(
        description="One entry per leg of the call (VSee's numbered `call_start_N`, "
        "`call_duration_N`, `wait_time_N`)."
    )
    patients: list[str] = strawberry.field(
        description="VSee ids of the patients who were in the call (VSee's `patients`)."
    )
    source_ids: list[str] = strawberry.field(
        description="VSee's ids of the call records this log was built from."
    )

    @classmethod
    def from_raw(cls, raw: Raw) -> CallLog:
        numbers = sorted(int(m.group(1)) for key in raw if (m := _SEGMENT_KEY.match(key)))
        segments = [
            CallSegment(
                provider=as_text(raw.get(f"provider_id_{n}")),
                start=as_datetime(raw.get(f"call_start_{n}")),
                duration_seconds=as_int(raw.get(f"call_duration_{n}")),
                wait_seconds=as_int(raw.get(f"wait_time_{n}")),
            )
            for n in numbers
        ]
        return cls(
            total_start=as_datetime(raw.get("total_start")),
            total_end=as_datetime(raw.get("total_end")),
            total_duration_seconds=as_int(raw.get("total_duration")),
            waiting_seconds=as_int(raw.get("waiting_time")),
            source=as_text(raw.get("source")),
            segments=segments,
            patients=[str(p) for p in as_list(raw.get("patients")) if isinstance(p, str | int)],
            source_ids=[str(p) for p in as_list(raw.get("source_ids")) if isinstance(p, str | int)],
        )


@strawberry.type(description="The visit a visit belongs to, with its group chat (`root_visit`).")
class RootVisit:
    id: strawberry.ID | None = strawberry.field(
        description="Global id of the root visit (a `Visit`'s id)."
    )
    group_chat_id: strawberry.ID | None = strawberry.field(
        description="The visit's group chat, when it has one."
    )
    participants: JSON | None = strawberry.field(
        description="The group chat's participants, as VSee sent them (null in its examples)."
    )

    @classmethod
    def from_raw(cls, raw: Raw) -> RootVisit:
        rid, chat = as_id(raw.get("id")), as_id(raw.get("group_chat_id"))
        return cls(
            id=global_id("Visit", rid) if rid else None,
            group_chat_id=strawberry.ID(chat) if chat else None,
            participants=raw.get("participants"),
        )


@strawberry.type(description="A walk-in, appointment or e-consult between a member and a provider.")
class Visit(Node):
    id: strawberry.ID = strawberry.field(description="Global id (`Visit` + VSee's visit id).")
    database_id: strawberry.ID = strawberry.field(description="VSee's own visit id.")
    code: str | None = strawberry.field(description="VSee's visit code (used in join links).")
    type: VisitType = strawberry.field(
        description="Walk-in, appointment or e-consult (VSee's `type`)."
    )
    type_code: int | None = strawberry.field(description="VSee's raw `type` code.")
    subtype: str | None = strawberry.field(
        description="VSee's `subtype`/`subType` code, as text (as on `Provider.subtype`)."
    )
    status: VisitStatus = strawberry.field(
        description="Inferred: what VSee's `status` code means (examples show 10 new walk-in, 20 "
        "scheduled, 30 in progress); UNKNOWN for codes not mapped, see `statusCode`."
    )
    status_code: int | None = strawberry.field(description="VSee's raw `status` code.")
    start: datetime | None = strawberry.field(description="Scheduled start (UTC).")
    end: datetime | None = strawberry.field(description="Scheduled end (UTC).")
    actual_start: datetime | None = strawberry.field(description="When the call really started.")
    actual_end: datetime | None = strawberry.field(
        description="When the call really ended; null until it has."
    )
    expiry: datetime | None = strawberry.field(description="When an e-consult offer expires.")
    created_at: datetime | None = strawberry.field(
        description="When the visit was created (`created`)."
    )
    updated_at: datetime | None = strawberry.field(
        description="When the visit last changed (`modified`)."
    )
    state: str | None = strawberry.field(description="US state the member is in, when known.")
    account_code: str | None = strawberry.field(
        description="Code of the clinic account the visit belongs to."
    )
    room_code: str | None = strawberry.field(description="Code of the room the visit is in.")
    member_id: strawberry.ID | None = strawberry.field(
        description="Global id of the member (patient)."
    )
    provider_id: strawberry.ID | None = strawberry.field(
        description="Global id of the provider; null while none is assigned (VSee sends 0)."
    )
    intake_id: strawberry.ID | None = strawberry.field(
        description="Global id of the intake it was made from."
    )
    invoice_id: strawberry.ID | None = strawberry.field(
        description="VSee's id of the visit's invoice."
    )
    visit_group_id: strawberry.ID | None = strawberry.field(
        description="Set only on group appointments."
    )
    related_walkin_id: strawberry.ID | None = strawberry.field(
        description="Global id of the walk-in this appointment was checked in through."
    )
    is_group: bool = strawberry.field(description="Whether this is a group appointment.")
    is_test: bool | None = strawberry.field(
        description="Whether VSee marks it a test visit (`is_test`)."
    )
    is_edit_expired: bool | None = strawberry.field(
        description="Whether the visit can no longer be edited."
    )
    payment: Payment | None = strawberry.field(description="What the visit costs.")
    invoice: Invoice | None = strawberry.field(
        description="The visit's invoice, when VSee embeds one."
    )
    meeting: Meeting | None = strawberry.field(description="The video meeting behind the visit.")
    post_visit: PostVisit | None = strawberry.field(
        description="The provider's note after the visit."
    )
    call_log: CallLog | None = strawberry.field(description="Call statistics, once it started.")
    hosts: list[VisitHost] = strawberry.field(
        description="The providers hosting the meeting, each with their role in this visit."
    )
    creator: UserRef | None = strawberry.field(description="Who created the visit.")
    account: Account | None = strawberry.field(description="The clinic account.")
    prescriptions: list[Prescription] = strawberry.field(
        description="Prescriptions written in this visit."
    )
    prescriptions_before_visit: list[Prescription] = strawberry.field(
        description="The member's prescriptions from before this visit."
    )
    one_time_link_token: str | None = strawberry.field(
        description="VSee's `one_time_link_token`: a single-use token of the visit's join link, "
        "with which the member opens the video call without signing in again. Pair it with "
        "`code` and `meeting.meetingId` to open the call from an app."
    )
    is_in_charge: bool | None = strawberry.field(
        description="VSee's `incharge`: whether the caller is the provider in charge of this "
        "visit (meaning inferred from VSee's examples)."
    )
    pending_actions: list[JSON] = strawberry.field(
        description="VSee's `pending_actions`: what is still to be done on the visit, as VSee "
        "sent it."
    )
    host_ids: list[strawberry.ID] = strawberry.field(
        description="Global ids of the providers hosting the meeting (VSee's `host_ids`)."
    )
    more_provider_ids: list[strawberry.ID] | None = strawberry.field(
        description="Global ids of further providers invited (VSee's `more_provider_ids`); null "
        "when there are none."
    )
    guest_emails: list[str] | None = strawberry.field(
        description="E-mail addresses of guests invited to the call (VSee's `guest_emails`)."
    )
    guest_mobiles: list[str] | None = strawberry.field(
        description="Mobile numbers of guests invited to the call (VSee's `guest_mobiles`)."
    )
    reminder_type: JSON | None = strawberry.field(
        description="How the member is reminded of the visit (VSee's `reminder_type`, as sent; "
        "the docs show only null)."
    )
    reminder_time: JSON | None = strawberry.field(
        description="When the member is reminded (VSee's `reminder_time`, as sent; the docs "
        "show only null)."
    )
    notify_list: list[JSON] = strawberry.field(
        description="Who is notified of changes to the visit (VSee's `notify_list`, as sent)."
    )
    specialty_id: strawberry.ID | None = strawberry.field(
        description="The room specialty the visit is for, when one was chosen."
    )
    completed_by: strawberry.ID | None = strawberry.field(
        description="Who completed the visit (VSee's `completed_by`)."
    )
    root_visit: RootVisit | None = strawberry.field(
        description="The visit this one belongs to with its group chat (VSee's `root_visit`)."
    )
    _raw: strawberry.Private[Raw]
    _key: strawberry.Private[str]
    # Whether ``_raw`` is VSee's detail answer (GET /visits/:id): nothing more can be asked.
    _complete: strawberry.Private[bool] = False

    @classmethod
    def from_detail(cls, raw: Raw) -> Visit:
        return cls.from_raw(raw, complete=True)

    @classmethod
    def from_raw(cls, raw: Raw, *, complete: bool = False) -> Visit:
        def _id(key: str, type_name: str | None = None) -> strawberry.ID | None:
            value = as_ref_id(raw.get(key))
            if not value:
                return None
            return global_id(type_name, value) if type_name else strawberry.ID(value)

        def _ids(value: object) -> list[strawberry.ID]:
            return [global_id("Provider", each) for each in ids_of(value)]

        key = key_of(raw, "visit", "id", "_id")

        payment = as_dict(raw.get("payment"))
        invoice = as_dict(raw.get("invoice"))
        meeting = as_dict(raw.get("meeting"))
        postvisit = as_dict(raw.get("postvisit"))
        call_logs = as_dict(raw.get("call_logs"))
        creator = as_dict(raw.get("creator"))
        account = as_dict(raw.get("account"))
        invoice_currency = invoice.get("currency") if invoice else None
        subtype = raw.get("subtype", raw.get("subType"))
        root = as_dict(raw.get("root_visit"))
        return cls(
            id=global_id("Visit", key),
            database_id=strawberry.ID(key),
            code=as_text(raw.get("code")),
            type=from_code(VisitType, raw.get("type")),
            type_code=as_code(raw.get("type")),
            subtype=as_str(subtype),
            status=from_code(VisitStatus, raw.get("status")),
            status_code=as_code(raw.get("status")),
            start=as_datetime(raw.get("start")),
            end=as_datetime(raw.get("end")),
            actual_start=as_datetime(raw.get("actual_start")),
            actual_end=as_datetime(raw.get("actual_end")),
            expiry=as_datetime(raw.get("expiry")),
            created_at=as_datetime(raw.get("created")),
            updated_at=as_datetime(raw.get("modified")),
            state=as_text(raw.get("state")),
            account_code=as_text(raw.get("account_code")),
            room_code=as_text(raw.get("room_code")),
            member_id=_id("member_id", "Member"),
            provider_id=_id("provider_id", "Provider"),
            intake_id=_id("intake_id", "Intake"),
            invoice_id=_id("invoice_id"),
            visit_group_id=_id("visit_group_id"),
            related_walkin_id=_id("related_walkin_id", "Visit"),
            is_group="visit_group_id" in raw,
            is_test=as_bool(raw.get("is_test")),
            is_edit_expired=as_bool(raw.get("isEditExpired")),
            payment=Payment.from_raw(payment, invoice_currency) if payment else None,
            invoice=Invoice.from_raw(invoice) if invoice else None,
            meeting=Meeting.from_raw(meeting, key) if meeting else None,
            post_visit=PostVisit.from_raw(postvisit) if postvisit else None,
            call_log=CallLog.from_raw(call_logs) if call_logs else None,
            hosts=[
                VisitHost.from_raw(h, key, as_text(raw.get("room_code")))
                for h in as_list(raw.get("hosts"))
                if isinstance(h, dict)
            ],
            creator=UserRef.from_raw(creator) if creator else None,
            account=Account.from_raw(account) if account else None,
            prescriptions=[
                Prescription.from_raw(p)
                for p in as_list(raw.get("prescriptions"))
                if isinstance(p, dict)
            ],
            prescriptions_before_visit=[
                Prescription.from_raw(p)
                for p in as_list(raw.get("prescriptionsBeforeVisit"))
                if isinstance(p, dict)
            ],
            one_time_link_token=as_text(raw.get("one_time_link_token")),
            is_in_charge=as_bool(raw.get("incharge")),
            pending_actions=[JSON(a) for a in as_list(raw.get("pending_actions"))],
            host_ids=_ids(raw.get("host_ids")),
            more_provider_ids=(
                None if raw.get("more_provider_ids") is None else _ids(raw["more_provider_ids"])
            ),
            guest_emails=texts_of(raw.get("guest_emails")),
            guest_mobiles=texts_of(raw.get("guest_mobiles")),
            reminder_type=raw.get("reminder_type"),
            reminder_time=raw.get("reminder_time"),
            notify_list=[JSON(n) for n in as_list(raw.get("notify_list"))],
            specialty_id=_id("specialty_id"),
            completed_by=_id("completed_by"),
            root_visit=RootVisit.from_raw(root) if root else None,
            _raw=raw,
            _key=key,
            _complete=complete,
        )

    def _ref(self, key: str) -> str | None:
        """VSee's id of a related object, as this visit's answer names it (0 means none)."""
        return as_ref_id(self._raw.get(key))

    def _detail(self, info: Info) -> Awaitable[Raw]:
        """This visit as GET /visits/:id tells it (through the request's visit loader)."""
        return info.context.loaders.complete_visit(self._raw, self._key)

    @strawberry.field(description="The member's intake for this visit.")
    def intake(self, info: Info) -> Intake | None:
        embedded = as_dict(self._raw.get("intake"))
        if embedded and as_id(embedded.get("id")):
            # The intake a visit embeds is the stored one; an answer other than the visit's
            # detail may embed it in part, and the detail has it whole.
            if self._complete or not lacks(embedded, needs(info, INTAKE_SPEC)):
                return Intake.from_raw(embedded)
            return later(self._detail_intake(info))
        intake_id = self._ref("intake_id")
        if intake_id is None:
            return None
        return later(load_intake(info, intake_id))

    async def _detail_intake(self, info: Info) -> Intake | None:
        detail = await self._detail(info)
        embedded = as_dict(detail.get("intake"))
        if embedded and as_id(embedded.get("id")):
            return Intake.from_raw(embedded)
        intake_id = as_ref_id(detail.get("intake_id"))
        return None if intake_id is None else await load_intake(info, intake_id)

    @strawberry.field(description="The provider seeing the member; null while unassigned.")
    def provider(self, info: Info) -> Provider | None:
        embedded = as_dict(self._raw.get("provider"))
        if embedded and as_id(embedded.get("id")):
            if not lacks(embedded, needs(info, PROVIDER_SPEC)):
                return Provider.from_raw(embedded)
        elif self._ref("provider_id") is None:
            return None
        return later(self._load_provider(info, embedded))

    async def _load_provider(self, info: Info, embedded: Raw | None) -> Provider | None:
        # A visit embeds a short provider (no bio, no status): the room's provider list or the
        # provider's detail answers the rest, whichever the selection needs.
        provider_id = str(self._ref("provider_id") or as_id((embedded or {}).get("id")))
        found = await provider_raw(
            info.context.loaders, provider_id, self.room_code, detail=wants_provider_detail(info)
        )
        if found is None:
            return Provider.from_raw(embedded) if embedded else None
        return Provider.from_raw({**(embedded or {}), **found})

    @strawberry.field(
        description="The member (patient). VSee has no member endpoint: what a visit does not "
        "embed of the member is read from the visit's detail, and beyond that it is unknown."
    )
    def member(self, info: Info) -> Member | None:
        embedded = as_dict(self._raw.get("member"))
        if embedded and as_id(embedded.get("id")):
            if self._complete or not lacks(embedded, needs(info, MEMBER_SPEC)):
                return Member.from_raw(embedded)
            return later(self._detail_member(info, embedded))
        member_id = self._ref("member_id")
        if member_id is None:
            return None
        return Member.from_raw({"id": member_id})

    async def _detail_member(self, info: Info, embedded: Raw) -> Member:
        detail = as_dict((await self._detail(info)).get("member")) or {}
        return Member.from_raw({**embedded, **detail})

    @strawberry.field(description="The room the visit takes place in.")
    def room(self, info: Info) -> Room | None:
        embedded = as_dict(self._raw.get("room"))
        if embedded and (embedded.get("code") or embedded.get("id")):
            code = as_text(embedded.get("code")) or self.room_code
            if code is None:
                return None
            if not lacks(embedded, needs(info, ROOM_SPEC)):
                return Room.from_raw({**embedded, "code": code})
            return later(
                converted(info.context.loaders.complete_room(embedded, code), Room.from_raw)
            )
        if not self.room_code:
            return None
        return later(load_room(info, self.room_code))

    @strawberry.field(
        description="The walk-in this appointment was checked in through (VSee's "
        "`related_walkin`); its other fields are read from its own detail when asked for."
    )
    def related_walkin(self, info: Info) -> Visit | None:
        embedded = as_dict(self._raw.get("related_walkin"))
        if embedded and as_id(embedded.get("id")):
            return later_or_now(visit_of(info, embedded))
        walkin_id = self._ref("related_walkin_id")
        if walkin_id is None:
            return None
        return later(load_visit(info, walkin_id))

    @strawberry.field(description="Whether the visit starts in the future (VSee's own rule).")
    def is_upcoming(self) -> bool:
        if self.start is None:
            return False
        return self.start > datetime.now(tz=UTC)


@strawberry.type(description="A visit and where it stands in the list.")
class VisitEdge:
    cursor: str = strawberry.field(
        description="Opaque position of this visit in the list (pass as `after` or `before`)."
    )
    # Nullable (as Relay allows): a row whose detail read failed is null, with its coded error
    # at its own path, while the rest of the page keeps its data.
    node: Visit | None = strawberry.field(
        description="The visit; null (with a coded error at this path) when its detail read failed."
    )


def _row_node(row: tuple[Raw, bool] | Exception) -> Visit | None:
    """One row of a page as its node, or its failure as the value graphql-core completes as
    that item's located error (``complete_value`` raises an Exception it is given), so one
    failed detail read nulls one row instead of the whole page."""
    if isinstance(row, Exception):
        return cast(Visit | None, row)
    raw, detail = row
    return Visit.from_detail(raw) if detail else Visit.from_raw(raw)


@strawberry.type(description="A page of visits.")
class VisitConnection:
    edges: list[VisitEdge] = strawberry.field(
        description="The visits of this page, each with its cursor."
    )
    page_info: PageInfo = strawberry.field(
        description="Whether there are more pages, and the cursors to reach them."
    )
    total_count: int | None = strawberry.field(description="All matching visits, when VSee says.")

    @strawberry.field(
        description="The visits of this page, without cursors; a visit whose detail read failed "
        "is null, with its coded error at its index."
    )
    def nodes(self) -> list[Visit | None]:
        return [edge.node for edge in self.edges]


@strawberry.input(
    description="Filters of the visits list. Inferred: VSee's docs document no filters for "
    "GET /visits; these are sent as `type`, `status`, `member_id`, `provider_id`, `room_code`, "
    "`from` and `to`."
)
class VisitFilter:
    type: VisitTypeInput | None = strawberry.field(
        default=None, description="Only visits of this kind (sent as `type`)."
    )
    status: VisitStatusInput | None = strawberry.field(
        default=None, description="Only visits in this status (sent as `status`)."
    )
    member_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Only this member's visits: a member's global id (sent as `member_id`).",
    )
    provider_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Only this provider's visits: a provider's global id (sent as `provider_id`).",
    )
    room_code: str | None = strawberry.field(
        default=None, description="Only visits in this room (sent as `room_code`)."
    )
    start_from: datetime | None = strawberry.field(default=None, description="Start at or after.")
    start_to: datetime | None = strawberry.field(default=None, description="Start before.")
    upcoming: bool | None = strawberry.field(
        default=None,
        description="true: only visits starting in the future; false: only past ones.",
    )


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
    for name, epoch in (("startFrom", start_from), ("startTo", start_to)):
        if epoch is not None and not in_epoch_range(epoch):
            raise InvalidInput(f"`{name}` must be between 1970 and 2100", field=f"filter.{name}")
    if start_from is not None and start_to is not None and start_from > start_to:
        raise InvalidInput("startFrom must not be after startTo", field="filter.startFrom")
    return {
        "type": cast(int, flt.type.value) if flt.type else None,
        "status": cast(int, flt.status.value) if flt.status else None,
        "member_id": (
            vsee_id("Member", flt.member_id, field="filter.memberId") if flt.member_id else None
        ),
        "provider_id": (
            vsee_id("Provider", flt.provider_id, field="filter.providerId")
            if flt.provider_id
            else None
        ),
        "room_code": safe_segment("room code", flt.room_code) if flt.room_code else None,
        "from": start_from,
        "to": start_to,
    }


@strawberry.input(description="A walk-in: the member joins a room's waiting queue now.")
class CreateWalkinInput:
    provider_id: strawberry.ID = strawberry.field(
        description="Global id of the provider asked for."
    )
    intake_id: strawberry.ID = strawberry.field(description="Global id of the member's intake.")
    room_code: str = strawberry.field(description="The room whose queue the member joins.")


@strawberry.input(description="An e-consult: asynchronous, accepted later by a provider.")
class CreateEconsultInput:
    intake_id: strawberry.ID = strawberry.field(description="Global id of the member's intake.")
    room_code: str = strawberry.field(description="The room whose providers may accept it.")


@strawberry.input(description="Book a slot from `availability`.")
class CreateAppointmentInput:
    member_id: strawberry.ID = strawberry.field(
        description="Global id of the member the appointment is for (VSee's `member_id`)."
    )
    start: datetime = strawberry.field(
        description="Start of the slot booked, RFC 3339 with an offset (VSee's `slot_start`)."
    )
    end: datetime = strawberry.field(
        description="End of the slot booked, RFC 3339 with an offset (VSee's `slot_end`)."
    )
    intake_id: strawberry.ID = strawberry.field(description="The intake made for this visit.")
    provider_id: strawberry.ID | None = strawberry.field(
        default=None, description="A provider free in the slot; VSee picks one when omitted."
    )
    room_code: str | None = strawberry.field(
        default=None, description="The room to book in (VSee's `room_code`)."
    )
    type: AppointmentTypeInput = strawberry.field(
        default=AppointmentTypeInput.APPOINTMENT,
        description="The kind of visit booked; VSee's POST /appointments takes only APPOINTMENT.",
    )


@strawberry.input(
    description="Changes to an appointment. Set `assignProviderId` to give a to-be-decided visit "
    "its provider, or `removeProvider: true` to take the provider off."
)
class UpdateAppointmentInput:
    id: strawberry.ID = strawberry.field(description="Global id of the appointment.")
    start: datetime | None = strawberry.field(
        default=None,
        description="New start, RFC 3339 with an offset (VSee's `start`); unchanged when omitted.",
    )
    end: datetime | None = strawberry.field(
        default=None,
        description="New end, RFC 3339 with an offset (VSee's `end`); unchanged when omitted.",
    )
    assign_provider_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Global id of the provider to put on the appointment (VSee's `provider_id`).",
    )
    remove_provider: bool = strawberry.field(
        default=False,
        description="Take the provider off the appointment (VSee's `provider_id=0`); not with "
        "`assignProviderId`.",
    )


@strawberry.input(description="A new time for an appointment, checked against availability.")
class RescheduleAppointmentInput:
    id: strawberry.ID = strawberry.field(description="Global id of the appointment.")
    start: datetime = strawberry.field(description="New start (RFC 3339).")
    end: datetime = strawberry.field(description="New end (RFC 3339).")


@strawberry.input(description="Close a visit (POST /visits/close).")
class CloseVisitInput:
    id: strawberry.ID = strawberry.field(description="Global id of the visit.")
    reason: CloseReason | None = strawberry.field(
        default=None, description="Why it is closed, as VSee records it."
    )


@strawberry.input(description="Cancel an appointment (POST /visits/close, reason cancelled).")
class CancelAppointmentInput:
    id: strawberry.ID = strawberry.field(description="Global id of the appointment.")


@strawberry.type(description="The result of a visit mutation.")
class VisitPayload:
    visit_id: strawberry.ID | None = strawberry.field(
        description="Global id of the visit created or changed (the one the caller named, for "
        "mutations whose VSee answer carries none)."
    )
    user_errors: list[UserError] = strawberry.field(
        description="Why the input was refused, in the caller's input names; empty on success."
    )
    _answer: strawberry.Private[Raw | None] = None
    _key: strawberry.Private[str | None] = None

    @strawberry.field(description="The visit as it is now.")
    def visit(self, info: Info) -> Visit | None:
        if self._key is None:
            return None
        if self._answer is None:
            return later(load_visit(info, self._key))
        return later_or_now(visit_of(info, self._answer))


def _visit_payload(
    data: Raw | None, errors: list[UserError], named: str | None = None
) -> VisitPayload:
    """The payload of a visit mutation; ``named`` is the visit the caller named.

    A named visit is always the one reported and read back, whatever id the answer carries:
    POST /visits/:id?version=2 answers without one, and VSee's close example answers id 1525
    to id=14. An answer naming another visit is not used for the named one (it is read back)."""
    if data is None:
        return VisitPayload(visit_id=None, user_errors=errors)
    answered = as_id(data.get("id"))
    visit_id = named or answered
    if visit_id is None:
        return VisitPayload(visit_id=None, user_errors=errors)
    about_it = answered is None or answered == visit_id
    return VisitPayload(
        visit_id=global_id("Visit", visit_id),
        user_errors=errors,
        _answer={**data, "id": visit_id} if about_it else None,
        _key=visit_id,
    )


def _invalid_visit(errors: list[UserError]) -> VisitPayload:
    return VisitPayload(visit_id=None, user_errors=errors)


def _visit_id(raw: Raw) -> str | None:
    return as_id(raw.get("id")) or as_id(raw.get("_id"))


@strawberry.type
class VisitQueries:
    @strawberry.field(description="One visit in full, by id.")
    async def visit(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The visit's global id.")],
    ) -> Visit | None:
        return await load_visit(info, vsee_id("Visit", id, field="id"))

    @strawberry.field(
        description="The caller's visits, a page at a time (`first`/`after`, or `last`/`before`). "
        "Cursors are offsets because VSee pages by offset: a visit inserted before a cursor "
        "shifts the pages after it. No `orderBy`: VSee documents no sort for GET /visits. "
        "Inferred: VSee's docs document no paging for GET /visits; the gateway sends "
        "`page`/`limit` and reads `total` when VSee answers one."
    )
    async def visits(
        self,
        info: Info,
        first: Annotated[
            int | None,
            strawberry.argument(description="Visits after `after` (20 when neither is given)."),
        ] = None,
        after: Annotated[
            str | None, strawberry.argument(description="A cursor from this connection.")
        ] = None,
        last: Annotated[
            int | None,
            strawberry.argument(description="Visits just before `before` (needs `before`)."),
        ] = None,
        before: Annotated[
            str | None, strawberry.argument(description="A cursor from this connection.")
        ] = None,
        filter: Annotated[
            VisitFilter | None, strawberry.argument(description="Which visits.")
        ] = None,
    ) -> VisitConnection:
        at = window(
            first=first,
            after=after,
            last=last,
            before=before,
            limit=info.context.services.max_page_size,
        )
        params = _filter_params(filter)
        loaders = info.context.loaders

        def fetch(page: int, limit: int) -> Awaitable[tuple[list[Raw], int | None]]:
            return loaders.visits_page({**params, "page": page, "limit": limit})

        if at.count == 0:
            wanted = "totalCount" in selected_names(info)
            total = await total_only(fetch) if wanted else None
            return VisitConnection(edges=[], page_info=empty_page(), total_count=total)
        got = await read(at, fetch)
        needed = needs(info, VISIT_SPEC, ("nodes",), ("edges", "node"))
        done = await complete_rows(info.context.loaders, got.rows, needed, _visit_id)
        nodes = [_row_node(row) for row in done]
        edges = [
            VisitEdge(cursor=encode_cursor(at.offset + i), node=node)
            for i, node in enumerate(nodes)
        ]
        return VisitConnection(
            edges=edges,
            page_info=got.page_info([edge.cursor for edge in edges]),
            total_count=got.total,
        )

    @strawberry.field(
        description="The caller's visit in progress, or null (GET /visits/current; the shape of "
        'its answer, and of "none", are inferred: VSee\'s docs show no example).'
    )
    async def current_visit(self, info: Info) -> Visit | None:
        raw = await info.context.loaders.current_visit()
        # Inferred: GET /visits/current answers the detail shape (VSee's docs show no example).
        return None if raw is None else Visit.from_detail(raw)


@strawberry.type
class VisitMutations:
    @strawberry.mutation(description="Put the member in a room's walk-in queue.")
    async def create_walkin(
        self,
        info: Info,
        input: Annotated[
            CreateWalkinInput, strawberry.argument(description="The walk-in to create.")
        ],
    ) -> VisitPayload | None:
        check = _Checker()
        form = _form(
            [
                (
                    "provider_id",
                    check.id("provider id", input.provider_id, "input.providerId", required=True),
                ),
                (
                    "intake_id",
                    check.id("intake id", input.intake_id, "input.intakeId", required=True),
                ),
                (
                    "room_code",
                    check.id("room code", input.room_code, "input.roomCode", required=True),
                ),
            ]
        )
        if check.errors:
            return _invalid_visit(check.errors)
        ctx = info.context
        data, errors = await _call(
            ctx,
            "createWalkin",
            form,
            lambda: ctx.writes.add_walkin(form),
            fields=_input_paths(
                provider_id="providerId", intake_id="intakeId", room_code="roomCode"
            ),
        )
        return _visit_payload(data, errors)

    @strawberry.mutation(description="Create an asynchronous e-consult for providers to accept.")
    async def create_econsult(
        self,
        info: Info,
        input: Annotated[
            CreateEconsultInput, strawberry.argument(description="The e-consult to create.")
        ],
    ) -> VisitPayload | None:
        check = _Checker()
        body = {
            "intake_id": check.id("intake id", input.intake_id, "input.intakeId", required=True),
            "room_code": check.id("room code", input.room_code, "input.roomCode", required=True),
        }
        if check.errors:
            return _invalid_visit(check.errors)
        ctx = info.context
        data, errors = await _call(
            ctx,
            "createEconsult",
            body,
            lambda: ctx.writes.add_econsult(body),
            fields=_input_paths(intake_id="intakeId", room_code="roomCode"),
        )
        return _visit_payload(data, errors)

    @strawberry.mutation(description="Book an appointment in a free slot (POST /appointments).")
    async def create_appointment(
        self,
        info: Info,
        input: Annotated[
            CreateAppointmentInput, strawberry.argument(description="The appointment to book.")
        ],
    ) -> VisitPayload | None:
        check = _Checker()
        member_id = check.id("member id", input.member_id, "input.memberId", required=True)
        start = _epoch(check, input.start, "input.start")
        end = _epoch(check, input.end, "input.end")
        _check_window(check, start, end, "input")
        if start is not None and start < int(datetime.now(tz=UTC).timestamp()):
            check.add("input.start", "start is in the past", UserErrorCode.OUT_OF_RANGE)
        form = _form(
            [
                ("member_id", member_id),
                ("slot_start", start),
                ("slot_end", end),
                ("type", input.type.value),
                # VSee's example spells this one in camelCase.
                (
                    "intakeId",
                    check.id("intake id", input.intake_id, "input.intakeId", required=True),
                ),
                ("provider_id", check.id("provider id", input.provider_id, "input.providerId")),
                ("room_code", check.id("room code", input.room_code, "input.roomCode")),
            ]
        )
        if check.errors:
            return _invalid_visit(check.errors)
        ctx = info.context
        data, errors = await _call(
            ctx,
            "createAppointment",
            form,
            lambda: ctx.writes.create_appointment(form),
            conflict=UserErrorCode.SLOT_TAKEN,
            conflict_field="input.start",
            fields=_input_paths(
                member_id="memberId",
                slot_start="start",
                slot_end="end",
                type="type",
                intakeId="intakeId",
                provider_id="providerId",
                room_code="roomCode",
            ),
        )
        return _visit_payload(data, errors)

    @strawberry.mutation(
        description="Move an appointment, or assign or remove its provider "
        "(POST /visits/:id?version=2)."
    )
    async def update_appointment(
        self,
        info: Info,
        input: Annotated[
            UpdateAppointmentInput,
            strawberry.argument(description="The appointment and what to change."),
        ],
    ) -> VisitPayload | None:
        check = _Checker()
        visit_id = check.id("visit id", input.id, "input.id", required=True)
        start = _epoch(check, input.start, "input.start")
        end = _epoch(check, input.end, "input.end")
        _check_window(check, start, end, "input")
        provider = check.id("provider id", input.assign_provider_id, "input.assignProviderId")
        if provider and input.remove_provider:
            check.add("input.removeProvider", "assign a provider or remove it, not both")
        # VSee's own encoding of "no provider" is provider_id=0.
        provider_field = "0" if input.remove_provider else provider
        form = _form([("start", start), ("end", end), ("provider_id", provider_field)])
        if not form and not check.errors:
            check.add("input", "nothing to change", UserErrorCode.REQUIRED)
        if check.errors:
            return _invalid_visit(check.errors)
        return await _update_visit(info, "updateAppointment", visit_id, form)

    @strawberry.mutation(
        description="Move an appointment to a new time, checked first against `availability` "
        "for its provider (or room): a time that is not free is a SLOT_TAKEN user error."
    )
    async def reschedule_appointment(
        self,
        info: Info,
        input: Annotated[
            RescheduleAppointmentInput,
            strawberry.argument(description="The appointment and its new time."),
        ],
    ) -> VisitPayload | None:
        check = _Checker()
        visit_id = check.id("visit id", input.id, "input.id", required=True)
        start = _epoch(check, input.start, "input.start")
        end = _epoch(check, input.end, "input.end")
        _check_window(check, start, end, "input")
        if start is not None and start < int(datetime.now(tz=UTC).timestamp()):
            check.add("input.start", "start is in the past", UserErrorCode.OUT_OF_RANGE)
        if check.errors or start is None or end is None:
            return _invalid_visit(check.errors)
        visit = await info.context.loaders.visit.load(visit_id)
        if not await _is_free(info, visit, start, end):
            return _invalid_visit(
                [UserError.at("input.start", "that time is not free", UserErrorCode.SLOT_TAKEN)]
            )
        return await _update_visit(
            info, "rescheduleAppointment", visit_id, _form([("start", start), ("end", end)])
        )

    @strawberry.mutation(
        description="Cancel an appointment: closes it with reason PATIENT_CANCEL_APPOINTMENT."
    )
    async def cancel_appointment(
        self,
        info: Info,
        input: Annotated[
            CancelAppointmentInput, strawberry.argument(description="The appointment to cancel.")
        ],
    ) -> VisitPayload | None:
        return await _close(
            info, "cancelAppointment", input.id, CloseReason.PATIENT_CANCEL_APPOINTMENT
        )

    @strawberry.mutation(description="Close or cancel a visit or appointment (POST /visits/close).")
    async def close_visit(
        self,
        info: Info,
        input: Annotated[
            CloseVisitInput, strawberry.argument(description="The visit to close and why.")
        ],
    ) -> VisitPayload | None:
        return await _close(info, "closeVisit", input.id, input.reason)


async def _update_visit(
    info: Info, operation: str, visit_id: str, form: FormFields
) -> VisitPayload | None:
    ctx = info.context
    data, errors = await _call(
        ctx,
        operation,
        [visit_id, form],
        lambda: ctx.writes.update_visit(visit_id, form),
        conflict=UserErrorCode.SLOT_TAKEN,
        conflict_field="input.start",
        fields=_input_paths(start="start", end="end", provider_id="assignProviderId"),
    )
    # VSee's answer to this one has no id: the payload names the visit the caller named.
    return _visit_payload(data, errors, named=visit_id)


async def _is_free(info: Info, visit: Raw, start: int, end: int) -> bool:
    """Whether availability offers [start, end] with the visit's provider (any, when it has
    none), in its room: one availability read for the day, through the shared cache."""
    provider = as_ref_id(visit.get("provider_id")) or as_ref_id(
        (as_dict(visit.get("provider")) or {}).get("id")
    )
    room = as_text(visit.get("room_code")) or as_text(
        (as_dict(visit.get("room")) or {}).get("code")
    )
    day = start - start % 86400
    query = AvailabilityQuery(
        start=day,
        end=max(end, day + 86400),
        duration=None,
        member_id=None,
        provider_id=provider,
        room_code=room,
        consultation_id=None,
        intake_id=None,
    )
    ctx = info.context
    for raw in await ctx.services.availability.slots(ctx.loaders.credentials, query):
        slot_start, slot_end = as_datetime(raw.get("start")), as_datetime(raw.get("end"))
        if slot_start is None or slot_end is None:
            continue
        if to_epoch(slot_start) <= start and end <= to_epoch(slot_end):
            listed = [str(p) for p in as_list(raw.get("providers")) if p is not None]
            if provider is None or provider in listed:
                return True
    return False


async def _close(
    info: Info, operation: str, id: strawberry.ID, reason: CloseReason | None
) -> VisitPayload | None:
    check = _Checker()
    visit_id = check.id("visit id", id, "input.id", required=True)
    if check.errors:
        return _invalid_visit(check.errors)
    form = _form([("id", visit_id), ("reason", reason.value if reason else None)])
    ctx = info.context
    data, errors = await _call(
        ctx,
        operation,
        form,
        lambda: ctx.writes.close_visit(form, visit_id),
        fields=_input_paths(id="id", reason="reason"),
    )
    return _visit_payload(data, errors, named=visit_id)


def _input_paths(**names: str) -> dict[str, str]:
    """VSee's REST parameter names mapped to the caller's input paths."""
    return {rest: f"input.{name}" for rest, name in names.items()}
