"""GraphQL enums for VSee's numeric codes: output enums fall back to UNKNOWN for new codes,
input enums (``*Input``) accept only the codes a caller may send."""

from __future__ import annotations

from enum import Enum
from typing import Any, TypeVar

import strawberry

from ._convert import as_code, as_text, is_absent, unconvertible

E = TypeVar("E", bound=Enum)


@strawberry.enum(description="Kind of user (VSee's user `type` code).")
class UserType(Enum):
    MEMBER = strawberry.enum_value(200, description="A member (patient).")
    APP = strawberry.enum_value(160, description="An API/app user that creates visits.")
    GUEST = strawberry.enum_value(600, description="A guest invited to a call.")
    UNKNOWN = strawberry.enum_value(
        -1, description="A code this gateway does not know (providers' own code is inferred)."
    )


@strawberry.enum(description="Kind of visit (VSee `type`).")
class VisitType(Enum):
    WALK_IN = strawberry.enum_value(1, description="An on-demand visit from the waiting room.")
    APPOINTMENT = strawberry.enum_value(2, description="A scheduled appointment.")
    E_CONSULT = strawberry.enum_value(
        3, description="An asynchronous e-consult providers accept from their dashboard."
    )
    UNKNOWN = strawberry.enum_value(-1, description="A code this gateway does not know yet.")


# VSee's examples show codes 10/20/30 but never say what they mean, and 40/50 not at all: every
# meaning is inferred (see vsee-api-notes.md), and the descriptions say so. The raw
# code is always available as `statusCode` so a client is never stuck with UNKNOWN.
WAITING = "A new walk-in, waiting for a provider (code 10 in VSee's examples; meaning inferred)."
SCHEDULED = (
    "Scheduled, or an e-consult waiting to be accepted (code 20 in VSee's examples; meaning "
    "inferred)."
)
IN_PROGRESS = "The visit has started (code 30 in VSee's examples; meaning inferred)."


@strawberry.enum(description="Where a visit stands (VSee `status`).")
class VisitStatus(Enum):
    WAITING = strawberry.enum_value(10, description=WAITING)
    SCHEDULED = strawberry.enum_value(20, description=SCHEDULED)
    IN_PROGRESS = strawberry.enum_value(30, description=IN_PROGRESS)
    COMPLETED = strawberry.enum_value(
        40, description="Ended normally (code 40 inferred: VSee's docs do not show it)."
    )
    CANCELLED = strawberry.enum_value(
        50,
        description="Cancelled before it took place (code 50 inferred: VSee's docs do not "
        "show it).",
    )
    UNKNOWN = strawberry.enum_value(-1, description="A code this gateway does not know yet.")


@strawberry.enum(description="Gender as VSee codes it (1 male, 2 female; inferred).")
class Gender(Enum):
    MALE = strawberry.enum_value(1, description="Inferred: VSee gender code 1.")
    FEMALE = strawberry.enum_value(2, description="Inferred: VSee gender code 2.")
    UNKNOWN = strawberry.enum_value(-1, description="No gender code, or one not mapped.")


@strawberry.enum(description="Intake kind (VSee `type` on an intake).")
class IntakeType(Enum):
    WALK_IN = strawberry.enum_value(1, description="For a walk-in (VSee type 1).")
    APPOINTMENT = strawberry.enum_value(2, description="For an appointment (VSee type 2).")
    UNKNOWN = strawberry.enum_value(-1, description="A code this gateway does not know yet.")


@strawberry.enum(description="Kind of visit a caller may ask for (VSee `type`).")
class VisitTypeInput(Enum):
    WALK_IN = strawberry.enum_value(1, description="An on-demand visit from the waiting room.")
    APPOINTMENT = strawberry.enum_value(2, description="A scheduled appointment.")
    E_CONSULT = strawberry.enum_value(3, description="An asynchronous e-consult.")


@strawberry.enum(description="The kinds of visit VSee's POST /appointments books (its `type`).")
class AppointmentTypeInput(Enum):
    APPOINTMENT = strawberry.enum_value(2, description="A scheduled appointment (type 2).")


@strawberry.enum(description="Visit status a caller may filter on (VSee `status`).")
class VisitStatusInput(Enum):
    WAITING = strawberry.enum_value(10, description=WAITING)
    SCHEDULED = strawberry.enum_value(20, description=SCHEDULED)
    IN_PROGRESS = strawberry.enum_value(30, description=IN_PROGRESS)
    COMPLETED = strawberry.enum_value(
        40, description="Ended normally (code 40 inferred: VSee's docs do not show it)."
    )
    CANCELLED = strawberry.enum_value(
        50,
        description="Cancelled before it took place (code 50 inferred: VSee's docs do not "
        "show it).",
    )


@strawberry.enum(description="Intake kind a caller may send (VSee `type` on an intake).")
class IntakeTypeInput(Enum):
    WALK_IN = strawberry.enum_value(1, description="For a walk-in (VSee type 1).")
    APPOINTMENT = strawberry.enum_value(2, description="For an appointment (VSee type 2).")


@strawberry.enum(description="Why a visit is closed (VSee `reason` on POST /visits/close).")
class CloseReason(Enum):
    PATIENT_END_CALL = strawberry.enum_value(
        "patient_end_call", description="The patient pressed End Call."
    )
    PATIENT_EXIT_ROOM = strawberry.enum_value(
        "patient_exit_room", description="The patient left the waiting room."
    )
    CALL_ENDED = strawberry.enum_value(
        "call_ended", description="The call ended otherwise (network, or the provider)."
    )
    PATIENT_CANCEL_APPOINTMENT = strawberry.enum_value(
        "patient_cancel_appointment", description="The patient cancelled the appointment."
    )


@strawberry.enum(
    description="Where an invoice stands (VSee invoice `status`). VSee documents no invoice "
    "status codes: the values are named by code, and any meaning is inferred."
)
class InvoiceStatus(Enum):
    CODE_10 = strawberry.enum_value(
        10,
        description="Code 10, the only one VSee's examples show (the invoice of a just-created "
        "e-consult, nothing paid). Inferred: a new, open invoice.",
    )
    UNKNOWN = strawberry.enum_value(
        -1,
        description="A code this gateway does not know (`statusCode` has it), or a value that "
        "is no integer code at all (`statusCode` is then null).",
    )


@strawberry.enum(
    description="A provider's `status` in a room's provider list. VSee documents the key but "
    "none of its values: the values are named by code, and any meaning is inferred."
)
class ProviderStatus(Enum):
    CODE_20 = strawberry.enum_value(
        20,
        description="Code 20. Inferred: an active account (the code the gateway's sandbox "
        "answers for every provider; VSee's docs show no value).",
    )
    UNKNOWN = strawberry.enum_value(
        -1, description="A code this gateway does not know; `statusCode` has it."
    )


@strawberry.enum(
    description="A prescription's `Status` in VSee's e-prescribing record. VSee documents no "
    "list of statuses: values are named after the codes its examples show, meanings inferred."
)
class PrescriptionStatus(Enum):
    CURRENT = strawberry.enum_value(
        "Current",
        description="`Current`, as VSee's example shows. Inferred: a prescription still in effect.",
    )
    UNKNOWN = strawberry.enum_value(
        "", description="A status this gateway does not know; `statusCode` has it."
    )


def from_code(enum: type[E], value: Any) -> E:
    """The member for VSee's numeric code; a value no member has is UNKNOWN and counted."""
    code = as_code(value)
    # A dict lookup: iterating an Enum class builds a generator over its members every call,
    # and this runs for every visit's type and status, every intake's type, every gender.
    member = enum._value2member_map_.get(code) if code is not None else None
    if member is not None:
        return member  # type: ignore[return-value]
    if not is_absent(value):
        # Not an error (new codes appear), but worth seeing: counted like a failed conversion.
        unconvertible(f"{enum.__name__} code", value)
    return enum["UNKNOWN"]


def from_text_code(enum: type[E], value: Any) -> E:
    """The member for VSee's text code (case as VSee writes it); unknown codes as from_code."""
    code = as_text(value)
    member = enum._value2member_map_.get(code.strip()) if code else None
    if member is not None and code:
        return member  # type: ignore[return-value]
    if code is not None:
        unconvertible(f"{enum.__name__} code", value)
    return enum["UNKNOWN"]
