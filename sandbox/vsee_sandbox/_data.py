"""Deterministic seed data: accounts, rooms, people, visits and intakes placed around "now"."""

from __future__ import annotations

import hashlib
import random
import time
import uuid
from dataclasses import dataclass
from typing import Any

from ._model import (
    BOOKING_HORIZON,
    CANCEL_REASON,
    CURRENCY,
    DAY,
    ECONSULT_EXPIRY,
    GENDER_FEMALE,
    GENDER_MALE,
    PROVIDER_SUBTYPE,
    SLOT_UNIT,
    Account,
    Consultation,
    FileRecord,
    Intake,
    Invoice,
    Payment,
    Postvisit,
    Prescription,
    RelatedWalkin,
    Room,
    Specialty,
    State,
    User,
    UserType,
    Visit,
    VisitStatus,
    VisitType,
    weekday,
)

FULL_WEEK = dict.fromkeys(range(5), (9 * 60, 17 * 60))  # Monday-Friday 09:00-17:00 UTC


@dataclass(frozen=True, slots=True)
class _RoomSpec:
    code: str
    slug: str
    name: str
    specialties: tuple[tuple[str, str, int], ...]
    consultations: tuple[tuple[str, int, int], ...]  # description, minutes, price in USD
    walkin_enabled: bool = True


@dataclass(frozen=True, slots=True)
class _AccountSpec:
    code: str
    name: str
    rooms: tuple[_RoomSpec, ...]
    providers: int
    members: int
    # Memorable tokens for the first member, provider and admin; others are derived.
    member_token: str
    provider_token: str
    admin_token: str


ACCOUNTS = (
    _AccountSpec(
        code="vclinic",
        name="VClinic",
        rooms=(
            _RoomSpec(
                "vclinicroom",
                "UAT",
                "VClinic UAT",
                (("general", "General Practice", 15), ("peds", "Pediatrics", 15)),
                (("Standard visit", 15, 25), ("Extended visit", 30, 45), ("Follow-up", 15, 0)),
            ),
            _RoomSpec(
                "vclinic_urgent",
                "urgent",
                "VClinic Urgent Care",
                (("urgent", "Urgent Care", 15),),
                (("Urgent care visit", 15, 35),),
            ),
            _RoomSpec(
                "vclinic_followup",
                "followup",
                "VClinic Follow-up",
                (("general", "General Practice", 15), ("psych", "Behavioral Health", 30)),
                (("Follow-up", 15, 0), ("Therapy session", 30, 60)),
                walkin_enabled=False,
            ),
        ),
        providers=8,
        members=40,
        member_token="demo-member-token",
        provider_token="demo-provider-token",
        admin_token="demo-admin-token",
    ),
    _AccountSpec(
        code="sunclinic",
        name="Sun Clinic",
        rooms=(
            _RoomSpec(
                "sunclinic_main",
                "main",
                "Sun Clinic Main",
                (("general", "General Practice", 15),),
                (("Sun Clinic visit", 15, 30), ("Long consult", 30, 50)),
            ),
            _RoomSpec(
                "sunclinic_derm",
                "derm",
                "Sun Clinic Dermatology",
                (("derm", "Dermatology", 30),),
                (("Dermatology consult", 30, 60),),
            ),
        ),
        providers=4,
        members=20,
        member_token="sun-member-token",
        provider_token="sun-provider-token",
        admin_token="sun-admin-token",
    ),
)

_FIRST_NAMES = (
    "Ava", "Liam", "Maya", "Noah", "Sofia", "Ethan", "Chloe", "Lucas", "Amara", "Mateo",
    "Priya", "Kenji", "Zoe", "Omar", "Lena", "Diego", "Hana", "Felix", "Nora", "Ravi",
    "Iris", "Jonas", "Mei", "Theo", "Aisha", "Leo", "Elena", "Samir", "Grace", "Tomas",
)  # fmt: skip
_LAST_NAMES = (
    "Nguyen", "Garcia", "Smith", "Okafor", "Kim", "Patel", "Rossi", "Cohen", "Silva",
    "Tanaka", "Keller", "Haddad", "Johnson", "Novak", "Larsen", "Diaz", "Chen", "Walker",
    "Ibrahim", "Moreau", "Kowalski", "Reyes", "Andersen", "Brown", "Sato",
)  # fmt: skip
_STATES = ("CA", "NY", "TX", "FL", "WA", "MI", "IL", "AZ", "CO", "MA")
_REASONS = (
    "Allergic reaction", "Persistent cough", "Skin rash", "Headache", "Follow-up on lab results",
    "Back pain", "Sore throat", "Medication refill", "Anxiety", "Fever",
)  # fmt: skip
_DIAGNOSES = (
    "Allergic reaction,initial encounter (T78.40XA)",
    "Acute bronchitis (J20.9)",
    "Contact dermatitis (L25.9)",
    "Tension-type headache (G44.209)",
    "Low back pain (M54.5)",
    "Acute pharyngitis (J02.9)",
    "Generalized anxiety disorder (F41.1)",
)
_DISPOSITIONS = (
    "Discharged home",
    "Referred to ED",
    "Follow-up in 2 weeks",
    "Referred to specialist",
)
_DRUGS = (
    ("69117", "00122206038", "260654", "One Tab Daily with Iron oral tablet", "Tablet"),
    ("12050", "00093314705", "308182", "Amoxicillin 500 MG oral capsule", "Capsule"),
    ("23711", "00378018001", "197361", "Amlodipine 5 MG oral tablet", "Tablet"),
    ("40213", "00054327099", "312615", "Prednisone 10 MG oral tablet", "Tablet"),
    ("51007", "00603388821", "310965", "Ibuprofen 400 MG oral tablet", "Tablet"),
)
_BIOS = (
    "Board-certified in family medicine; enjoys preventive care.",
    "Emergency physician with ten years of telehealth experience.",
    "Treats skin conditions of all ages.",
    "Focuses on chronic care and medication management.",
    "Pediatrics-trained; patient and thorough with families.",
)


def derive_token(seed: int, user_id: int) -> str:
    """A user's API token: stable for a seed, unguessable without it, shaped like VSee's."""
    return hashlib.sha1(f"vsee-sandbox:{seed}:{user_id}".encode()).hexdigest()[:32]


def new_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def new_code(rng: random.Random) -> str:
    return f"{rng.getrandbits(128):032x}"


def consultation_body(consultation: Consultation) -> dict[str, Any]:
    """A room consultation as clients copy it into an intake's `consultation` field."""
    return {
        "description": consultation.description,
        "duration": consultation.duration,
        "charge": consultation.charge,
        "group": consultation.group,
        "slots": consultation.slots,
        "amount": consultation.amount,
        "visible_to_patient": True,
        "id": consultation.id,
        "currency": CURRENCY,
    }


def new_visit(
    rng: random.Random,
    *,
    visit_id: int,
    account_code: str,
    member: User,
    provider_id: int,
    room: Room,
    consultation: Consultation,
    visit_type: VisitType,
    status: VisitStatus,
    start: int,
    end: int,
    created: int,
    creator_id: int,
    intake_id: str,
) -> Visit:
    """A visit with everything VSee creates beside it (payment, invoice, post-visit, meeting)."""
    amount = consultation.amount if consultation.charge else 0
    visit = Visit(
        id=visit_id,
        code=new_code(rng),
        account_code=account_code,
        member_id=member.id,
        provider_id=provider_id,
        room_code=room.code,
        type=visit_type,
        status=status,
        start=start,
        end=end,
        created=created,
        modified=created,
        creator_id=creator_id,
        intake_id=intake_id,
        payment=Payment(
            id=consultation.id,
            duration=consultation.duration,
            amount=f"{amount:.2f}",
            description=f"{room.name} {consultation.description} one-time charge",
        ),
        invoice=Invoice(
            id=new_uuid(rng),
            user_id=member.id,
            amount_due=amount,
            created=created,
            modified=created,
        ),
        postvisit=Postvisit(id=new_uuid(rng), created=created, modified=created),
        meeting_id=f"{created * 1000}_{new_uuid(rng)}__jitsi",
        conference_pin=rng.randint(100000, 999999),
        one_time_link_token="".join(rng.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=10)),
    )
    if visit_type == VisitType.ECONSULT:
        visit.expiry = end + ECONSULT_EXPIRY
    return visit


def seed_state(seed: int, now: float) -> State:
    """Build the sandbox's initial state; the same seed and `now` always give the same state."""
    return _Seeder(seed, int(now)).build()


class _Seeder:
    def __init__(self, seed: int, now: int) -> None:
        self.seed = seed
        self.now = now
        self.today = now - now % DAY
        self.rng = random.Random(seed)
        self.state = State(
            seed=seed,
            accounts={},
            rooms={},
            users={},
            tokens={},
            visits={},
            intakes={},
            files={},
            next_user_id=500,
            next_visit_id=7700,
        )
        # Provider id -> the 15-minute units already taken, so seeded visits never overlap.
        self.busy: dict[int, set[int]] = {}
        self.busy_now: set[int] = set()  # providers with a call or a walk-in at "now"

    # -- ids -------------------------------------------------------------------------------

    def _user_id(self) -> int:
        self.state.next_user_id += self.rng.randint(1, 9)
        return self.state.next_user_id

    def _visit_id(self) -> int:
        self.state.next_visit_id += self.rng.randint(1, 4)
        return self.state.next_visit_id

    # -- structure ---------------------------------------------------------------------------

    def build(self) -> State:
        for index, spec in enumerate(ACCOUNTS):
            self._account(index, spec)
        return self.state

    def _account(self, index: int, spec: _AccountSpec) -> None:
        rng = self.rng
        domain = f"{spec.code}.vseepreview.com"
        created = self.today - (900 + 200 * index) * DAY
        account = Account(
            id=1001 + index, code=spec.code, name=spec.name, domain=domain, created=created
        )
        self.state.accounts[account.code] = account
        rooms = [
            self._room(account, index * 100 + n, room_spec)
            for n, room_spec in enumerate(spec.rooms)
        ]

        admin = self._user(account, UserType.ADMIN, spec.admin_token)
        admin.first_name, admin.last_name = spec.name, "Admin"

        providers = [
            self._user(account, UserType.PROVIDER, spec.provider_token if n == 0 else None)
            for n in range(spec.providers)
        ]
        for n, provider in enumerate(providers):
            home = rooms[n % len(rooms)]
            # The first provider of an account serves every room, so demos have one face.
            served = (
                rooms
                if n == 0
                else [home, *(r for r in rooms if r is not home and rng.random() < 0.4)]
            )
            for room in served:
                room.provider_ids.append(provider.id)
                provider.room_codes.append(room.code)
                for specialty in room.specialties:
                    if specialty.code not in provider.specialty_codes:
                        provider.specialty_codes.append(specialty.code)
            provider.hours = self._hours(n)

        members = [
            self._user(account, UserType.MEMBER, spec.member_token if n == 0 else None)
            for n in range(spec.members)
        ]
        for n, member in enumerate(members):
            if n == 0 or rng.random() < 0.5:
                member.medical_profile = self._medical_profile(member)
            if n == 0 or rng.random() < 0.35:
                for _ in range(rng.randint(1, 3)):
                    issued = self.today - rng.randint(20, 400) * DAY + rng.randint(9, 16) * 3600
                    member.prescriptions.append(self._prescription(rng.choice(providers), issued))

        self._demo_member_visits(members[0], providers[0], rooms, admin)
        for member in members[1:]:
            self._member_visits(member, rooms, admin)

    def _room(self, account: Account, n: int, spec: _RoomSpec) -> Room:
        created = account.created + 10 * DAY + n * 3 * DAY
        return self.state.rooms.setdefault(
            spec.code,
            Room(
                id=10019500 + n * 7,
                code=spec.code,
                slug=spec.slug,
                name=spec.name,
                account_code=account.code,
                domain=account.domain,
                created=created,
                modified=created + 40 * DAY,
                specialties=[Specialty(*s) for s in spec.specialties],
                consultations=[
                    Consultation(
                        id=new_uuid(self.rng),
                        description=description,
                        duration=minutes,
                        amount=price,
                        charge=price > 0,
                    )
                    for description, minutes, price in spec.consultations
                ],
                timezone="America/Los_Angeles",
                walkin_enabled=spec.walkin_enabled,
            ),
        )

    def _hours(self, n: int) -> dict[int, tuple[int, int]]:
        if n == 0:
            return dict(FULL_WEEK)
        pick = self.rng.random()
        if pick < 0.2:  # mornings only
            return dict.fromkeys(range(5), (9 * 60, 13 * 60))
        if pick < 0.35:  # Monday, Wednesday, Friday
            return {day: FULL_WEEK[day] for day in (0, 2, 4)}
        return dict(FULL_WEEK)

    def _user(self, account: Account, user_type: UserType, token: str | None) -> User:
        rng = self.rng
        user_id = self._user_id()
        first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
        gender = rng.choice((GENDER_MALE, GENDER_FEMALE))
        user = User(
            id=user_id,
            account_code=account.code,
            type=user_type,
            code=new_code(rng),
            first_name=first,
            last_name=last,
            email=f"{first.lower()}.{last.lower()}.{user_id}@{account.code}.example.com",
            token=token or derive_token(self.seed, user_id),
            created=account.created + rng.randint(20, 600) * DAY,
            phone=f"{rng.randint(201, 989)}{rng.randint(2000000, 9999999)}",
        )
        if user_type == UserType.PROVIDER:
            user.subtype = PROVIDER_SUBTYPE
            user.suffix = rng.choice(("MD", "DO", "NP", "MD"))
            user.title = "Dr." if user.suffix in ("MD", "DO") else ""
            user.short_bio = rng.choice(_BIOS)
            user.timezone = rng.choice(
                ("America/Los_Angeles", "America/New_York", "America/Chicago")
            )
            user.photo = (
                f"https://api.vseepreview.com/vc/next/api_v3/files/index/app_user/photo/{user_id}/"
                f"?auth_code={hashlib.sha1(f'{self.seed}:{user_id}'.encode()).hexdigest()}"
            )
            user.gender = gender
        elif user_type == UserType.MEMBER:
            user.gender = gender
            year = self.rng.randint(1945, 2012)
            user.dob = f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        self.state.users[user.id] = user
        self.state.tokens[user.token] = user
        return user

    def _medical_profile(self, member: User) -> dict[str, Any]:
        rng = self.rng
        name = member.full_name
        base = self.now - rng.randint(30, 300) * DAY

        def section(data: list[dict[str, Any]], *, by: str | None = None) -> dict[str, Any]:
            body: dict[str, Any] = {
                "data": data,
                "modified": base + rng.randint(0, 20) * DAY,
                "modifiedBy": name,
            }
            if by is not None:
                # VSee sends the editor's type as a number in one section and a string in
                # another; both shapes are kept on purpose.
                body["modified_by"] = {
                    "id": str(member.id),
                    "type": int(UserType.MEMBER) if by == "int" else str(int(UserType.MEMBER)),
                    "subtype": "",
                    "first_name": member.first_name,
                    "last_name": member.last_name,
                    **({"photo": ""} if by == "int" else {}),
                }
            return body

        conditions = rng.sample(
            ("Asthma", "Kidney stones", "Hypertension", "Migraine", "Stroke"), 2
        )
        return {
            "_id": f"{rng.getrandbits(96):024x}",
            "user_id": str(member.id),
            "family_conditions": section(
                [
                    {"condition": "Diabetes", "relations": ["Paternal grandparents"]},
                    {"condition": "Ulcer disease", "relations": ["Mother"]},
                ]
            ),
            "conditions": section([{"condition": c} for c in conditions]),
            "social_history": section([], by="int"),
            "health_habits": section([]),
            "surgeries": section([{"procedure": rng.choice(("C-section", "Appendectomy"))}]),
            "medications": section([], by="str"),
            "allergies": section([], by="str"),
            "modified": {"sec": base + 25 * DAY, "usec": rng.randint(0, 999) * 1000},
            "created": {"sec": member.created, "usec": rng.randint(0, 999) * 1000},
        }

    def _prescription(self, prescriber: User, issued: int) -> Prescription:
        rng = self.rng
        drug_id, ndc, rxnorm, name, unit = rng.choice(_DRUGS)
        date = time.strftime("%Y-%m-%d", time.gmtime(issued))
        return Prescription(
            issued=issued,
            data={
                "ID": str(rng.randint(90000, 99999)),
                "DrugID": drug_id,
                "NDC": ndc,
                "RxNormCode": rxnorm,
                "Drug": name,
                "Supply": False,
                "Compound": False,
                "Directions": rng.choice(("1 tablet once a day", "1 capsule 3 times a day")),
                "Qty": rng.choice((30, 60, 90)),
                "QtyQual": unit,
                "Refills": rng.randint(0, 3),
                "DaysSupply": 0,
                "SubstitutionAllowedFlag": 1,
                "Schedule": 0,
                "PharmacyNote": "",
                "InternalNote": "",
                "PrescriberId": str(prescriber.id),
                "LocationId": "DEMO-ACCOUNT",
                "PrescriptionDate": f"{date}T00:00:00",
                "SignDate": "0001-01-01T00:00:00",
                "Status": "Current",
                "PharmacyNcpdpId": "0001060",
                "RouteDetail": "e-Sent: Test 000 Pharmacy 10.6MU<br />Sent",
                "PartnerMedID": "",
                "PrescriberName": f"{prescriber.title} {prescriber.full_name}, {prescriber.suffix}",
            },
        )

    # -- visits ------------------------------------------------------------------------------

    def _demo_member_visits(
        self, member: User, provider: User, rooms: list[Room], admin: User
    ) -> None:
        """The demo member's history is fixed in kind (random only in detail) so demos and
        contract tests can rely on it: the latest completed appointment is fully documented,
        one visit is in progress, two are upcoming and an e-consult awaits a provider."""
        room = rooms[0]
        last_weekday = self.today - DAY
        while weekday(last_weekday) >= 5:
            last_weekday -= DAY
        start = last_weekday + 10 * 3600
        showcase = self._visit(
            member,
            room,
            provider,
            VisitType.APPOINTMENT,
            VisitStatus.COMPLETED,
            start,
            consultation=room.consultations[0],
            creator=member,
        )
        intake = self.state.intakes[showcase.intake_id]
        intake.attachments = []
        intake.extra = {"room": room.code, "consent": "true"}
        intake.medical_profile = member.medical_profile
        showcase.postvisit.attachments.append(self._file(provider, showcase.end + 600, "jpg"))
        if not showcase.prescriptions:
            visit_rx = self._prescription(provider, showcase.end)
            showcase.prescriptions.append(visit_rx)
            member.prescriptions.append(visit_rx)

        for weeks_back in (2, 4, 7):
            day = self._weekday_on_or_before(self.today - weeks_back * 7 * DAY)
            status = VisitStatus.CANCELLED if weeks_back == 4 else VisitStatus.COMPLETED
            self._place(member, rooms, VisitType.APPOINTMENT, status, day, admin, prefer=provider)

        # In progress with the demo provider, so /visits/current is non-null for both.
        now_start = self.now - 10 * 60
        current = self._visit(
            member,
            room,
            provider,
            VisitType.APPOINTMENT,
            VisitStatus.IN_PROGRESS,
            now_start,
            consultation=room.consultations[0],
            creator=member,
        )
        current_intake = self.state.intakes[current.intake_id]
        current_intake.attachments = [self._file(member, current.created + 30, "png")]
        current_intake.extra.update(
            {
                "custom_is_allergic": "Yes",
                "custom_symptoms": "Rash, Red Eyes",
                "custom_symptoms_duration": "2 weeks",
            }
        )
        self.busy_now.add(provider.id)

        for days_ahead in (2, 9):
            day = self._weekday_on_or_before(self.today + (days_ahead + 2) * DAY)
            self._place(
                member,
                rooms,
                VisitType.APPOINTMENT,
                VisitStatus.SCHEDULED,
                day,
                member,
                prefer=provider,
            )

        self._visit(
            member,
            room,
            None,
            VisitType.ECONSULT,
            VisitStatus.SCHEDULED,
            self.now - 3600,
            creator=member,
        )

    def _member_visits(self, member: User, rooms: list[Room], admin: User) -> None:
        rng = self.rng
        for _ in range(rng.randint(1, 6)):
            day = self._weekday_on_or_before(self.today - rng.randint(3, 75) * DAY)
            kind = rng.choices(
                (VisitType.APPOINTMENT, VisitType.WALKIN, VisitType.ECONSULT), (8, 1, 1)
            )[0]
            status = VisitStatus.COMPLETED if rng.random() < 0.8 else VisitStatus.CANCELLED
            self._place(member, rooms, kind, status, day, rng.choice((member, admin)))
        for _ in range(rng.choice((0, 1, 1, 2, 3))):
            day = self._weekday_on_or_before(self.today + rng.randint(1, 27) * DAY)
            self._place(
                member,
                rooms,
                VisitType.APPOINTMENT,
                VisitStatus.SCHEDULED,
                day,
                rng.choice((member, admin)),
                unassigned=rng.random() < 0.15,
            )
        roll = rng.random()
        walkin_rooms = [r for r in rooms if r.walkin_enabled]
        if roll < 0.1:
            room = rng.choice(walkin_rooms)
            provider = self._free_now(room) if rng.random() < 0.5 else None
            if provider is not None:
                self.busy_now.add(provider.id)
            start = self.now - rng.randint(1, 20) * 60
            self._visit(
                member, room, provider, VisitType.WALKIN, VisitStatus.WAITING, start, creator=member
            )
        elif roll < 0.18:
            room = rng.choice(rooms)
            start = self.now - rng.randint(5, 180) * 60
            self._visit(
                member, room, None, VisitType.ECONSULT, VisitStatus.SCHEDULED, start, creator=member
            )
        elif roll < 0.23:
            room = rng.choice(walkin_rooms)
            provider = self._free_now(room)
            if provider is not None:
                self.busy_now.add(provider.id)
                start = self.now - rng.randint(3, 25) * 60
                self._visit(
                    member,
                    room,
                    provider,
                    VisitType.WALKIN,
                    VisitStatus.IN_PROGRESS,
                    start,
                    creator=member,
                )

    def _free_now(self, room: Room) -> User | None:
        for provider_id in room.provider_ids:
            if provider_id not in self.busy_now:
                return self.state.users[provider_id]
        return None

    def _weekday_on_or_before(self, day: int) -> int:
        while weekday(day) >= 5:
            day -= DAY
        return day

    def _place(
        self,
        member: User,
        rooms: list[Room],
        kind: VisitType,
        status: VisitStatus,
        day: int,
        creator: User,
        *,
        prefer: User | None = None,
        unassigned: bool = False,
    ) -> Visit | None:
        """Put a visit in some provider's free working time on `day` (or a day around it)."""
        rng = self.rng
        for attempt in range(12):
            room = rng.choice(rooms) if prefer is None or attempt > 3 else rooms[0]
            if not room.provider_ids:
                continue
            consultation = rng.choice(room.consultations)
            provider_id = (
                prefer.id
                if prefer is not None and attempt <= 3 and prefer.id in room.provider_ids
                else rng.choice(room.provider_ids)
            )
            provider = self.state.users[provider_id]
            start = self._free_start(provider, day + (attempt // 4) * DAY, consultation.duration)
            if start is None or (status == VisitStatus.SCHEDULED and start <= self.now + 3600):
                continue
            if kind == VisitType.WALKIN and not room.walkin_enabled:
                kind = VisitType.APPOINTMENT
            return self._visit(
                member,
                room,
                None if unassigned else provider,
                kind,
                status,
                start,
                consultation=consultation,
                creator=creator,
            )
        return None

    def _free_start(self, provider: User, day: int, minutes: int) -> int | None:
        hours = provider.hours.get(weekday(day))
        if hours is None or day >= self.today + BOOKING_HORIZON:
            return None
        first, last = hours
        units = -(-minutes * 60 // SLOT_UNIT)
        taken = self.busy.setdefault(provider.id, set())
        starts = list(range(day + first * 60, day + last * 60 - units * SLOT_UNIT + 1, SLOT_UNIT))
        self.rng.shuffle(starts)
        for start in starts:
            wanted = range(start // SLOT_UNIT, start // SLOT_UNIT + units)
            if not any(u in taken for u in wanted):
                return start
        return None

    def _visit(
        self,
        member: User,
        room: Room,
        provider: User | None,
        kind: VisitType,
        status: VisitStatus,
        start: int,
        *,
        consultation: Consultation | None = None,
        creator: User,
    ) -> Visit:
        rng = self.rng
        consultation = consultation or room.consultations[0]
        duration = consultation.duration * 60
        if kind == VisitType.ECONSULT:
            duration = SLOT_UNIT
        end = start + duration
        if kind == VisitType.APPOINTMENT:
            created = min(start, self.now) - rng.randint(1, 14) * DAY
        else:
            created = start
        assigned = provider is not None and not (
            kind == VisitType.ECONSULT and status == VisitStatus.SCHEDULED
        )
        provider_id = provider.id if provider is not None and assigned else 0
        intake = self._intake(member, room, provider_id, kind, consultation, created)
        visit = new_visit(
            rng,
            visit_id=self._visit_id(),
            account_code=member.account_code,
            member=member,
            provider_id=provider_id,
            room=room,
            consultation=consultation,
            visit_type=kind,
            status=status,
            start=start,
            end=end,
            created=created,
            creator_id=creator.id,
            intake_id=intake.id,
        )
        intake.visit_id = visit.id
        if kind == VisitType.ECONSULT:
            intake.invoice_id = visit.invoice.id
            visit.state = intake.location or "--"
        if provider_id:
            taken = self.busy.setdefault(provider_id, set())
            taken.update(range(start // SLOT_UNIT, -(-end // SLOT_UNIT)))
        if status in (VisitStatus.IN_PROGRESS, VisitStatus.COMPLETED):
            self._started(visit, member, provider)
        elif status == VisitStatus.CANCELLED:
            visit.close_reason = CANCEL_REASON
            visit.completed_by = member.id
            visit.modified = min(start, self.now) - rng.randint(1, 48) * 3600
        self.state.visits[visit.id] = visit
        return visit

    def _started(self, visit: Visit, member: User, provider: User | None) -> None:
        rng = self.rng
        visit.wait_seconds = rng.randint(0, 240)
        visit.actual_start = visit.start + visit.wait_seconds
        if visit.type == VisitType.APPOINTMENT:
            visit.related_walkin = RelatedWalkin(
                id=self._visit_id(),
                start=visit.start - rng.randint(0, 120),
                end=visit.end + 30 * 60,
                status=visit.status,
            )
        if visit.status != VisitStatus.COMPLETED:
            return
        visit.actual_end = min(visit.actual_start + (visit.end - visit.start), self.now - 60)
        visit.modified = visit.actual_end
        visit.completed_by = visit.provider_id or member.id
        postvisit = visit.postvisit
        postvisit.draft = False
        postvisit.modified = visit.actual_end + rng.randint(60, 3600)
        postvisit.modified_by = provider.full_name if provider is not None else ""
        intake = self.state.intakes[visit.intake_id]
        reason = intake.reason_for_visit or rng.choice(_REASONS)
        postvisit.notes = {
            "physical_exam": f"<p>{reason}: examined over video.</p><p>No acute distress.</p>",
            "assessment_plan": "<p>Supportive care.</p><p>Return if symptoms worsen.</p>",
            "reason_for_visit": reason,
            "diagnosis": rng.choice(_DIAGNOSES),
            "patient_instructions": "<p>Plan / Discharge: rest and fluids.<br></p>",
            "disposition": rng.choice(_DISPOSITIONS),
        }
        if provider is not None and rng.random() < 0.2:
            postvisit.attachments.append(self._file(provider, postvisit.modified, "pdf"))
        if provider is not None and rng.random() < 0.25:
            rx = self._prescription(provider, visit.actual_end)
            visit.prescriptions.append(rx)
            member.prescriptions.append(rx)

    def _intake(
        self,
        member: User,
        room: Room,
        provider_id: int,
        kind: VisitType,
        consultation: Consultation,
        created: int,
    ) -> Intake:
        rng = self.rng
        created -= rng.randint(30, 600)
        # Each kind's intake carries the keys VSee's example of that kind shows: a walk-in's
        # form names its provider as `provider`, an e-consult's only its answers and state, a
        # booked appointment's everything the booking screens send.
        intake = Intake(
            id=new_uuid(rng),
            account_code=member.account_code,
            created=created,
            modified=created,
            member_id=member.id,
            provider_id=provider_id or None,
            reason_for_visit=rng.choice(_REASONS),
        )
        if kind == VisitType.ECONSULT:
            intake.location = rng.choice(_STATES)
            intake.extra = {
                "question_1": rng.choice(("Since last week", "A few days")),
                "question_2": rng.choice(("Getting worse", "About the same")),
            }
        elif kind == VisitType.WALKIN:
            intake.type = str(int(kind))
            intake.echo_provider = True
        else:
            intake.member_given = True
            intake.room_code = room.code
            intake.location = rng.choice(_STATES)
            intake.phone = member.phone
            intake.type = str(int(kind))
            intake.consultation = consultation_body(consultation)
            intake.attachments = []
            intake.extra = {"room": room.code, "consent": "true"}
            if rng.random() < 0.3:
                intake.extra |= {
                    "custom_is_allergic": rng.choice(("Yes", "No")),
                    "custom_symptoms": rng.choice(("Rash, Red Eyes", "Cough", "Fatigue")),
                    "custom_symptoms_duration": rng.choice(("2 days", "1 week", "2 weeks")),
                }
            if rng.random() < 0.15:
                intake.attachments = [
                    self._file(member, created, rng.choice(("png", "jpg", "pdf")))
                ]
        if member.medical_profile is not None and rng.random() < 0.6:
            intake.medical_profile = member.medical_profile
        self.state.intakes[intake.id] = intake
        return intake

    def _file(self, creator: User, when: int, ext: str) -> FileRecord:
        rng = self.rng
        file_id = new_uuid(rng)
        record = FileRecord(
            id=file_id,
            name=f"{new_uuid(rng)}.{ext}",
            ext=ext,
            size=rng.randint(8_000, 2_000_000),
            creator_id=creator.id,
            created=when + rng.randint(0, 999) / 1000,
            modified=when + rng.randint(0, 999) / 1000,
        )
        self.state.files[file_id] = record
        return record
