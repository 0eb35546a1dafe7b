"""The sandbox's in-memory state and its business rules: visibility, booking, visit life cycle."""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from ._data import (
    FULL_WEEK,
    derive_token,
    new_uuid,
    new_visit,
    seed_state,
)
from ._errors import ApiError, invalid, missing, not_found, unprocessable
from ._model import (
    BOOKING_HORIZON,
    CANCEL_REASON,
    DAY,
    EDITABLE_STATUSES,
    SLOT_UNIT,
    Account,
    Caller,
    Clock,
    Consultation,
    FileRecord,
    Intake,
    Room,
    State,
    User,
    UserType,
    Visit,
    VisitStatus,
    VisitType,
    weekday,
)
from ._params import Params

# Intake fields the sandbox interprets; everything else is a custom field kept verbatim.
_INTAKE_FIELDS = frozenset(
    {
        "provider_id",
        "provider",
        "reason_for_visit",
        "type",
        "member_id",
        "room_code",
        "attachments",
        "location",
        "phone",
        "consultation",
        "reset",
    }
)
# Keys the sandbox writes itself; a client cannot set them as custom fields.
_INTAKE_RESERVED = frozenset(
    {"id", "created", "modified", "visit_id", "invoice_id", "medical_profile", "account_code"}
)
SSO_USER_TYPES = frozenset({UserType.MEMBER, UserType.PROVIDER})


@dataclass(frozen=True, slots=True)
class VisitFilter:
    types: frozenset[int] | None = None
    statuses: frozenset[int] | None = None
    member_id: int | None = None
    provider_id: int | None = None
    room_code: str | None = None
    start_from: int | None = None  # inclusive
    start_to: int | None = None  # exclusive


@dataclass(frozen=True, slots=True)
class Slot:
    start: int
    end: int
    provider_ids: tuple[int, ...]


class Store:
    """State plus the rules that change it. Single-threaded: one event loop owns a Store."""

    def __init__(self, seed: int, now: float | None) -> None:
        self._seed = seed
        self._fixed_now = now
        self.reset()

    def reset(self) -> None:
        base = self._fixed_now if self._fixed_now is not None else time.time()
        self.clock = Clock(base)
        self.state: State = seed_state(self._seed, base)
        # Runtime ids come from their own generator so a replayed request sequence gets the
        # same ids, whatever was seeded.
        self.rng = random.Random(self._seed * 7919 + 1)

    def now(self) -> int:
        return int(self.clock.now())

    # -- lookups ---------------------------------------------------------------------------

    def account(self, code: str) -> Account | None:
        return self.state.accounts.get(code)

    def user_for_token(self, token: str) -> User | None:
        return self.state.tokens.get(token)

    def room(self, account: Account, code: str) -> Room:
        room = self.state.rooms.get(code)
        if room is None or room.account_code != account.code:
            raise not_found("Room")
        return room

    def rooms(self, account: Account) -> list[Room]:
        return [room for room in self.state.rooms.values() if room.account_code == account.code]

    def room_providers(self, room: Room) -> list[User]:
        return [self.state.users[provider_id] for provider_id in room.provider_ids]

    def room_provider(self, room: Room, provider_ref: str) -> User:
        provider_id = _int_or_none(provider_ref)
        if provider_id is None or provider_id not in room.provider_ids:
            raise not_found("Provider")
        return self.state.users[provider_id]

    def visit(self, caller: Caller, visit_ref: str) -> Visit:
        """A visit the caller may see; anything else is 404 so ids of others do not leak."""
        visit_id = _int_or_none(visit_ref)
        visit = self.state.visits.get(visit_id) if visit_id is not None else None
        if visit is None or not caller.sees(visit.account_code, visit.member_id):
            raise not_found("Visit")
        return visit

    def intake(self, caller: Caller, intake_id: str) -> Intake:
        intake = self.state.intakes.get(intake_id)
        if intake is None or not caller.sees(intake.account_code, intake.member_id):
            raise not_found("Intake")
        return intake

    def _referenced_intake(self, caller: Caller, intake_id: str) -> Intake:
        try:
            return self.intake(caller, intake_id)
        except ApiError:
            raise unprocessable("Unknown intake_id") from None

    def _provider(self, account: Account, provider_id: int) -> User:
        provider = self.state.users.get(provider_id)
        if (
            provider is None
            or provider.type != UserType.PROVIDER
            or provider.account_code != account.code
        ):
            raise unprocessable("Unknown provider_id")
        return provider

    def _room_ref(self, account: Account, code: str) -> Room:
        room = self.state.rooms.get(code)
        if room is None or room.account_code != account.code:
            raise unprocessable("Unknown room_code")
        return room

    def _member_ref(self, caller: Caller, ref: str | None) -> User:
        """The member a call acts for: members act for themselves, staff must name one."""
        user = _user_of(caller)
        if user.type == UserType.MEMBER:
            if ref is None or ref in (str(user.id), user.code):
                return user
            raise ApiError(403, "Members may only act for themselves")
        if ref is None:
            raise missing("member_id")
        member_id = _int_or_none(ref)
        for candidate in self.state.users.values():
            if (
                candidate.account_code == caller.account.code
                and candidate.type == UserType.MEMBER
                and (candidate.id == member_id or candidate.code == ref)
            ):
                return candidate
        raise unprocessable("Unknown member_id")

    # -- reads -----------------------------------------------------------------------------

    def list_visits(
        self, caller: Caller, flt: VisitFilter, *, page: int, limit: int
    ) -> tuple[int, list[Visit]]:
        found = [
            visit
            for visit in self.state.visits.values()
            if caller.sees(visit.account_code, visit.member_id) and _matches(visit, flt)
        ]
        found.sort(key=lambda v: (v.start, v.id), reverse=True)
        offset = (page - 1) * limit
        return len(found), found[offset : offset + limit]

    def current_visit(self, caller: Caller) -> Visit | None:
        user = _user_of(caller)
        started = [
            visit
            for visit in self.state.visits.values()
            if visit.status == VisitStatus.IN_PROGRESS
            and visit.account_code == caller.account.code
            and user.id in (visit.member_id, visit.provider_id)
        ]
        return max(started, key=lambda v: (v.start, v.id), default=None)

    def availability(
        self,
        caller: Caller,
        *,
        start: int,
        end: int,
        duration: int | None,
        member_ref: str | None,
        provider_id: int | None,
        room_code: str | None,
        consultation_id: str | None,
        intake_id: str | None,
    ) -> list[Slot]:
        account = caller.account
        if member_ref is not None:
            self._member_ref(caller, member_ref)
        rooms = self.rooms(account)
        if room_code is None and intake_id is not None:
            room_code = self._referenced_intake(caller, intake_id).room_code
        if room_code is not None:
            rooms = [self._room_ref(account, room_code)]
        if consultation_id is not None:
            matching = [
                (room, c) for room in rooms for c in room.consultations if c.id == consultation_id
            ]
            if not matching:
                raise unprocessable("Unknown consultation_id")
            rooms = [room for room, _ in matching]
            if duration is None:
                duration = matching[0][1].duration
        seconds = (duration or 15) * 60
        provider_ids = sorted({pid for room in rooms for pid in room.provider_ids})
        if provider_id is not None:
            self._provider(account, provider_id)
            provider_ids = [pid for pid in provider_ids if pid == provider_id]

        now = self.now()
        low = max(start, now + 1)
        high = min(end, now + BOOKING_HORIZON)
        busy = self._busy_intervals(provider_ids)
        step = -(-seconds // SLOT_UNIT) * SLOT_UNIT
        grouped: dict[int, list[int]] = {}
        for pid in provider_ids:
            provider = self.state.users[pid]
            taken = busy.get(pid, [])
            for day in range(low - low % DAY, high, DAY):
                hours = provider.hours.get(weekday(day))
                if hours is None:
                    continue
                t = day + hours[0] * 60
                last = day + hours[1] * 60
                while t + seconds <= last:
                    if t >= low and t + seconds <= high and not _overlaps(taken, t, t + seconds):
                        grouped.setdefault(t, []).append(pid)
                    t += step
        return [Slot(t, t + seconds, tuple(grouped[t])) for t in sorted(grouped)]

    def _busy_intervals(self, provider_ids: Iterable[int]) -> dict[int, list[tuple[int, int]]]:
        wanted = set(provider_ids)
        busy: dict[int, list[tuple[int, int]]] = {}
        for visit in self.state.visits.values():
            if visit.provider_id in wanted and visit.holds_time:
                busy.setdefault(visit.provider_id, []).append((visit.start, visit.end))
        return busy

    def _is_free(self, provider_id: int, start: int, end: int, *, ignore: int = 0) -> bool:
        return not any(
            visit.provider_id == provider_id
            and visit.holds_time
            and visit.id != ignore
            and visit.start < end
            and start < visit.end
            for visit in self.state.visits.values()
        )

    def _bookable(self, provider: User, start: int, end: int) -> bool:
        """Whether [start, end) is published working time of the provider and still free."""
        day = start - start % DAY
        hours = provider.hours.get(weekday(day))
        return (
            hours is not None
            and start >= day + hours[0] * 60
            and end <= day + hours[1] * 60
            and end <= self.now() + BOOKING_HORIZON
            and self._is_free(provider.id, start, end)
        )

    # -- users -----------------------------------------------------------------------------

    def sso(self, account: Account, body: Params) -> User:
        first_name = body.need_text("first_name")
        last_name = body.need_text("last_name")
        user_type = body.integer("type") or UserType.MEMBER
        if user_type not in SSO_USER_TYPES:
            raise unprocessable("The sandbox signs on members (200) and providers (400) only")
        code = body.need_text("code")
        if len(code) > 128:
            raise invalid("code", "at most 128 characters")
        email, dob = body.text("email"), body.text("dob")
        for user in self.state.users.values():
            if user.account_code == account.code and user.code == code and user.type == user_type:
                user.first_name, user.last_name = first_name, last_name
                if email:
                    user.email = email
                if dob:
                    user.dob = dob
                return user
        state = self.state
        state.next_user_id += 1
        user = User(
            id=state.next_user_id,
            account_code=account.code,
            type=user_type,
            code=code,
            first_name=first_name,
            last_name=last_name,
            email=email or f"{code[:40]}@{account.code}.sso.example.com",
            token=derive_token(state.seed, state.next_user_id),
            created=self.now(),
            dob=dob,
        )
        if user_type == UserType.PROVIDER:
            user.subtype = "482"
            user.hours = dict(FULL_WEEK)
        state.users[user.id] = user
        state.tokens[user.token] = user
        return user

    # -- intakes ---------------------------------------------------------------------------

    def create_intake(self, caller: Caller, body: Params) -> Intake:
        member = self._member_ref(caller, body.text("member_id"))
        now = self.now()
        intake = Intake(
            id=new_uuid(self.rng),
            account_code=caller.account.code,
            created=now,
            modified=now,
            member_id=member.id,
            medical_profile=member.medical_profile,
            member_given="member_id" in body,
        )
        self._apply_intake(caller, intake, body)
        self.state.intakes[intake.id] = intake
        return intake

    def update_intake(self, caller: Caller, intake: Intake, body: Params) -> None:
        if body.flag("reset"):
            # `reset` starts the form over: fields not sent in this call are dropped.
            intake.provider_id = intake.room_code = intake.type = None
            intake.reason_for_visit = intake.location = intake.phone = None
            intake.consultation = intake.attachments = None
            intake.echo_provider = intake.member_given = False
            intake.extra = {}
        if "member_id" in body:
            intake.member_id = self._member_ref(caller, body.text("member_id")).id
            intake.member_given = True
        self._apply_intake(caller, intake, body)
        intake.modified = self.now()

    def _apply_intake(self, caller: Caller, intake: Intake, body: Params) -> None:
        account = caller.account
        provider_key = body.first("provider_id", "provider")
        if provider_key is not None:
            provider_id = body.integer(provider_key, minimum=0) or 0
            intake.provider_id = self._provider(account, provider_id).id if provider_id else None
            # VSee answers with the spelling the client used (the seed's curl sends `provider`).
            intake.echo_provider = provider_key == "provider"
        if "type" in body:
            kind = body.integer("type", minimum=1, maximum=2)
            intake.type = None if kind is None else str(kind)
        if "room_code" in body:
            code = body.text("room_code")
            intake.room_code = self._room_ref(account, code).code if code else None
        for name in ("reason_for_visit", "location", "phone"):
            if name in body:
                # Kept as sent: an empty value is answered as "", like VSee's examples.
                setattr(intake, name, body.text(name) or "")
        if "consultation" in body:
            intake.consultation = _consultation_field(body.data["consultation"])
        if "attachments" in body:
            intake.attachments = self._attachments(caller, body.data["attachments"])
        for key, value in body.data.items():
            if key not in _INTAKE_FIELDS and key not in _INTAKE_RESERVED:
                intake.extra[key] = value

    def _attachments(self, caller: Caller, value: Any) -> list[FileRecord]:
        ids = _attachment_ids(value)
        records = []
        for file_id in ids:
            record = self.state.files.get(file_id)
            if record is None:
                # There is no upload endpoint in the sandbox, so an id the client names is
                # taken as a file it uploaded elsewhere; an empty record stands for it.
                now = self.clock.now()
                record = FileRecord(
                    id=file_id,
                    name=file_id,
                    ext="",
                    size=0,
                    creator_id=_user_of(caller).id,
                    created=now,
                    modified=now,
                )
                self.state.files[file_id] = record
            records.append(record)
        return records

    # -- visits ----------------------------------------------------------------------------

    def book_appointment(
        self,
        caller: Caller,
        *,
        member_ref: str | None,
        slot_start: int,
        slot_end: int,
        intake_id: str,
        provider_id: int | None,
        room_code: str | None,
    ) -> Visit:
        account = caller.account
        member = self._member_ref(caller, member_ref)
        intake = self._referenced_intake(caller, intake_id)
        _check_usable(intake, member)
        if slot_end <= slot_start:
            raise unprocessable("slot_end must be after slot_start")
        if slot_start <= self.now():
            raise unprocessable("slot_start must be in the future")
        code = room_code or intake.room_code
        room = self._room_ref(account, code) if code else None
        if provider_id:
            provider = self._provider(account, provider_id)
            if room is not None and provider.id not in room.provider_ids:
                raise unprocessable("The provider does not serve this room")
            if not self._bookable(provider, slot_start, slot_end):
                raise _slot_taken()
        else:
            candidates = sorted(
                room.provider_ids if room is not None else self._provider_ids(account)
            )
            if intake.provider_id in candidates:
                candidates.insert(0, intake.provider_id)  # the patient's choice goes first
            bookable = (
                self.state.users[pid]
                for pid in candidates
                if self._bookable(self.state.users[pid], slot_start, slot_end)
            )
            found = next(bookable, None)
            if found is None:
                raise _slot_taken()
            provider = found
        if room is None:
            room = self._home_room(account, provider)
        return self._new_visit(
            caller,
            member,
            intake,
            room,
            provider.id,
            VisitType.APPOINTMENT,
            VisitStatus.SCHEDULED,
            slot_start,
            slot_end,
        )

    def add_walkin(
        self, caller: Caller, *, intake_id: str, provider_id: int | None, room_code: str | None
    ) -> Visit:
        account = caller.account
        intake, member, room = self._visit_inputs(caller, intake_id, room_code)
        if not room.walkin_enabled or room.is_closed:
            raise unprocessable(f"Room {room.code} does not take walk-ins")
        pid = provider_id if provider_id is not None else (intake.provider_id or 0)
        if pid:
            provider = self._provider(account, pid)
            if provider.id not in room.provider_ids:
                raise unprocessable("The provider does not serve this room")
        now = self.now()
        minutes = self._consultation(room, intake).duration
        return self._new_visit(
            caller,
            member,
            intake,
            room,
            pid,
            VisitType.WALKIN,
            VisitStatus.WAITING,
            now,
            now + minutes * 60,
        )

    def _visit_inputs(
        self, caller: Caller, intake_id: str, room_code: str | None
    ) -> tuple[Intake, User, Room]:
        """The intake a new visit is made from, its member, and the room (given or the intake's)."""
        intake = self._referenced_intake(caller, intake_id)
        member = self._intake_member(caller, intake)
        _check_usable(intake, member)
        code = room_code or intake.room_code
        if not code:
            raise missing("room_code")
        return intake, member, self._room_ref(caller.account, code)

    def add_econsult(self, caller: Caller, *, intake_id: str, room_code: str | None) -> Visit:
        intake, member, room = self._visit_inputs(caller, intake_id, room_code)
        if intake.location is None:
            intake.location = "--"  # VSee's "no state given"
        now = self.now()
        visit = self._new_visit(
            caller,
            member,
            intake,
            room,
            0,
            VisitType.ECONSULT,
            VisitStatus.SCHEDULED,
            now,
            now + SLOT_UNIT,
        )
        visit.state = intake.location
        return visit

    def update_visit(
        self,
        caller: Caller,
        visit: Visit,
        *,
        start: int | None,
        end: int | None,
        provider_id: int | None,
    ) -> None:
        if visit.status not in EDITABLE_STATUSES:
            raise unprocessable("This visit can no longer be edited")
        new_start = start if start is not None else visit.start
        if end is not None:
            new_end = end
        elif start is not None:
            new_end = start + (visit.end - visit.start)  # moving keeps the length
        else:
            new_end = visit.end
        if new_end <= new_start:
            raise unprocessable("end must be after start")
        new_provider = visit.provider_id
        if provider_id is not None:
            new_provider = self._provider(caller.account, provider_id).id if provider_id else 0
        if (
            new_provider
            and visit.holds_time
            and not self._is_free(new_provider, new_start, new_end, ignore=visit.id)
        ):
            raise _slot_taken()
        intake = self.state.intakes.get(visit.intake_id)
        if intake is not None and intake.provider_id in (None, visit.provider_id):
            intake.provider_id = new_provider or None
        visit.start, visit.end, visit.provider_id = new_start, new_end, new_provider
        visit.modified = self.now()

    def close_visit(self, caller: Caller, visit: Visit, reason: str | None) -> None:
        if not visit.is_active:
            raise unprocessable("This visit is already closed")
        now = self.now()
        if visit.status == VisitStatus.IN_PROGRESS:
            visit.actual_end = now
        visit.status = VisitStatus.CANCELLED if reason == CANCEL_REASON else VisitStatus.COMPLETED
        visit.close_reason = reason
        visit.completed_by = _user_of(caller).id
        visit.modified = now
        if visit.related_walkin is not None:
            visit.related_walkin.status = visit.status

    def _intake_member(self, caller: Caller, intake: Intake) -> User:
        if intake.member_id is not None:
            return self.state.users[intake.member_id]
        if caller.is_member:
            return _user_of(caller)
        raise unprocessable("The intake names no member")

    def _consultation(self, room: Room, intake: Intake) -> Consultation:
        wanted = intake.consultation.get("id") if intake.consultation else None
        for consultation in room.consultations:
            if consultation.id == wanted:
                return consultation
        return room.consultations[0]

    def _new_visit(
        self,
        caller: Caller,
        member: User,
        intake: Intake,
        room: Room,
        provider_id: int,
        visit_type: VisitType,
        status: VisitStatus,
        start: int,
        end: int,
    ) -> Visit:
        state = self.state
        state.next_visit_id += 1
        consultation = self._consultation(room, intake)
        visit = new_visit(
            self.rng,
            visit_id=state.next_visit_id,
            account_code=caller.account.code,
            member=member,
            provider_id=provider_id,
            room=room,
            consultation=consultation,
            visit_type=visit_type,
            status=status,
            start=start,
            end=end,
            created=self.now(),
            creator_id=_user_of(caller).id,
            intake_id=intake.id,
        )
        state.visits[visit.id] = visit
        # An intake keeps the keys its author sent; a visit made from it adds only its id (and,
        # for an e-consult, its invoice), as VSee's walk-in, booking and e-consult answers show.
        intake.member_id = member.id
        intake.visit_id = visit.id
        if visit_type == VisitType.ECONSULT:
            intake.invoice_id = visit.invoice.id
        intake.modified = visit.created
        return visit

    def _provider_ids(self, account: Account) -> list[int]:
        return [
            user.id
            for user in self.state.users.values()
            if user.account_code == account.code and user.type == UserType.PROVIDER
        ]

    def _home_room(self, account: Account, provider: User) -> Room:
        if provider.room_codes:
            return self.state.rooms[provider.room_codes[0]]
        return self.rooms(account)[0]


def _user_of(caller: Caller) -> User:
    if caller.user is None:  # pragma: no cover - routes that need a user authenticate one
        raise ApiError(401, "A user token is required")
    return caller.user


def _check_usable(intake: Intake, member: User) -> None:
    """An intake serves one visit, of its own member."""
    if intake.member_id is not None and intake.member_id != member.id:
        raise unprocessable("intake_id belongs to another member")
    if intake.visit_id is not None:
        raise unprocessable(f"intake_id is already used by visit {intake.visit_id}")


def _slot_taken() -> ApiError:
    return ApiError(409, "The selected slot is no longer available")


def _int_or_none(text: str | None) -> int | None:
    if text is None or not text.isascii() or not text.isdigit():
        return None
    return int(text)


def _overlaps(intervals: list[tuple[int, int]], start: int, end: int) -> bool:
    return any(s < end and start < e for s, e in intervals)


def _matches(visit: Visit, flt: VisitFilter) -> bool:
    return (
        (flt.types is None or visit.type in flt.types)
        and (flt.statuses is None or visit.status in flt.statuses)
        and (flt.member_id is None or visit.member_id == flt.member_id)
        and (flt.provider_id is None or visit.provider_id == flt.provider_id)
        and (flt.room_code is None or visit.room_code == flt.room_code)
        and (flt.start_from is None or visit.start >= flt.start_from)
        and (flt.start_to is None or visit.start < flt.start_to)
    )


def _consultation_field(value: Any) -> dict[str, Any] | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            raise invalid("consultation", "expected a JSON object") from None
    if not isinstance(value, Mapping):
        raise invalid("consultation", "expected an object")
    return dict(value)


def _attachment_ids(value: Any) -> list[str]:
    """`[{"id": ..}]`, `["id", ..]` or `"id1,id2"`; `""` (or null) clears the attachments."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list):
        raise invalid("attachments")
    ids = []
    for item in value:
        if isinstance(item, Mapping) and isinstance(item.get("id"), str | int):
            ids.append(str(item["id"]))
        elif isinstance(item, str | int) and not isinstance(item, bool) and str(item):
            ids.append(str(item))
        else:
            raise invalid("attachments", "expected ids or {id} objects")
    return ids
