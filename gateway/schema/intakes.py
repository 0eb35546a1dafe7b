"""Intakes: what a member tells the clinic before a visit; its query and mutations."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import strawberry
from strawberry import UNSET
from strawberry.scalars import JSON

from gateway.loaders import (
    INTAKE_SPEC,
    Raw,
    lacks,
    needs,
    wants_provider_detail,
)

from ._base import converted, later, later_or_now
from ._convert import (
    as_bool,
    as_datetime,
    as_dict,
    as_id,
    as_list,
    as_ref_id,
    as_text,
)
from ._mutation import (
    MAX_ATTACHMENTS,
    MAX_CUSTOM_BYTES,
    MAX_CUSTOM_FIELDS,
    UserError,
    UserErrorCode,
    _call,
    _Checker,
)
from .billing import Consultation
from .clinical import Attachment, MedicalProfile, attachments_of
from .context import Info
from .enums import (
    IntakeType,
    IntakeTypeInput,
    from_code,
)
from .node import Node, global_id, key_of, vsee_id
from .people import Member, Provider, load_provider
from .rooms import Room, load_room

if TYPE_CHECKING:
    from .visits import Visit


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


def intake_of(info: Info, raw: Raw) -> Intake | Awaitable[Intake]:
    """An intake from a partial answer (POST /intakes answers only the id and custom fields)."""
    intake_id = as_id(raw.get("id"))
    if intake_id is None or not lacks(raw, needs(info, INTAKE_SPEC)):
        return Intake.from_raw(raw)
    return converted(info.context.loaders.complete_intake(raw, intake_id), Intake.from_raw)


def load_intake(info: Info, intake_id: object) -> Awaitable[Intake]:
    return converted(info.context.loaders.intake.load(str(intake_id)), Intake.from_raw)


@strawberry.type(description="What a member told the clinic before a visit.")
class Intake(Node):
    id: strawberry.ID = strawberry.field(description="Global id (`Intake` + VSee's intake id).")
    database_id: strawberry.ID = strawberry.field(description="VSee's own intake id (UUID-like).")
    type: IntakeType = strawberry.field(
        description="Walk-in or appointment (VSee's intake `type`: 1 walk-in, 2 scheduled)."
    )
    reason_for_visit: str | None = strawberry.field(description="Why the member seeks care.")
    location: str | None = strawberry.field(description="US state code, e.g. CA.")
    phone: str | None = strawberry.field(description="Phone number the member gave for this visit.")
    consent: bool | None = strawberry.field(description="Whether the member gave consent.")
    member_id: strawberry.ID | None = strawberry.field(
        description="Global id of the member it is for."
    )
    provider_id: strawberry.ID | None = strawberry.field(
        description="Global id of the provider asked for."
    )
    room_code: str | None = strawberry.field(description="The room it was made for.")
    visit_id: strawberry.ID | None = strawberry.field(
        description="Global id of the visit it belongs to, once one was created from it."
    )
    attachments: list[Attachment] = strawberry.field(description="Files the member attached.")
    consultation: Consultation | None = strawberry.field(
        description="The consultation chosen from the room's (needed where visits are paid)."
    )
    created_at: datetime | None = strawberry.field(
        description="When the intake was created (`created`)."
    )
    updated_at: datetime | None = strawberry.field(
        description="When the intake last changed (`modified`)."
    )
    _raw: strawberry.Private[Raw]

    @classmethod
    def from_raw(cls, raw: Raw) -> Intake:
        def _id(type_name: str, *keys: str) -> strawberry.ID | None:
            for key in keys:
                value = as_ref_id(raw.get(key))
                if value:
                    return global_id(type_name, value)
            return None

        key = key_of(raw, "intake")

        consultation = as_dict(raw.get("consultation"))
        return cls(
            id=global_id("Intake", key),
            database_id=strawberry.ID(key),
            type=from_code(IntakeType, raw.get("type")),
            reason_for_visit=as_text(raw.get("reason_for_visit")),
            location=as_text(raw.get("location")),
            phone=as_text(raw.get("phone")),
            consent=as_bool(raw.get("consent")),
            member_id=_id("Member", "member_id"),
            provider_id=_id("Provider", "provider_id", "provider"),
            room_code=as_text(raw.get("room_code")) or as_text(raw.get("room")),
            visit_id=_id("Visit", "visit_id"),
            attachments=attachments_of(raw.get("attachments")),
            consultation=Consultation.from_raw(consultation) if consultation else None,
            created_at=as_datetime(raw.get("created")),
            updated_at=as_datetime(raw.get("modified")),
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

    @strawberry.field(
        description="The member it is for. VSee has no member endpoint: only the member's ids "
        "are known here (read the visit's `member` for more)."
    )
    def member(self) -> Member | None:
        member_id = as_ref_id(self._raw.get("member_id"))
        return None if member_id is None else Member.from_raw({"id": member_id})

    @strawberry.field(
        description="The provider asked for: from the intake's room's provider list, or the "
        "provider's detail when the selection needs more."
    )
    async def provider(self, info: Info) -> Provider | None:
        provider_id = as_ref_id(self._raw.get("provider_id")) or as_ref_id(
            self._raw.get("provider")
        )
        if provider_id is None:
            return None
        return await load_provider(
            info, provider_id, self.room_code, detail=wants_provider_detail(info)
        )

    @strawberry.field(description="The room it was made for.")
    def room(self, info: Info) -> Room | None:
        if not self.room_code:
            return None
        return later(load_room(info, self.room_code))

    @strawberry.field(description="The visit this intake belongs to, once it has one.")
    def visit(
        self, info: Info
    ) -> Annotated[Visit, strawberry.lazy("gateway.schema.visits")] | None:
        # Visits embed intakes: the visit module is imported when first needed, not at load.
        from .visits import load_visit

        visit_id = as_ref_id(self._raw.get("visit_id"))
        if visit_id is None:
            return None
        return later(load_visit(info, visit_id))


@strawberry.input(
    description="What a member tells the clinic before a visit. On `updateIntake` a field left "
    "out is kept, and a field given as null (or `attachmentIds: []`) is cleared; on "
    "`createIntake` null is the same as leaving it out."
)
class IntakeInput:
    reason_for_visit: str | None = strawberry.field(
        default=UNSET, description="Why the member seeks care (VSee's `reason_for_visit`)."
    )
    type: IntakeTypeInput | None = strawberry.field(
        default=UNSET, description="WALK_IN (1) or APPOINTMENT (2), as `Visit.type` names them."
    )
    provider_id: strawberry.ID | None = strawberry.field(
        default=UNSET,
        description="Global id of the provider the member wants to see (VSee's `provider_id`).",
    )
    member_code: str | None = strawberry.field(
        default=UNSET, description="Create on behalf of this member (their code)."
    )
    room_code: str | None = strawberry.field(
        default=UNSET, description="The room the intake is for (VSee's `room_code`)."
    )
    attachment_ids: list[strawberry.ID] | None = strawberry.field(
        default=UNSET,
        description="VSee ids of files already uploaded, to attach (VSee's `attachments`).",
    )
    location: str | None = strawberry.field(default=UNSET, description="US state code, e.g. CA.")
    phone: str | None = strawberry.field(
        default=UNSET, description="Phone number the member can be reached at for this visit."
    )
    consultation_id: strawberry.ID | None = strawberry.field(
        default=UNSET,
        description="VSee's id of a consultation from `Room.consultations` of `roomCode` (or of "
        "the intake's room, on `updateIntake`). The gateway sends the consultation as VSee "
        "lists it, price included; a client never sets a price.",
    )
    reset: bool | None = strawberry.field(
        default=UNSET, description="Start from a blank intake instead of the member's last one."
    )
    custom_fields: JSON | None = strawberry.field(
        default=UNSET,
        description="Extra fields saved on the intake with their JSON types, e.g. "
        '{"custom_symptoms": ["Rash"], "custom_days": 3}. Keys: letters, digits, underscores; '
        "a null value clears that field on `updateIntake`.",
    )


@strawberry.input(
    description="Changes to an intake: a field left out is kept, a field given as null (or "
    "`attachmentIds: []`) is cleared."
)
class UpdateIntakeInput(IntakeInput):
    id: strawberry.ID = strawberry.field(description="Global id of the intake.")


def _intake_body(
    check: _Checker, data: IntakeInput, prefix: str, *, update: bool
) -> dict[str, Any]:
    """The JSON body of POST /intakes(/:id): JSON keeps custom fields' types, which a form
    would turn into strings. On an update, an explicit null (or ``[]``) clears the field the
    way VSee reads it: ``""``."""
    body: dict[str, Any] = {}

    def put(key: str, value: Any, given: Any) -> None:
        if given == "":
            given = None  # an empty string says what a null says
        if given is UNSET or (given is None and not update):
            return
        body[key] = "" if given is None or value is None else value

    put(
        "reason_for_visit",
        check.text(data.reason_for_visit or None, f"{prefix}.reasonForVisit"),
        data.reason_for_visit,
    )
    if data.type is None and update:
        check.add(f"{prefix}.type", "an intake's type can be changed, not cleared")
    put("type", data.type.value if data.type else None, data.type)
    provider = check.id("provider id", data.provider_id or None, f"{prefix}.providerId")
    put("provider_id", int(provider) if provider.isdigit() else provider, data.provider_id)
    member = check.id("member code", data.member_code or None, f"{prefix}.memberCode")
    put("member_id", member, data.member_code)
    put(
        "room_code",
        check.id("room code", data.room_code or None, f"{prefix}.roomCode"),
        data.room_code,
    )
    if data.attachment_ids:
        if len(data.attachment_ids) > MAX_ATTACHMENTS:
            check.add(
                f"{prefix}.attachmentIds",
                f"at most {MAX_ATTACHMENTS} attachments",
                UserErrorCode.OUT_OF_RANGE,
            )
        ids = [
            check.id("attachment id", a, f"{prefix}.attachmentIds.{i}")
            for i, a in enumerate(data.attachment_ids)
        ]
        body["attachments"] = [i for i in ids if i]
    elif data.attachment_ids is not UNSET and (update or data.attachment_ids is not None):
        body["attachments"] = ""  # VSee's "no attachments"
    if data.location and not (
        len(data.location) == 2 and data.location.isalpha() and data.location.isupper()
    ):
        check.add(f"{prefix}.location", "location must be a US state code such as CA")
    put("location", data.location, data.location)
    if data.phone:
        digits = [c for c in data.phone if c.isdigit()]
        if not 7 <= len(digits) <= 15 or any(c not in "0123456789+-() ." for c in data.phone):
            check.add(f"{prefix}.phone", "phone must be 7 to 15 digits")
    put("phone", data.phone, data.phone)
    if data.consultation_id:
        # Replaced by the room's own consultation in _priced(), before anything is sent.
        body["consultation"] = check.id(
            "consultation id", data.consultation_id, f"{prefix}.consultationId"
        )
    elif data.consultation_id is None and update:
        check.add(f"{prefix}.consultationId", "a consultation can be replaced, not cleared")
    if data.reset is not UNSET and data.reset is not None:
        body["reset"] = data.reset
    if data.custom_fields is not UNSET:
        body.update(_custom_fields(check, data.custom_fields, f"{prefix}.customFields", update))
    return body


async def _priced(info: Info, check: _Checker, body: dict[str, Any], room_code: str | None) -> None:
    """Put the room's consultation, as VSee lists it (price, currency, length), in place of the
    id the caller chose: what a member pays is VSee's to say, never the client's."""
    chosen = body.get("consultation")
    if not isinstance(chosen, str):
        return
    field = "input.consultationId"
    if not chosen:
        body.pop("consultation")
        return
    if not room_code:
        check.add(field, "a consultation needs the intake's roomCode", UserErrorCode.REQUIRED)
        return
    room = await info.context.loaders.room.load(room_code)
    payment = as_dict(room.get("payment")) or {}
    for offered in as_list(payment.get("consultations")):
        if isinstance(offered, dict) and as_id(offered.get("id")) == chosen:
            found = dict(offered)
            if payment.get("currency") is not None and "currency" not in found:
                found["currency"] = payment["currency"]
            body["consultation"] = found
            return
    check.add(field, "the room offers no such consultation", UserErrorCode.NOT_FOUND)


def _custom_fields(check: _Checker, value: object, field: str, update: bool) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        check.add(field, "customFields must be a JSON object")
        return {}
    if len(value) > MAX_CUSTOM_FIELDS or len(orjson.dumps(value)) > MAX_CUSTOM_BYTES:
        check.add(
            field,
            f"at most {MAX_CUSTOM_FIELDS} custom fields and {MAX_CUSTOM_BYTES} bytes",
            UserErrorCode.OUT_OF_RANGE,
        )
        return {}
    out: dict[str, Any] = {}
    for key, item in value.items():
        if not (key[:1].isalpha() and key.replace("_", "a").isalnum() and len(key) <= 64):
            check.add(f"{field}.{key}", "custom field names are letters, digits and underscores")
        elif key in INTAKE_KNOWN_KEYS:
            check.add(f"{field}.{key}", f"{key} is a standard intake field, not a custom one")
        elif item is not None or update:
            out[key] = item  # JSON types kept: VSee stores custom fields as given
    return out


@strawberry.type(description="The result of an intake mutation.")
class IntakePayload:
    intake_id: strawberry.ID | None = strawberry.field(
        description="Global id of the intake created or changed (the one named, on an update)."
    )
    user_errors: list[UserError] = strawberry.field(
        description="Why the input was refused, in the caller's input names; empty on success."
    )
    _key: strawberry.Private[str | None] = None
    # VSee's answer, with the id it may lack; read back only for fields it does not carry.
    _answer: strawberry.Private[Raw | None] = None

    @strawberry.field(description="The intake as it is now.")
    def intake(self, info: Info) -> Intake | None:
        if self._key is None:
            return None
        if self._answer is None:
            return later(load_intake(info, self._key))
        return later_or_now(intake_of(info, self._answer))


@strawberry.type
class IntakeQueries:
    @strawberry.field(description="One intake by id.")
    async def intake(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The intake's global id.")],
    ) -> Intake | None:
        return await load_intake(info, vsee_id("Intake", id, field="id"))


@strawberry.type
class IntakeMutations:
    @strawberry.mutation(description="Create an intake (POST /intakes).")
    async def create_intake(
        self,
        info: Info,
        input: Annotated[IntakeInput, strawberry.argument(description="The intake to create.")],
    ) -> IntakePayload | None:
        check = _Checker()
        body = _intake_body(check, input, "input", update=False)
        if not check.errors:
            await _priced(info, check, body, body.get("room_code") or None)
        if check.errors:
            return IntakePayload(intake_id=None, user_errors=check.errors)
        ctx = info.context
        data, errors = await _call(
            ctx, "createIntake", body, lambda: ctx.writes.create_intake(body)
        )
        intake_id = as_id(data.get("id")) if data else None
        if data is None or intake_id is None:
            return IntakePayload(intake_id=None, user_errors=errors)
        # VSee answers only the id and the custom fields: the rest is read back if asked for.
        return IntakePayload(
            intake_id=global_id("Intake", intake_id),
            user_errors=errors,
            _answer=data,
            _key=intake_id,
        )

    @strawberry.mutation(description="Change fields of an intake (POST /intakes/:id).")
    async def update_intake(
        self,
        info: Info,
        input: Annotated[
            UpdateIntakeInput, strawberry.argument(description="The intake and what to change.")
        ],
    ) -> IntakePayload | None:
        check = _Checker()
        intake_id = check.id("intake id", input.id, "input.id", required=True)
        body = _intake_body(check, input, "input", update=True)
        if not check.errors and isinstance(body.get("consultation"), str):
            room_code = body.get("room_code") or None
            if room_code is None:
                stored = await info.context.loaders.intake.load(intake_id)
                room_code = as_text(stored.get("room_code")) or as_text(stored.get("room"))
            await _priced(info, check, body, room_code)
        if not body and not check.errors:
            check.add("input", "nothing to change", UserErrorCode.REQUIRED)
        if check.errors:
            return IntakePayload(intake_id=None, user_errors=check.errors)
        ctx = info.context
        data, errors = await _call(
            ctx,
            "updateIntake",
            [intake_id, body],
            lambda: ctx.writes.update_intake(intake_id, body),
        )
        if data is None:
            return IntakePayload(intake_id=None, user_errors=errors)
        # The caller's intake is reported and read back; an answer naming another id (VSee's
        # example answers 56e8c536-… to a POST to 57a0705e-…) is not used for it.
        answered = as_id(data.get("id"))
        return IntakePayload(
            intake_id=global_id("Intake", intake_id),
            _key=intake_id,
            user_errors=errors,
            _answer={**data, "id": intake_id} if answered in (None, intake_id) else None,
        )
