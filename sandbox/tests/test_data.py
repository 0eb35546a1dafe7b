"""Seeding: deterministic, large and varied enough, and consistent (no double-booked provider)."""

from __future__ import annotations

from collections import Counter
from itertools import pairwise

import httpx
import pytest

from vsee_sandbox import SandboxConfig, create_app
from vsee_sandbox._data import derive_token, seed_state
from vsee_sandbox._model import ACTIVE_STATUSES, UserType, VisitStatus, VisitType

from .helpers import NOW


def test_same_seed_and_now_give_the_same_state() -> None:
    assert seed_state(7, NOW) == seed_state(7, NOW)


def test_another_seed_gives_other_data() -> None:
    first, second = seed_state(7, NOW), seed_state(8, NOW)
    assert [v.code for v in first.visits.values()] != [v.code for v in second.visits.values()]


async def test_same_seed_gives_byte_identical_answers() -> None:
    async def snapshot() -> list[bytes]:
        app = create_app(SandboxConfig(seed=11, now=NOW))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sb") as client:
            headers = {"X-AccountCode": "vclinic", "X-ApiToken": "demo-admin-token"}
            paths = ["/_sandbox/users", "/vc/next/api_v3/visits?limit=100&page=2"]
            paths.append("/vc/next/api_v3/rooms/vclinicroom")
            return [(await client.get(path, headers=headers)).content for path in paths]

    assert await snapshot() == await snapshot()


def test_accounts_rooms_and_people() -> None:
    state = seed_state(7, NOW)
    assert {code: a.name for code, a in state.accounts.items()} == {
        "vclinic": "VClinic",
        "sunclinic": "Sun Clinic",
    }
    rooms = Counter(room.account_code for room in state.rooms.values())
    assert rooms == {"vclinic": 3, "sunclinic": 2}
    people = Counter((u.account_code, u.type) for u in state.users.values())
    assert people[("vclinic", UserType.PROVIDER)] == 8
    assert people[("sunclinic", UserType.PROVIDER)] == 4
    assert people[("vclinic", UserType.MEMBER)] == 40
    assert people[("sunclinic", UserType.MEMBER)] == 20
    assert people[("vclinic", UserType.ADMIN)] == people[("sunclinic", UserType.ADMIN)] == 1
    for room in state.rooms.values():
        assert len(room.provider_ids) >= 2, room.code
    assert all(u.subtype == "482" for u in state.users.values() if u.type == UserType.PROVIDER)


def test_tokens_are_unique_fixed_for_demo_users_and_derived_for_others() -> None:
    state = seed_state(7, NOW)
    assert len(state.tokens) == len(state.users)
    demo = {"demo-member-token", "demo-provider-token", "demo-admin-token"}
    demo |= {"sun-member-token", "sun-provider-token", "sun-admin-token"}
    assert demo <= set(state.tokens)
    for token, user in state.tokens.items():
        if token not in demo:
            assert token == derive_token(7, user.id)


def test_visits_cover_every_type_and_status() -> None:
    state = seed_state(7, NOW)
    assert len(state.visits) >= 250
    kinds = Counter((v.type, v.status) for v in state.visits.values())
    for status in VisitStatus:
        assert any(s == status for _, s in kinds), status
    for visit_type in VisitType:
        assert any(t == visit_type for t, _ in kinds), visit_type
    unassigned = [v for v in state.visits.values() if v.provider_id == 0]
    assert any(
        v.type == VisitType.ECONSULT and v.status == VisitStatus.SCHEDULED for v in unassigned
    )
    assert any(v.type == VisitType.APPOINTMENT for v in unassigned)  # to be assigned later
    assert any(v.start > NOW for v in state.visits.values())
    assert all(v.intake_id in state.intakes for v in state.visits.values())


def test_intakes_carry_custom_fields_attachments_and_medical_profiles() -> None:
    intakes = list(seed_state(7, NOW).intakes.values())
    assert any(any(k.startswith("custom_") for k in i.extra) for i in intakes)
    assert any(i.attachments for i in intakes)
    assert any(i.medical_profile for i in intakes)
    assert any(i.medical_profile is None for i in intakes)


@pytest.mark.parametrize("seed", range(6))
def test_no_provider_is_double_booked(seed: int) -> None:
    state = seed_state(seed, NOW + seed * 40_000)
    active = sorted(
        (v for v in state.visits.values() if v.status in ACTIVE_STATUSES and v.provider_id),
        key=lambda v: (v.provider_id, v.start),
    )
    for before, after in pairwise(active):
        if before.provider_id == after.provider_id:
            assert before.end <= after.start, (before.id, after.id)


def test_the_demo_member_has_a_full_history() -> None:
    state = seed_state(7, NOW)
    member = state.tokens["demo-member-token"]
    provider = state.tokens["demo-provider-token"]
    mine = [v for v in state.visits.values() if v.member_id == member.id]
    statuses = Counter(v.status for v in mine)
    assert statuses[VisitStatus.IN_PROGRESS] == 1
    assert statuses[VisitStatus.COMPLETED] >= 2
    assert statuses[VisitStatus.CANCELLED] >= 1
    assert len([v for v in mine if v.status == VisitStatus.SCHEDULED and v.start > NOW]) >= 2
    current = next(v for v in mine if v.status == VisitStatus.IN_PROGRESS)
    assert current.provider_id == provider.id
    latest = max(
        (v for v in mine if v.status == VisitStatus.COMPLETED and v.type == VisitType.APPOINTMENT),
        key=lambda v: v.start,
    )
    assert latest.postvisit.attachments
    assert latest.related_walkin is not None
    assert any(p.issued < latest.start for p in member.prescriptions)


@pytest.mark.parametrize("now", [NOW, NOW + 3 * 86400 + 7 * 3600, 1_735_689_600])
def test_upcoming_visits_fall_in_working_hours(now: int) -> None:
    state = seed_state(3, now)
    for visit in state.visits.values():
        if visit.status == VisitStatus.SCHEDULED and visit.type == VisitType.APPOINTMENT:
            assert visit.start > now
            assert visit.start % 86400 >= 9 * 3600
            assert visit.end % 86400 <= 17 * 3600
