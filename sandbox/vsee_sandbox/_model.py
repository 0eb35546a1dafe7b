"""The sandbox's domain records and the one place where VSee's numeric codes are defined."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any


class VisitStatus(IntEnum):
    """Visit `status` codes.

    10, 20 and 30 appear in VSee's examples (new walk-in, scheduled or e-consult awaiting
    acceptance, started). 40 and 50 are our inference for completed and cancelled: VSee
    does not document them, so change them here if the real service disagrees.
    """

    WAITING = 10
    SCHEDULED = 20
    IN_PROGRESS = 30
    COMPLETED = 40
    CANCELLED = 50


# A visit in one of these states holds its provider's time: the slot is not offered again.
ACTIVE_STATUSES = frozenset({VisitStatus.WAITING, VisitStatus.SCHEDULED, VisitStatus.IN_PROGRESS})
# Only visits that have not started yet may be rescheduled (`isEditExpired` is false).
EDITABLE_STATUSES = frozenset({VisitStatus.WAITING, VisitStatus.SCHEDULED})


class VisitType(IntEnum):
    """Visit `type` codes, as in VSee's examples."""

    WALKIN = 1
    APPOINTMENT = 2
    ECONSULT = 3


# `subtype` per type: 3 on appointments and 4 on e-consults are from VSee's examples; 1 on
# walk-ins is our choice (the walk-in example shows none).
SUBTYPE_BY_TYPE = {VisitType.WALKIN: 1, VisitType.APPOINTMENT: 3, VisitType.ECONSULT: 4}


class UserType(IntEnum):
    """User `type` codes from VSee's User API (only the ones the sandbox seeds)."""

    ADMIN = 160  # the clinic's API/admin user: sees everything in its account
    MEMBER = 200  # a patient
    PROVIDER = 400


PROVIDER_SUBTYPE = "482"  # "Doctor / licensed service provider"
USER_STATUS_ACTIVE = 20

# `gender` meaning is inferred: VSee's examples only show the numbers.
GENDER_MALE = 1
GENDER_FEMALE = 2

CLOSE_REASONS = frozenset(
    {"patient_end_call", "patient_exit_room", "call_ended", "patient_cancel_appointment"}
)
CANCEL_REASON = "patient_cancel_appointment"

DAY = 86400
SLOT_UNIT = 15 * 60  # providers' calendars are cut in 15-minute units
BOOKING_HORIZON = 28 * 86400  # availability is published four weeks ahead
MAX_AVAILABILITY_RANGE = 31 * 86400
ECONSULT_EXPIRY = 4 * 3600  # an e-consult not accepted within 4 hours of its end expires
CURRENCY = "USD"


def weekday(epoch: int) -> int:
    """Monday = 0, in UTC (1970-01-01 was a Thursday)."""
    return (epoch // DAY + 3) % 7


class Clock:
    """Sandbox time: starts at a chosen epoch second and runs at wall-clock speed."""

    __slots__ = ("_base", "_started")

    def __init__(self, base: float) -> None:
        self._base = base
        self._started = time.monotonic()

    def now(self) -> float:
        return self._base + (time.monotonic() - self._started)


@dataclass(slots=True)
class Account:
    id: int
    code: str
    name: str
    domain: str
    created: int


@dataclass(slots=True)
class Specialty:
    code: str
    name: str
    duration: int


@dataclass(slots=True)
class Consultation:
    id: str
    description: str
    duration: int
    amount: int
    charge: bool
    group: bool = False
    slots: int = 1


@dataclass(slots=True)
class Room:
    id: int
    code: str
    slug: str
    name: str
    account_code: str
    domain: str
    created: int
    modified: int
    specialties: list[Specialty]
    consultations: list[Consultation]
    timezone: str
    walkin_enabled: bool = True
    appointment_enabled: bool = True
    is_closed: bool = False
    close_msg: str = ""
    provider_ids: list[int] = field(default_factory=list)


@dataclass(slots=True)
class User:
    id: int
    account_code: str
    type: int
    code: str
    first_name: str
    last_name: str
    email: str
    token: str
    created: int
    subtype: str = ""
    phone: str = ""
    dob: str | None = None
    gender: int | None = None
    photo: str | None = None
    title: str = ""
    suffix: str = ""
    short_bio: str = ""
    timezone: str = "UTC"
    # Providers only: the rooms they serve and their weekly hours, weekday (0 = Monday)
    # -> (first minute, last minute) of the UTC day.
    room_codes: list[str] = field(default_factory=list)
    specialty_codes: list[str] = field(default_factory=list)
    hours: dict[int, tuple[int, int]] = field(default_factory=dict)
    # Members only.
    medical_profile: dict[str, Any] | None = None
    prescriptions: list[Prescription] = field(default_factory=list)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def username(self) -> str:
        return self.email

    @property
    def vseeid(self) -> str:
        return f"{self.account_code}+user{self.id}"


@dataclass(slots=True)
class Prescription:
    """An e-prescription; `data` keeps DoseSpot's capitalised keys as VSee relays them."""

    issued: int
    data: dict[str, Any]


@dataclass(slots=True)
class FileRecord:
    id: str
    name: str
    ext: str
    size: int
    creator_id: int
    created: float
    modified: float

    @property
    def path(self) -> str:
        day = time.strftime("%Y/%m/%d", time.gmtime(self.created))
        suffix = f".{self.ext}" if self.ext else ""
        return f"files/{day}/{self.id}{suffix}"


@dataclass(slots=True)
class Intake:
    id: str
    account_code: str
    created: int
    modified: int
    member_id: int | None = None
    provider_id: int | None = None
    room_code: str | None = None
    type: str | None = None
    reason_for_visit: str | None = None
    location: str | None = None
    phone: str | None = None
    consultation: dict[str, Any] | None = None
    # None means "never given": VSee then answers `""` instead of a list.
    attachments: list[FileRecord] | None = None
    medical_profile: dict[str, Any] | None = None
    echo_provider: bool = False  # the client sent `provider`, not `provider_id`
    # Whether the client named the member (`member_id`); VSee echoes it only then.
    member_given: bool = False
    # Custom and unknown fields, stored and returned exactly as the client sent them.
    extra: dict[str, Any] = field(default_factory=dict)
    visit_id: int | None = None
    invoice_id: str | None = None


@dataclass(slots=True)
class Payment:
    id: str  # the consultation it charges for
    duration: int
    amount: str
    description: str


@dataclass(slots=True)
class Invoice:
    id: str
    user_id: int
    amount_due: int
    created: int
    modified: int
    status: int = 10
    currency: str = CURRENCY
    livemode: bool = False


@dataclass(slots=True)
class Postvisit:
    id: str
    created: int
    modified: int
    draft: bool = True
    modified_by: str = ""
    attachments: list[FileRecord] = field(default_factory=list)
    # physical_exam, assessment_plan, diagnosis, ... (HTML where VSee stores HTML)
    notes: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class RelatedWalkin:
    """The waiting-room visit VSee opens when an appointment's patient checks in."""

    id: int
    start: int
    end: int
    status: int


@dataclass(slots=True)
class Visit:
    id: int
    code: str
    account_code: str
    member_id: int
    provider_id: int  # 0 = no provider yet
    room_code: str
    type: int
    status: int
    start: int
    end: int
    created: int
    modified: int
    creator_id: int
    intake_id: str
    payment: Payment
    invoice: Invoice
    postvisit: Postvisit
    meeting_id: str
    conference_pin: int
    one_time_link_token: str
    state: str | None = None
    actual_start: int | None = None
    actual_end: int | None = None
    completed_by: int | None = None
    close_reason: str | None = None
    wait_seconds: int = 0
    expiry: int | None = None
    related_walkin: RelatedWalkin | None = None
    prescriptions: list[Prescription] = field(default_factory=list)

    @property
    def subtype(self) -> int:
        return SUBTYPE_BY_TYPE[VisitType(self.type)]

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def holds_time(self) -> bool:
        """Whether the visit blocks its provider's calendar (e-consults are asynchronous)."""
        return self.status in ACTIVE_STATUSES and self.type != VisitType.ECONSULT


@dataclass(slots=True)
class State:
    """Everything one sandbox knows; `_store.Store` is the only writer after seeding."""

    seed: int
    accounts: dict[str, Account]
    rooms: dict[str, Room]  # by code; room codes are unique across accounts, as on VSee
    users: dict[int, User]
    tokens: dict[str, User]
    visits: dict[int, Visit]
    intakes: dict[str, Intake]
    files: dict[str, FileRecord]
    next_user_id: int
    next_visit_id: int


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling: always an account, and a user unless the route is public."""

    account: Account
    user: User | None = None

    @property
    def is_member(self) -> bool:
        return self.user is not None and self.user.type == UserType.MEMBER

    def sees(self, account_code: str, member_id: int | None) -> bool:
        """Members see only their own records; providers and admins see their account's."""
        if self.user is None or account_code != self.account.code:
            return False
        return self.user.type != UserType.MEMBER or member_id == self.user.id
