"""Root mutation fields: intake, walk-in, e-consult, appointment, update and close.

Every mutation validates its input before calling VSee (bad input costs no upstream call and
comes back as ``userErrors``), makes exactly one upstream write, and is never retried: a retry
could book twice. Its payload reads the object back only for selected fields VSee's answer lacks.
Payloads are nullable, so a refused or failed mutation never takes its neighbours' data along.
An ``Idempotency-Key`` header makes a repeated mutation return the first answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import orjson
import strawberry
from strawberry import UNSET
from strawberry.scalars import JSON

from gateway.loaders import InvalidId, Raw, safe_segment
from gateway.upstream import (
    BadRequest,
    Conflict,
    FormFields,
    NotFound,
)

from ._convert import as_id, to_epoch
from .context import GatewayContext, Info
from .enums import CloseReason, IntakeTypeInput, VisitTypeInput
from .types import (
    INTAKE_KNOWN_KEYS,
    Intake,
    Visit,
    intake_of,
    later,
    later_or_now,
    load_intake,
    load_visit,
    visit_of,
)

MAX_TEXT = 2000
MAX_CUSTOM_FIELDS = 50
MAX_CUSTOM_BYTES = 16_384
MAX_ATTACHMENTS = 20
MAX_VISIT_HOURS = 12


@strawberry.enum(description="Why an input was refused.")
class UserErrorCode(Enum):
    REQUIRED = "REQUIRED"
    INVALID = "INVALID"
    TOO_LONG = "TOO_LONG"
    OUT_OF_RANGE = "OUT_OF_RANGE"
    NOT_FOUND = "NOT_FOUND"
    SLOT_TAKEN = "SLOT_TAKEN"
    CONFLICT = "CONFLICT"
    REJECTED = "REJECTED"


@strawberry.type(description="A problem the caller can fix, naming the input field.")
class UserError:
    field: str | None = strawberry.field(description='Path of the input field, e.g. "input.start".')
    message: str
    code: UserErrorCode


class _Checker:
    """Collects every problem in an input at once, so one round trip reports them all."""

    def __init__(self) -> None:
        self.errors: list[UserError] = []

    def add(self, field: str, message: str, code: UserErrorCode = UserErrorCode.INVALID) -> None:
        self.errors.append(UserError(field=field, message=message, code=code))

    def id(self, what: str, value: object | None, field: str, *, required: bool = False) -> str:
        if value is None or str(value).strip() == "":
            if required:
                self.add(field, f"{field} is required", UserErrorCode.REQUIRED)
            return ""
        try:
            return safe_segment(what, value, field=field)
        except InvalidId as exc:
            self.add(field, exc.message)
            return ""

    def text(self, value: str | None, field: str, *, limit: int = MAX_TEXT) -> str | None:
        if value is not None and len(value) > limit:
            self.add(field, f"{field} is longer than {limit} characters", UserErrorCode.TOO_LONG)
        return value


@strawberry.input(description="A consultation chosen from the room's `consultations`.")
class ConsultationInput:
    id: strawberry.ID
    description: str | None = None
    duration: int | None = None
    amount: str | None = strawberry.field(default=None, description='Decimal, e.g. "25.00".')
    currency: str | None = None
    charge: bool | None = None
    group: bool | None = None
    slots: int | None = None


@strawberry.input(
    description="What a member tells the clinic before a visit. On `updateIntake` a field left "
    "out is kept, and a field given as null (or `attachmentIds: []`) is cleared; on "
    "`createIntake` null is the same as leaving it out."
)
class IntakeInput:
    reason_for_visit: str | None = UNSET
    type: IntakeTypeInput | None = strawberry.field(
        default=UNSET, description="WALK_IN (1) or SCHEDULED (2)."
    )
    provider_id: strawberry.ID | None = UNSET
    member_code: str | None = strawberry.field(
        default=UNSET, description="Create on behalf of this member (their code)."
    )
    room_code: str | None = UNSET
    attachment_ids: list[strawberry.ID] | None = UNSET
    location: str | None = strawberry.field(default=UNSET, description="US state code, e.g. CA.")
    phone: str | None = UNSET
    consultation: ConsultationInput | None = UNSET
    reset: bool | None = strawberry.field(
        default=UNSET, description="Start from a blank intake instead of the member's last one."
    )
    custom_fields: JSON | None = strawberry.field(
        default=UNSET,
        description="Extra fields saved on the intake with their JSON types, e.g. "
        '{"custom_symptoms": ["Rash"], "custom_days": 3}. Keys: letters, digits, underscores; '
        "a null value clears that field on `updateIntake`.",
    )


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
    if data.consultation:
        c = data.consultation
        cid = check.id("consultation id", c.id, f"{prefix}.consultation.id", required=True)
        consultation = {
            "id": cid,
            "description": c.description,
            "duration": c.duration,
            "amount": c.amount,
            "currency": c.currency,
            "charge": c.charge,
            "group": c.group,
            "slots": c.slots,
        }
        body["consultation"] = {k: v for k, v in consultation.items() if v is not None}
    elif data.consultation is None and update:
        check.add(f"{prefix}.consultation", "a consultation can be replaced, not cleared")
    if data.reset is not UNSET and data.reset is not None:
        body["reset"] = data.reset
    if data.custom_fields is not UNSET:
        body.update(_custom_fields(check, data.custom_fields, f"{prefix}.customFields", update))
    return body


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


@strawberry.input(description="A walk-in: the member joins a room's waiting queue now.")
class AddWalkinInput:
    provider_id: strawberry.ID
    intake_id: strawberry.ID
    room_code: str


@strawberry.input(description="An e-consult: asynchronous, accepted later by a provider.")
class AddEconsultInput:
    intake_id: strawberry.ID
    room_code: str


@strawberry.input(description="Book a slot from `availability`.")
class CreateAppointmentInput:
    member_id: strawberry.ID
    start: datetime
    end: datetime
    intake_id: strawberry.ID = strawberry.field(description="The intake made for this visit.")
    provider_id: strawberry.ID | None = strawberry.field(
        default=None, description="A provider free in the slot; VSee picks one when omitted."
    )
    room_code: str | None = None
    type: VisitTypeInput = VisitTypeInput.APPOINTMENT


@strawberry.input(
    description="Changes to an appointment. Set `assignProviderId` to give a to-be-decided visit "
    "its provider, or `removeProvider: true` to take the provider off."
)
class UpdateAppointmentInput:
    start: datetime | None = None
    end: datetime | None = None
    assign_provider_id: strawberry.ID | None = None
    remove_provider: bool = False


@strawberry.type(description="The result of an intake mutation.")
class IntakePayload:
    intake_id: strawberry.ID | None = strawberry.field(
        description="The intake created or changed (the id the caller named, on an update)."
    )
    user_errors: list[UserError]
    # VSee's answer, with the id it may lack; read back only for fields it does not carry.
    _answer: strawberry.Private[Raw | None] = None

    @strawberry.field(description="The intake as it is now.")
    def intake(self, info: Info) -> Intake | None:
        if self.intake_id is None:
            return None
        if self._answer is None:
            return later(load_intake(info, self.intake_id))
        return later_or_now(intake_of(info, self._answer))


@strawberry.type(description="The result of a visit mutation.")
class VisitPayload:
    visit_id: strawberry.ID | None = strawberry.field(
        description="The visit created or changed (the id the caller named, for mutations "
        "whose VSee answer carries none)."
    )
    user_errors: list[UserError]
    _answer: strawberry.Private[Raw | None] = None

    @strawberry.field(description="The visit as it is now.")
    def visit(self, info: Info) -> Visit | None:
        if self.visit_id is None:
            return None
        if self._answer is None:
            return later(load_visit(info, self.visit_id))
        return later_or_now(visit_of(info, self._answer))


def _epoch(check: _Checker, value: datetime | None, field: str) -> int | None:
    if value is None:
        return None
    epoch = to_epoch(value)
    if epoch <= 0:
        check.add(field, f"{field} is not a valid time", UserErrorCode.OUT_OF_RANGE)
    return epoch


def _check_window(check: _Checker, start: int | None, end: int | None, prefix: str) -> None:
    if start is None or end is None:
        return
    if end <= start:
        check.add(f"{prefix}.end", "end must be after start", UserErrorCode.OUT_OF_RANGE)
    elif end - start > MAX_VISIT_HOURS * 3600:
        check.add(
            f"{prefix}.end",
            f"a visit lasts at most {MAX_VISIT_HOURS} hours",
            UserErrorCode.OUT_OF_RANGE,
        )


async def _call(
    ctx: GatewayContext,
    operation: str,
    fingerprint: object,
    call: Callable[[], Awaitable[Raw]],
    *,
    conflict: UserErrorCode = UserErrorCode.CONFLICT,
    conflict_field: str | None = None,
) -> tuple[Raw | None, list[UserError]]:
    """One upstream write; caller-fixable refusals become ``userErrors``, the rest raise."""
    credentials = ctx.loaders.credentials
    try:
        data: Raw = await ctx.services.idempotency.run(
            credentials, ctx.idempotency_key, operation, fingerprint, call
        )
    except Conflict as exc:
        return None, [UserError(field=conflict_field, message=exc.message, code=conflict)]
    except NotFound as exc:
        return None, [UserError(field=None, message=exc.message, code=UserErrorCode.NOT_FOUND)]
    except BadRequest as exc:
        return None, [UserError(field=None, message=exc.message, code=UserErrorCode.REJECTED)]
    return data, []


def _visit_payload(
    data: Raw | None, errors: list[UserError], named: str | None = None
) -> VisitPayload:
    """The payload of a visit mutation; ``named`` is the visit the caller named, reported when
    VSee's answer carries no id (POST /visits/:id?version=2 answers without one)."""
    if data is None:
        return VisitPayload(visit_id=None, user_errors=errors)
    visit_id = as_id(data.get("id")) or named
    if visit_id is None:
        return VisitPayload(visit_id=None, user_errors=errors)
    return VisitPayload(
        visit_id=strawberry.ID(visit_id), user_errors=errors, _answer={**data, "id": visit_id}
    )


def _invalid_visit(errors: list[UserError]) -> VisitPayload:
    return VisitPayload(visit_id=None, user_errors=errors)


def _form(pairs: list[tuple[str, Any]]) -> FormFields:
    return [(k, v) for k, v in pairs if v is not None and v != ""]


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Create an intake (POST /intakes).")
    async def create_intake(self, info: Info, input: IntakeInput) -> IntakePayload | None:
        check = _Checker()
        body = _intake_body(check, input, "input", update=False)
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
        return IntakePayload(intake_id=strawberry.ID(intake_id), user_errors=errors, _answer=data)

    @strawberry.mutation(description="Change fields of an intake (POST /intakes/:id).")
    async def update_intake(
        self, info: Info, id: strawberry.ID, input: IntakeInput
    ) -> IntakePayload | None:
        check = _Checker()
        intake_id = check.id("intake id", id, "id", required=True)
        body = _intake_body(check, input, "input", update=True)
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
        return IntakePayload(
            intake_id=strawberry.ID(intake_id),
            user_errors=errors,
            _answer={**data, "id": intake_id},
        )

    @strawberry.mutation(description="Put the member in a room's walk-in queue.")
    async def add_walkin(self, info: Info, input: AddWalkinInput) -> VisitPayload | None:
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
        data, errors = await _call(ctx, "addWalkin", form, lambda: ctx.writes.add_walkin(form))
        return _visit_payload(data, errors)

    @strawberry.mutation(description="Create an asynchronous e-consult for providers to accept.")
    async def add_econsult(self, info: Info, input: AddEconsultInput) -> VisitPayload | None:
        check = _Checker()
        body = {
            "intake_id": check.id("intake id", input.intake_id, "input.intakeId", required=True),
            "room_code": check.id("room code", input.room_code, "input.roomCode", required=True),
        }
        if check.errors:
            return _invalid_visit(check.errors)
        ctx = info.context
        data, errors = await _call(ctx, "addEconsult", body, lambda: ctx.writes.add_econsult(body))
        return _visit_payload(data, errors)

    @strawberry.mutation(description="Book an appointment in a free slot (POST /appointments).")
    async def create_appointment(
        self, info: Info, input: CreateAppointmentInput
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
        )
        return _visit_payload(data, errors)

    @strawberry.mutation(
        description="Move an appointment, or assign or remove its provider "
        "(POST /visits/:id?version=2)."
    )
    async def update_appointment(
        self, info: Info, id: strawberry.ID, input: UpdateAppointmentInput
    ) -> VisitPayload | None:
        check = _Checker()
        visit_id = check.id("visit id", id, "id", required=True)
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
        ctx = info.context
        data, errors = await _call(
            ctx,
            "updateAppointment",
            [visit_id, form],
            lambda: ctx.writes.update_visit(visit_id, form),
            conflict=UserErrorCode.SLOT_TAKEN,
            conflict_field="input.start",
        )
        # VSee's answer to this one has no id: the payload names the visit the caller named.
        return _visit_payload(data, errors, named=visit_id)

    @strawberry.mutation(description="Close or cancel a visit or appointment (POST /visits/close).")
    async def close_visit(
        self, info: Info, id: strawberry.ID, reason: CloseReason | None = None
    ) -> VisitPayload | None:
        check = _Checker()
        visit_id = check.id("visit id", id, "id", required=True)
        if check.errors:
            return _invalid_visit(check.errors)
        form = _form([("id", visit_id), ("reason", reason.value if reason else None)])
        ctx = info.context
        data, errors = await _call(
            ctx, "closeVisit", form, lambda: ctx.writes.close_visit(form, visit_id)
        )
        return _visit_payload(data, errors, named=visit_id)
