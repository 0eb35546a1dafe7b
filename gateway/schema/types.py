"""GraphQL object types for VSee's visits, intakes, people, rooms and slots.

Leaf values are converted once, when an object is built from VSee's JSON, and stored as plain
attributes: resolving them costs graphql-core nothing beyond a getattr. Only relations that may
need an upstream call are resolvers, and they go through the request's loaders.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any, TypeVar, cast

import strawberry
from strawberry.scalars import JSON

from gateway.loaders import Raw

from ._convert import (
    as_bool,
    as_date,
    as_datetime,
    as_decimal_str,
    as_dict,
    as_id,
    as_int,
    as_list,
    as_ref_id,
    as_str,
    as_text,
)
from ._sources import FREE, Spec, keys, lacks, needs, selected_names
from .context import Info
from .enums import Gender, IntakeType, VisitStatus, VisitType, from_code

T = TypeVar("T")


def later_or_now(value: T | Awaitable[T]) -> T:
    """A value, or an awaitable graphql-core awaits itself (see ``later``)."""
    return cast(T, value)


def later(awaitable: Awaitable[T]) -> T:
    """Return an awaitable from a plain resolver; graphql-core awaits it itself.

    Relations are resolved by plain functions so that rows whose related object VSee already
    embedded (the common case in lists) cost no coroutine or task at all; only a real lookup
    pays for one.
    """
    return cast(T, awaitable)


async def _converted(pending: Awaitable[Raw], build: Callable[[Raw], T]) -> T:
    return build(await pending)


# One way to fetch each object by id, through the request's loaders, for every resolver.
def load_visit(info: Info, visit_id: object) -> Awaitable[Visit]:
    return _converted(info.context.loaders.visit.load(str(visit_id)), Visit.from_detail)


def visit_of(info: Info, raw: Raw) -> Visit | Awaitable[Visit]:
    """A visit from an answer that may lack keys the selection needs (a list row, a mutation's
    answer, an embedded visit): read through the visit's detail loader only then."""
    visit_id = as_id(raw.get("id")) or as_id(raw.get("_id"))
    if visit_id is None or not lacks(raw, needs(info, VISIT_SPEC)):
        return Visit.from_raw(raw)
    return _converted(info.context.loaders.complete_visit(raw, visit_id), Visit.from_detail)


def intake_of(info: Info, raw: Raw) -> Intake | Awaitable[Intake]:
    """An intake from a partial answer (POST /intakes answers only the id and custom fields)."""
    intake_id = as_id(raw.get("id"))
    if intake_id is None or not lacks(raw, needs(info, INTAKE_SPEC)):
        return Intake.from_raw(raw)
    return _converted(info.context.loaders.complete_intake(raw, intake_id), Intake.from_raw)


def load_intake(info: Info, intake_id: object) -> Awaitable[Intake]:
    return _converted(info.context.loaders.intake.load(str(intake_id)), Intake.from_raw)


def load_room(info: Info, code: str) -> Awaitable[Room]:
    return _converted(info.context.loaders.room.load(code), Room.from_raw)


def _full_name(raw: Raw) -> str | None:
    full = as_text(raw.get("full_name"))
    if full:
        return full
    parts = [as_text(raw.get("first_name")), as_text(raw.get("last_name"))]
    joined = " ".join(part for part in parts if part)
    return joined or None


@strawberry.type(description="An amount of money as an exact decimal string, with its currency.")
class Money:
    amount: str = strawberry.field(description='Decimal string, e.g. "25.00".')
    currency: str | None = strawberry.field(description="ISO 4217 code when VSee gives one.")

    @classmethod
    def of(cls, amount: Any, currency: Any = None) -> Money | None:
        text = as_decimal_str(amount)
        return None if text is None else cls(amount=text, currency=as_text(currency))


@strawberry.type(description="A clinic account (tenant) on VSee.")
class Account:
    code: str | None = strawberry.field(description="Account code, sent as X-AccountCode.")
    name: str | None
    domain: str | None

    @classmethod
    def from_raw(cls, raw: Raw) -> Account:
        return cls(
            code=as_text(raw.get("code")),
            name=as_text(raw.get("name")),
            domain=as_text(raw.get("domain")),
        )


@strawberry.type(description="A patient.")
class Member:
    id: strawberry.ID = strawberry.field(description="VSee's member (patient) id.")
    code: str | None = strawberry.field(description="The member's code (external id).")
    first_name: str | None
    last_name: str | None
    full_name: str | None
    username: str | None
    email: str | None
    phone: str | None
    dob: date | None = strawberry.field(description="Date of birth.")
    gender: Gender
    vsee_id: str | None = strawberry.field(description="VSee messenger id.")
    photo: str | None = strawberry.field(description="URL of the member's photo.")
    active: bool | None

    @classmethod
    def from_raw(cls, raw: Raw) -> Member:
        return cls(
            id=strawberry.ID(as_id(raw.get("id")) or ""),
            code=as_text(raw.get("code")),
            first_name=as_text(raw.get("first_name")),
            last_name=as_text(raw.get("last_name")),
            full_name=_full_name(raw),
            username=as_text(raw.get("username")),
            email=as_text(raw.get("email")),
            phone=as_text(raw.get("phone")),
            dob=as_date(raw.get("dob")),
            gender=from_code(Gender, raw.get("gender")),
            vsee_id=as_text(raw.get("vseeid")),
            photo=as_text(raw.get("photo")),
            active=as_bool(raw.get("active")),
        )


@strawberry.type(description="A clinician who sees members in a room.")
class Provider:
    id: strawberry.ID = strawberry.field(description="VSee's provider id, as used in provider_id.")
    code: str | None
    username: str | None = strawberry.field(description="Login name (often the email).")
    first_name: str | None
    last_name: str | None
    full_name: str | None = strawberry.field(
        description="VSee's full_name, or first and last name joined when it sends none."
    )
    title: str | None = strawberry.field(description='Title shown before the name, e.g. "Dr."')
    suffix: str | None = strawberry.field(description='Suffix after the name, e.g. "MD".')
    email: str | None
    phone: str | None
    subtype: str | None = strawberry.field(description="VSee provider subtype code.")
    vsee_id: str | None
    photo: str | None
    status: str | None = strawberry.field(description="Presence status, when VSee gives it.")
    short_bio: str | None

    @classmethod
    def from_raw(cls, raw: Raw) -> Provider:
        return cls(
            id=strawberry.ID(as_id(raw.get("id")) or ""),
            code=as_text(raw.get("code")),
            username=as_text(raw.get("username")),
            first_name=as_text(raw.get("first_name")),
            last_name=as_text(raw.get("last_name")),
            full_name=_full_name(raw),
            title=as_text(raw.get("title")),
            suffix=as_text(raw.get("suffix")),
            email=as_text(raw.get("email")),
            phone=as_text(raw.get("phone")),
            subtype=as_text(raw.get("subtype")),
            vsee_id=as_text(raw.get("vseeid")),
            photo=as_text(raw.get("photo")),
            status=as_str(raw.get("status")),
            short_bio=as_text(raw.get("short_bio")),
        )


@strawberry.type(description="A user referenced by a visit (its creator), as VSee embeds it.")
class UserRef:
    id: strawberry.ID
    code: str | None
    vsee_id: str | None
    user_type: int | None = strawberry.field(
        description="VSee user type: 200 member, 160 API/app creator, 600 guest."
    )
    first_name: str | None
    last_name: str | None
    account_code: str | None

    @classmethod
    def from_raw(cls, raw: Raw) -> UserRef:
        return cls(
            id=strawberry.ID(as_id(raw.get("id")) or ""),
            code=as_text(raw.get("code")),
            vsee_id=as_text(raw.get("vseeid")),
            user_type=as_int(raw.get("type")),
            first_name=as_text(raw.get("first_name")),
            last_name=as_text(raw.get("last_name")),
            account_code=as_text(raw.get("account_code")),
        )


@strawberry.type(description="A provider hosting a visit's meeting.")
class Host:
    id: strawberry.ID
    username: str | None
    email: str | None
    phone: str | None
    full_name: str | None
    title: str | None
    suffix: str | None
    timezone: str | None = strawberry.field(description="IANA time zone, e.g. America/Los_Angeles.")
    vsee_id: str | None
    role: str | None = strawberry.field(description='The host\'s role, e.g. "owner".')

    @classmethod
    def from_raw(cls, raw: Raw) -> Host:
        return cls(
            id=strawberry.ID(as_id(raw.get("id")) or ""),
            username=as_text(raw.get("username")),
            email=as_text(raw.get("email")),
            phone=as_text(raw.get("phone")),
            full_name=_full_name(raw),
            title=as_text(raw.get("title")),
            suffix=as_text(raw.get("suffix")),
            timezone=as_text(raw.get("timezone")),
            vsee_id=as_text(raw.get("vseeid")),
            role=as_text(raw.get("role")),
        )


@strawberry.type(description="What a visit costs.")
class Payment:
    id: strawberry.ID | None
    amount: Money | None
    duration: int | None = strawberry.field(description="Minutes paid for.")
    description: str | None

    @classmethod
    def from_raw(cls, raw: Raw, currency: Any = None) -> Payment:
        pid = as_id(raw.get("id"))
        return cls(
            id=strawberry.ID(pid) if pid else None,
            amount=Money.of(raw.get("amount"), raw.get("currency") or currency),
            duration=as_int(raw.get("duration")),
            description=as_text(raw.get("description")),
        )


@strawberry.type(description="The invoice raised for a visit.")
class Invoice:
    id: strawberry.ID | None
    status: int | None = strawberry.field(description="VSee invoice status code.")
    amount_due: Money | None
    livemode: bool | None = strawberry.field(description="False for test-mode invoices.")
    created: datetime | None
    modified: datetime | None

    @classmethod
    def from_raw(cls, raw: Raw) -> Invoice:
        iid = as_id(raw.get("id"))
        return cls(
            id=strawberry.ID(iid) if iid else None,
            status=as_int(raw.get("status")),
            amount_due=Money.of(raw.get("amount_due"), raw.get("currency")),
            livemode=as_bool(raw.get("livemode")),
            created=as_datetime(raw.get("created")),
            modified=as_datetime(raw.get("modified")),
        )


@strawberry.type(description="The video meeting behind a visit.")
class Meeting:
    meeting_id: str | None
    conference_pin: str | None = strawberry.field(description="PIN for dial-in participants.")
    expiry: datetime | None
    hosts: list[str] = strawberry.field(description="VSee ids of the meeting's hosts.")
    phone_numbers: JSON | None = strawberry.field(
        description='Dial-in numbers by country, e.g. {"US": ["+1.650.758.0255"]}.'
    )
    recording_auto_start: bool | None

    @classmethod
    def from_raw(cls, raw: Raw) -> Meeting:
        return cls(
            meeting_id=as_text(raw.get("meeting_id")),
            conference_pin=as_str(raw.get("conference_pin")),
            expiry=as_datetime(raw.get("expiry")),
            hosts=[str(h) for h in as_list(raw.get("hosts")) if isinstance(h, (str, int))],
            phone_numbers=JSON(as_dict(raw.get("phone_numbers"))),
            recording_auto_start=as_bool(raw.get("recording_auto_start")),
        )


@strawberry.type(description="A file attached to an intake or a post-visit note.")
class Attachment:
    id: strawberry.ID
    name: str | None
    path: str | None
    size: int | None = strawberry.field(description="Bytes.")
    ext: str | None
    creator_id: strawberry.ID | None
    remark: str | None
    created: datetime | None
    modified: datetime | None

    @classmethod
    def from_raw(cls, raw: Raw | str) -> Attachment:
        if not isinstance(raw, dict):
            return cls(
                id=strawberry.ID(str(raw)),
                name=None,
                path=None,
                size=None,
                ext=None,
                creator_id=None,
                remark=None,
                created=None,
                modified=None,
            )
        creator = as_id(raw.get("creator_id"))
        return cls(
            id=strawberry.ID(as_id(raw.get("_id")) or as_id(raw.get("id")) or ""),
            name=as_text(raw.get("name")),
            path=as_text(raw.get("path")),
            size=as_int(raw.get("size")),
            ext=as_text(raw.get("ext")),
            creator_id=strawberry.ID(creator) if creator else None,
            remark=as_text(raw.get("remark")),
            created=as_datetime(raw.get("created")),
            modified=as_datetime(raw.get("modified")),
        )


def attachments_of(value: Any) -> list[Attachment]:
    """VSee sends attachments as objects, id strings, a comma-separated string, or ``""``."""
    if isinstance(value, str):
        return [Attachment.from_raw(part.strip()) for part in value.split(",") if part.strip()]
    return [
        Attachment.from_raw(item)
        for item in as_list(value)
        if isinstance(item, dict) or (isinstance(item, str) and item.strip())
    ]


@strawberry.type(description="The clinician's note written after a visit (HTML in some fields).")
class PostVisit:
    id: strawberry.ID | None
    member_id: strawberry.ID | None
    visit_id: strawberry.ID | None
    draft: bool | None
    modified_by: str | None = strawberry.field(description="Name of the last editor.")
    reason_for_visit: str | None
    physical_exam: str | None = strawberry.field(description="HTML.")
    assessment_plan: str | None = strawberry.field(description="HTML.")
    diagnosis: str | None
    patient_instructions: str | None = strawberry.field(description="HTML.")
    disposition: str | None
    attachments: list[Attachment]
    created: datetime | None
    modified: datetime | None

    @classmethod
    def from_raw(cls, raw: Raw) -> PostVisit:
        def _id(key: str) -> strawberry.ID | None:
            value = as_id(raw.get(key))
            return strawberry.ID(value) if value else None

        return cls(
            id=_id("id"),
            member_id=_id("member_id"),
            visit_id=_id("visit_id"),
            draft=as_bool(raw.get("draft")),
            modified_by=as_text(raw.get("modifiedBy")),
            reason_for_visit=as_text(raw.get("reason_for_visit")),
            physical_exam=as_text(raw.get("physical_exam")),
            assessment_plan=as_text(raw.get("assessment_plan")),
            diagnosis=as_text(raw.get("diagnosis")),
            patient_instructions=as_text(raw.get("patient_instructions")),
            disposition=as_text(raw.get("disposition")),
            attachments=attachments_of(raw.get("attachments")),
            created=as_datetime(raw.get("created")),
            modified=as_datetime(raw.get("modified")),
        )


@strawberry.type(description="A prescription (VSee's e-prescribing record).")
class Prescription:
    id: strawberry.ID | None
    drug_id: str | None
    ndc: str | None = strawberry.field(description="National Drug Code.")
    rx_norm_code: str | None
    drug: str | None
    directions: str | None
    quantity: float | None
    quantity_unit: str | None
    refills: int | None
    days_supply: int | None
    status: str | None
    prescriber_name: str | None
    prescribed_on: datetime | None
    raw: JSON = strawberry.field(description="Every field as VSee sent it.")

    @classmethod
    def from_raw(cls, raw: Raw) -> Prescription:
        pid = as_id(raw.get("ID") or raw.get("id"))
        return cls(
            id=strawberry.ID(pid) if pid else None,
            drug_id=as_text(raw.get("DrugID")),
            ndc=as_text(raw.get("NDC")),
            rx_norm_code=as_text(raw.get("RxNormCode")),
            drug=as_text(raw.get("Drug")),
            directions=as_text(raw.get("Directions")),
            quantity=float(raw["Qty"]) if isinstance(raw.get("Qty"), (int, float)) else None,
            quantity_unit=as_text(raw.get("QtyQual")),
            refills=as_int(raw.get("Refills")),
            days_supply=as_int(raw.get("DaysSupply")),
            status=as_text(raw.get("Status")),
            prescriber_name=as_text(raw.get("PrescriberName")),
            prescribed_on=as_datetime(raw.get("PrescriptionDate")),
            raw=JSON(raw),
        )


@strawberry.type(description="One leg of a visit's call.")
class CallSegment:
    provider: str | None = strawberry.field(description="The provider's VSee id.")
    start: datetime | None
    duration_seconds: int | None
    wait_seconds: int | None


_SEGMENT_KEY = re.compile(r"^call_start_(\d+)$")


@strawberry.type(description="Call statistics of a visit.")
class CallLog:
    total_start: datetime | None
    total_end: datetime | None
    total_duration_seconds: int | None
    waiting_seconds: int | None
    source: str | None
    segments: list[CallSegment]
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


@strawberry.type(description="A paid or free consultation a room offers.")
class Consultation:
    id: strawberry.ID | None
    description: str | None
    duration: int | None = strawberry.field(description="Minutes.")
    price: Money | None
    charge: bool | None = strawberry.field(description="Whether the member is charged.")
    group: bool | None = strawberry.field(description="Whether it is a group consultation.")
    slots: int | None = strawberry.field(description="Slots one booking takes.")
    visible_to_patient: bool | None

    @classmethod
    def from_raw(cls, raw: Raw, currency: Any = None) -> Consultation:
        cid = as_id(raw.get("id"))
        return cls(
            id=strawberry.ID(cid) if cid else None,
            description=as_text(raw.get("description")),
            duration=as_int(raw.get("duration")),
            price=Money.of(raw.get("amount"), raw.get("currency") or currency),
            charge=as_bool(raw.get("charge")),
            group=as_bool(raw.get("group")),
            slots=as_int(raw.get("slots")),
            visible_to_patient=as_bool(raw.get("visible_to_patient")),
        )


@strawberry.type(description="One section of a medical profile (e.g. conditions, surgeries).")
class MedicalSection:
    entries: list[JSON] = strawberry.field(description="The section's records, as VSee sent them.")
    modified: datetime | None
    modified_by: str | None

    @classmethod
    def from_raw(cls, raw: Any) -> MedicalSection | None:
        if not isinstance(raw, dict):
            return None
        return cls(
            entries=[JSON(e) for e in as_list(raw.get("data")) if isinstance(e, dict)],
            modified=as_datetime(raw.get("modified")),
            modified_by=as_text(raw.get("modifiedBy")),
        )


@strawberry.type(description="A member's medical history as kept by VSee.")
class MedicalProfile:
    id: strawberry.ID | None
    user_id: strawberry.ID | None
    conditions: MedicalSection | None
    family_conditions: MedicalSection | None
    social_history: MedicalSection | None
    health_habits: MedicalSection | None
    surgeries: MedicalSection | None
    medications: MedicalSection | None
    allergies: MedicalSection | None
    created: datetime | None
    modified: datetime | None

    @classmethod
    def from_raw(cls, raw: Raw) -> MedicalProfile:
        pid, uid = as_id(raw.get("_id") or raw.get("id")), as_id(raw.get("user_id"))
        return cls(
            id=strawberry.ID(pid) if pid else None,
            user_id=strawberry.ID(uid) if uid else None,
            conditions=MedicalSection.from_raw(raw.get("conditions")),
            family_conditions=MedicalSection.from_raw(raw.get("family_conditions")),
            social_history=MedicalSection.from_raw(raw.get("social_history")),
            health_habits=MedicalSection.from_raw(raw.get("health_habits")),
            surgeries=MedicalSection.from_raw(raw.get("surgeries")),
            medications=MedicalSection.from_raw(raw.get("medications")),
            allergies=MedicalSection.from_raw(raw.get("allergies")),
            created=as_datetime(raw.get("created")),
            modified=as_datetime(raw.get("modified")),
        )


# Keys an intake has by definition; everything else a partner sent is a custom field.
INTAKE_KNOWN_KEYS = frozenset(
    {
        "id",
        "_id",
        "type",
        "reason_for_visit",
        "location",
        "phone",
        "consent",
        "attachments",
        "consultation",
        "medical_profile",
        "member_id",
        "provider_id",
        "provider",
        "room_code",
        "room",
        "visit_id",
        "invoice_id",
        "created",
        "modified",
        "reset",
    }
)


@strawberry.type(description="What a member told the clinic before a visit.")
class Intake:
    id: strawberry.ID = strawberry.field(description="VSee's intake id (UUID-like).")
    type: IntakeType
    reason_for_visit: str | None = strawberry.field(description="Why the member seeks care.")
    location: str | None = strawberry.field(description="US state code, e.g. CA.")
    phone: str | None
    consent: bool | None = strawberry.field(description="Whether the member gave consent.")
    member_id: strawberry.ID | None = strawberry.field(description="The member it is for.")
    provider_id: strawberry.ID | None = strawberry.field(description="The provider asked for.")
    room_code: str | None = strawberry.field(description="The room it was made for.")
    visit_id: strawberry.ID | None = strawberry.field(
        description="The visit it belongs to, once one was created from it."
    )
    attachments: list[Attachment] = strawberry.field(description="Files the member attached.")
    consultation: Consultation | None = strawberry.field(
        description="The consultation chosen from the room's (needed where visits are paid)."
    )
    created: datetime | None
    modified: datetime | None
    _raw: strawberry.Private[Raw]

    @classmethod
    def from_raw(cls, raw: Raw) -> Intake:
        def _id(*keys: str) -> strawberry.ID | None:
            for key in keys:
                value = as_ref_id(raw.get(key))
                if value:
                    return strawberry.ID(value)
            return None

        consultation = as_dict(raw.get("consultation"))
        return cls(
            id=strawberry.ID(as_id(raw.get("id")) or ""),
            type=from_code(IntakeType, raw.get("type")),
            reason_for_visit=as_text(raw.get("reason_for_visit")),
            location=as_text(raw.get("location")),
            phone=as_text(raw.get("phone")),
            consent=as_bool(raw.get("consent")),
            member_id=_id("member_id"),
            provider_id=_id("provider_id", "provider"),
            room_code=as_text(raw.get("room_code")) or as_text(raw.get("room")),
            visit_id=_id("visit_id"),
            attachments=attachments_of(raw.get("attachments")),
            consultation=Consultation.from_raw(consultation) if consultation else None,
            created=as_datetime(raw.get("created")),
            modified=as_datetime(raw.get("modified")),
            _raw=raw,
        )

    # The two below are converted only when asked for: a medical profile is the largest part of
    # an intake, and a dashboard loading 100 intakes rarely shows it.
    @strawberry.field(description="The member's medical history, when VSee embeds it.")
    def medical_profile(self) -> MedicalProfile | None:
        profile = as_dict(self._raw.get("medical_profile"))
        return MedicalProfile.from_raw(profile) if profile else None

    @strawberry.field(
        description="Every field beyond the standard ones, as the partner sent it (e.g. custom_*)."
    )
    def custom_fields(self) -> JSON:
        return JSON({k: v for k, v in self._raw.items() if k not in INTAKE_KNOWN_KEYS})

    @strawberry.field(description="The visit this intake belongs to, once it has one.")
    def visit(self, info: Info) -> Visit | None:
        if self.visit_id is None:
            return None
        return later(load_visit(info, self.visit_id))


@strawberry.type(description="A specialty a room offers.")
class Specialty:
    code: str | None
    name: str | None
    duration: int | None = strawberry.field(description="Default visit length in minutes.")


@strawberry.type(description="A virtual clinic room: its waiting room, providers and prices.")
class Room:
    id: strawberry.ID | None
    code: str | None = strawberry.field(description="Room code, as used in room_code.")
    name: str | None
    slug: str | None
    domain: str | None
    created: datetime | None
    modified: datetime | None
    _raw: strawberry.Private[Raw]

    @classmethod
    def from_raw(cls, raw: Raw) -> Room:
        rid = as_id(raw.get("id"))
        return cls(
            id=strawberry.ID(rid) if rid else None,
            code=as_text(raw.get("code")),
            name=as_text(raw.get("name")),
            slug=as_text(raw.get("slug")),
            domain=as_text(raw.get("domain")),
            created=as_datetime(raw.get("created")),
            modified=as_datetime(raw.get("modified")),
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
                duration=as_int(s.get("duration")),
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

    @strawberry.field(description="Providers who see members in this room.")
    async def providers(self, info: Info) -> list[Provider]:
        if not self.code:
            return []
        rows = await info.context.loaders.room_providers.load(self.code)
        return [Provider.from_raw(row) for row in rows]


# What GET /rooms/{code}/providers tells of each provider. A selection within these is served
# from the room's list (one call for all of them); anything more needs each provider's detail.
PROVIDER_LIST_FIELDS = frozenset(
    {
        "__typename",
        "id",
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
        "shortBio",
    }
)


def wants_provider_detail(info: Info) -> bool:
    """Whether the providers being resolved are asked for more than their room's list holds."""
    return not selected_names(info) <= PROVIDER_LIST_FIELDS


async def provider_raw(
    info: Info, provider_id: str, room_code: str | None, *, detail: bool
) -> Raw | None:
    """A provider through the cheapest call that answers what the query selected."""
    loaders = info.context.loaders
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


async def load_provider(
    info: Info, provider_id: str, room_code: str | None, *, detail: bool
) -> Provider | None:
    raw = await provider_raw(info, provider_id, room_code, detail=detail)
    return None if raw is None else Provider.from_raw(raw)


@strawberry.type(description="A bookable time with the providers free at that time.")
class Slot:
    start: datetime = strawberry.field(description="When the slot starts (UTC).")
    end: datetime = strawberry.field(description="When the slot ends (UTC).")
    duration_minutes: int
    provider_ids: list[strawberry.ID] = strawberry.field(
        description="Providers free for the whole slot, as VSee lists them."
    )
    room_code: strawberry.Private[str | None]

    @strawberry.field(description="The providers free in this slot (each fetched once a request).")
    async def providers(self, info: Info) -> list[Provider]:
        # One future per distinct provider and request, shared by every slot: a week of slots
        # names the same few providers hundreds of times, and gathering ready futures costs no
        # task and no second conversion.
        memo = info.context.provider_futures
        detail = wants_provider_detail(info)
        futures = []
        for pid in self.provider_ids:
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


def _ids(value: Any) -> list[strawberry.ID]:
    return [strawberry.ID(str(v)) for v in as_list(value) if isinstance(v, str | int) and v != ""]


def _texts(value: Any) -> list[str] | None:
    if value is None:
        return None
    return [str(v) for v in as_list(value) if isinstance(v, str | int)]


@strawberry.type(description="The visit a visit belongs to, with its group chat (`root_visit`).")
class RootVisit:
    id: strawberry.ID | None = strawberry.field(description="The root visit's id.")
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
            id=strawberry.ID(rid) if rid else None,
            group_chat_id=strawberry.ID(chat) if chat else None,
            participants=raw.get("participants"),
        )


@strawberry.type(description="A walk-in, appointment or e-consult between a member and a provider.")
class Visit:
    id: strawberry.ID = strawberry.field(description="VSee's visit id.")
    code: str | None = strawberry.field(description="VSee's visit code (used in join links).")
    type: VisitType
    type_code: int | None = strawberry.field(description="VSee's raw `type` code.")
    subtype: int | None = strawberry.field(description="VSee's `subtype`/`subType` code.")
    status: VisitStatus
    status_code: int | None = strawberry.field(description="VSee's raw `status` code.")
    start: datetime | None = strawberry.field(description="Scheduled start (UTC).")
    end: datetime | None = strawberry.field(description="Scheduled end (UTC).")
    actual_start: datetime | None = strawberry.field(description="When the call really started.")
    actual_end: datetime | None
    expiry: datetime | None = strawberry.field(description="When an e-consult offer expires.")
    created: datetime | None
    modified: datetime | None
    state: str | None = strawberry.field(description="US state the member is in, when known.")
    account_code: str | None
    room_code: str | None
    member_id: strawberry.ID | None = strawberry.field(description="The member (patient).")
    provider_id: strawberry.ID | None = strawberry.field(
        description="Null while no provider is assigned (VSee sends 0)."
    )
    intake_id: strawberry.ID | None = strawberry.field(description="The intake it was made from.")
    invoice_id: strawberry.ID | None
    visit_group_id: strawberry.ID | None = strawberry.field(
        description="Set only on group appointments."
    )
    related_walkin_id: strawberry.ID | None
    is_group: bool = strawberry.field(description="Whether this is a group appointment.")
    is_test: bool | None
    is_edit_expired: bool | None = strawberry.field(
        description="Whether the visit can no longer be edited."
    )
    payment: Payment | None = strawberry.field(description="What the visit costs.")
    invoice: Invoice | None
    meeting: Meeting | None = strawberry.field(description="The video meeting behind the visit.")
    post_visit: PostVisit | None = strawberry.field(
        description="The provider's note after the visit."
    )
    call_log: CallLog | None = strawberry.field(description="Call statistics, once it started.")
    hosts: list[Host] = strawberry.field(description="Providers hosting the meeting.")
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
    incharge: bool | None = strawberry.field(
        description="VSee's `incharge`: whether the caller is the provider in charge of this "
        "visit (meaning inferred from VSee's examples)."
    )
    pending_actions: list[JSON] = strawberry.field(
        description="VSee's `pending_actions`: what is still to be done on the visit, as VSee "
        "sent it."
    )
    host_ids: list[strawberry.ID] = strawberry.field(
        description="Ids of the providers hosting the meeting (VSee's `host_ids`)."
    )
    more_provider_ids: list[strawberry.ID] | None = strawberry.field(
        description="Further providers invited to the visit (VSee's `more_provider_ids`); null "
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
    # Whether ``_raw`` is VSee's detail answer (GET /visits/:id): nothing more can be asked.
    _complete: strawberry.Private[bool] = False

    @classmethod
    def from_detail(cls, raw: Raw) -> Visit:
        return cls.from_raw(raw, complete=True)

    @classmethod
    def from_raw(cls, raw: Raw, *, complete: bool = False) -> Visit:
        def _id(key: str) -> strawberry.ID | None:
            value = as_ref_id(raw.get(key))
            return strawberry.ID(value) if value else None

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
            id=strawberry.ID(as_id(raw.get("id")) or as_id(raw.get("_id")) or ""),
            code=as_text(raw.get("code")),
            type=from_code(VisitType, raw.get("type")),
            type_code=as_int(raw.get("type")),
            subtype=as_int(subtype),
            status=from_code(VisitStatus, raw.get("status")),
            status_code=as_int(raw.get("status")),
            start=as_datetime(raw.get("start")),
            end=as_datetime(raw.get("end")),
            actual_start=as_datetime(raw.get("actual_start")),
            actual_end=as_datetime(raw.get("actual_end")),
            expiry=as_datetime(raw.get("expiry")),
            created=as_datetime(raw.get("created")),
            modified=as_datetime(raw.get("modified")),
            state=as_text(raw.get("state")),
            account_code=as_text(raw.get("account_code")),
            room_code=as_text(raw.get("room_code")),
            member_id=_id("member_id"),
            provider_id=_id("provider_id"),
            intake_id=_id("intake_id"),
            invoice_id=_id("invoice_id"),
            visit_group_id=_id("visit_group_id"),
            related_walkin_id=_id("related_walkin_id"),
            is_group="visit_group_id" in raw,
            is_test=as_bool(raw.get("is_test")),
            is_edit_expired=as_bool(raw.get("isEditExpired")),
            payment=Payment.from_raw(payment, invoice_currency) if payment else None,
            invoice=Invoice.from_raw(invoice) if invoice else None,
            meeting=Meeting.from_raw(meeting) if meeting else None,
            post_visit=PostVisit.from_raw(postvisit) if postvisit else None,
            call_log=CallLog.from_raw(call_logs) if call_logs else None,
            hosts=[Host.from_raw(h) for h in as_list(raw.get("hosts")) if isinstance(h, dict)],
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
            incharge=as_bool(raw.get("incharge")),
            pending_actions=[JSON(a) for a in as_list(raw.get("pending_actions"))],
            host_ids=_ids(raw.get("host_ids")),
            more_provider_ids=(
                None if raw.get("more_provider_ids") is None else _ids(raw["more_provider_ids"])
            ),
            guest_emails=_texts(raw.get("guest_emails")),
            guest_mobiles=_texts(raw.get("guest_mobiles")),
            reminder_type=raw.get("reminder_type"),
            reminder_time=raw.get("reminder_time"),
            notify_list=[JSON(n) for n in as_list(raw.get("notify_list"))],
            specialty_id=_id("specialty_id"),
            completed_by=_id("completed_by"),
            root_visit=RootVisit.from_raw(root) if root else None,
            _raw=raw,
            _complete=complete,
        )

    def _detail(self, info: Info) -> Awaitable[Raw]:
        """This visit as GET /visits/:id tells it (through the request's visit loader)."""
        return info.context.loaders.complete_visit(self._raw, str(self.id))

    @strawberry.field(description="The member's intake for this visit.")
    def intake(self, info: Info) -> Intake | None:
        embedded = as_dict(self._raw.get("intake"))
        if embedded and as_id(embedded.get("id")):
            # The intake a visit embeds is the stored one; an answer other than the visit's
            # detail may embed it in part, and the detail has it whole.
            if self._complete or not lacks(embedded, needs(info, INTAKE_SPEC)):
                return Intake.from_raw(embedded)
            return later(self._detail_intake(info))
        if self.intake_id is None:
            return None
        return later(load_intake(info, self.intake_id))

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
        elif self.provider_id is None:
            return None
        return later(self._load_provider(info, embedded))

    async def _load_provider(self, info: Info, embedded: Raw | None) -> Provider | None:
        # A visit embeds a short provider (no bio, no status): the room's provider list or the
        # provider's detail answers the rest, whichever the selection needs.
        provider_id = str(self.provider_id or as_id((embedded or {}).get("id")))
        found = await provider_raw(
            info, provider_id, self.room_code, detail=wants_provider_detail(info)
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
        if self.member_id is None:
            return None
        return Member.from_raw({"id": self.member_id})

    async def _detail_member(self, info: Info, embedded: Raw) -> Member:
        detail = as_dict((await self._detail(info)).get("member")) or {}
        return Member.from_raw({**embedded, **detail})

    @strawberry.field(description="The room the visit takes place in.")
    def room(self, info: Info) -> Room | None:
        embedded = as_dict(self._raw.get("room"))
        if embedded and (embedded.get("code") or embedded.get("id")):
            code = as_text(embedded.get("code")) or self.room_code
            if code is None or not lacks(embedded, needs(info, ROOM_SPEC)):
                return Room.from_raw(embedded)
            return later(
                _converted(info.context.loaders.complete_room(embedded, code), Room.from_raw)
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
        if self.related_walkin_id is None:
            return None
        return later(load_visit(info, self.related_walkin_id))

    @strawberry.field(description="Whether the visit starts in the future (VSee's own rule).")
    def is_upcoming(self) -> bool:
        if self.start is None:
            return False
        return self.start > datetime.now(tz=UTC)


# -- which VSee keys answer each field (see _sources.py) -----------------------------------------

PAYMENT_SPEC: Spec = {
    "id": keys("id"),
    "amount": keys("amount"),
    "duration": keys("duration"),
    "description": keys("description"),
}
INVOICE_SPEC: Spec = {
    "id": keys("id"),
    "status": keys("status"),
    "amountDue": keys("amount_due"),
    "livemode": keys("livemode"),
    "created": keys("created"),
    "modified": keys("modified"),
}
MEETING_SPEC: Spec = {
    "meetingId": keys("meeting_id"),
    "conferencePin": keys("conference_pin"),
    "expiry": keys("expiry"),
    "hosts": keys("hosts"),
    "phoneNumbers": keys("phone_numbers"),
    "recordingAutoStart": keys("recording_auto_start"),
}
POSTVISIT_SPEC: Spec = {
    "id": keys("id"),
    "memberId": keys("member_id"),
    "visitId": keys("visit_id"),
    "draft": keys("draft"),
    "modifiedBy": keys("modifiedBy"),
    "reasonForVisit": keys("reason_for_visit"),
    "physicalExam": keys("physical_exam"),
    "assessmentPlan": keys("assessment_plan"),
    "diagnosis": keys("diagnosis"),
    "patientInstructions": keys("patient_instructions"),
    "disposition": keys("disposition"),
    "attachments": keys("attachments"),
    "created": keys("created"),
    "modified": keys("modified"),
}
CALL_LOG_SPEC: Spec = {
    "totalStart": keys("total_start"),
    "totalEnd": keys("total_end"),
    "totalDurationSeconds": keys("total_duration"),
    "waitingSeconds": keys("waiting_time"),
    "source": keys("source"),
    "patients": keys("patients"),
    "sourceIds": keys("source_ids"),
}
USER_REF_SPEC: Spec = {
    "id": keys("id"),
    "code": keys("code"),
    "vseeId": keys("vseeid"),
    "userType": keys("type"),
    "firstName": keys("first_name"),
    "lastName": keys("last_name"),
    "accountCode": keys("account_code"),
}
ACCOUNT_SPEC: Spec = {"code": keys("code"), "name": keys("name"), "domain": keys("domain")}
ROOT_VISIT_SPEC: Spec = {
    "id": keys("id"),
    "groupChatId": keys("group_chat_id"),
    "participants": keys("participants"),
}
_FULL_NAME = keys("full_name", "first_name", "last_name")
MEMBER_SPEC: Spec = {
    "id": keys("id"),
    "code": keys("code"),
    "firstName": keys("first_name"),
    "lastName": keys("last_name"),
    "fullName": _FULL_NAME,
    "username": keys("username"),
    "email": keys("email"),
    "phone": keys("phone"),
    "dob": keys("dob"),
    "gender": keys("gender"),
    "vseeId": keys("vseeid"),
    "photo": keys("photo"),
    "active": keys("active"),
}
PROVIDER_SPEC: Spec = {
    "id": keys("id"),
    "code": keys("code"),
    "username": keys("username"),
    "firstName": keys("first_name"),
    "lastName": keys("last_name"),
    "fullName": _FULL_NAME,
    "title": keys("title"),
    "suffix": keys("suffix"),
    "email": keys("email"),
    "phone": keys("phone"),
    "subtype": keys("subtype"),
    "vseeId": keys("vseeid"),
    "photo": keys("photo"),
    "status": keys("status"),
    "shortBio": keys("short_bio"),
}
ROOM_SPEC: Spec = {
    "id": keys("id"),
    "code": keys("code"),
    "name": keys("name"),
    "slug": keys("slug"),
    "domain": keys("domain"),
    "created": keys("created"),
    "modified": keys("modified"),
}
INTAKE_SPEC: Spec = {
    "id": keys("id"),
    "type": keys("type"),
    "reasonForVisit": keys("reason_for_visit"),
    "location": keys("location"),
    "phone": keys("phone"),
    "consent": keys("consent"),
    "memberId": keys("member_id"),
    "providerId": keys("provider_id", "provider"),
    "roomCode": keys("room_code", "room"),
    "visitId": keys("visit_id"),
    "attachments": keys("attachments"),
    "consultation": keys("consultation"),
    "created": keys("created"),
    "modified": keys("modified"),
    "medicalProfile": keys("medical_profile"),
    "customFields": FREE,
    "visit": keys("visit_id"),
}
_TYPE, _STATUS = keys("type"), keys("status")
VISIT_SPEC: Spec = {
    "id": keys("id", "_id"),
    "code": keys("code"),
    "type": _TYPE,
    "typeCode": _TYPE,
    "subtype": keys("subtype", "subType"),
    "status": _STATUS,
    "statusCode": _STATUS,
    "start": keys("start"),
    "end": keys("end"),
    "actualStart": keys("actual_start"),
    "actualEnd": keys("actual_end"),
    "expiry": keys("expiry"),
    "created": keys("created"),
    "modified": keys("modified"),
    "state": keys("state"),
    "accountCode": keys("account_code"),
    "roomCode": keys("room_code"),
    "memberId": keys("member_id"),
    "providerId": keys("provider_id"),
    "intakeId": keys("intake_id"),
    "invoiceId": keys("invoice_id"),
    # VSee: present only on group appointments, so its absence is an answer.
    "visitGroupId": FREE,
    "isGroup": FREE,
    "relatedWalkinId": keys("related_walkin_id"),
    "isTest": keys("is_test"),
    "isEditExpired": keys("isEditExpired"),
    "payment": keys("payment", nested=PAYMENT_SPEC),
    "invoice": keys("invoice", nested=INVOICE_SPEC),
    "meeting": keys("meeting", nested=MEETING_SPEC),
    "postVisit": keys("postvisit", nested=POSTVISIT_SPEC),
    "callLog": keys("call_logs", nested=CALL_LOG_SPEC),
    "hosts": keys("hosts"),
    "creator": keys("creator", nested=USER_REF_SPEC),
    "account": keys("account", nested=ACCOUNT_SPEC),
    "prescriptions": keys("prescriptions"),
    "prescriptionsBeforeVisit": keys("prescriptionsBeforeVisit"),
    "oneTimeLinkToken": keys("one_time_link_token"),
    "incharge": keys("incharge"),
    "pendingActions": keys("pending_actions"),
    "hostIds": keys("host_ids"),
    "moreProviderIds": keys("more_provider_ids"),
    "guestEmails": keys("guest_emails"),
    "guestMobiles": keys("guest_mobiles"),
    "reminderType": keys("reminder_type"),
    "reminderTime": keys("reminder_time"),
    "notifyList": keys("notify_list"),
    "specialtyId": keys("specialty_id"),
    "completedBy": keys("completed_by"),
    "rootVisit": keys("root_visit", nested=ROOT_VISIT_SPEC),
    # Relations: the key that leads to the related object; the object's own fields are judged
    # by its resolver against what is embedded.
    "intake": keys("intake", "intake_id"),
    "provider": keys("provider", "provider_id"),
    "member": keys("member", "member_id"),
    "room": keys("room", "room_code"),
    "relatedWalkin": keys("related_walkin", "related_walkin_id"),
    "isUpcoming": keys("start"),
}
