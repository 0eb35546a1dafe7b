"""Availability and booking: slots are real, booking consumes them, conflicts are 409."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from .helpers import ADMIN, MEMBER, NOW, PROVIDER, SUN_MEMBER, data, error

WEEK = 7 * 86400


async def slots(
    client: httpx.AsyncClient, headers: dict[str, str] = MEMBER, **params: Any
) -> list[dict[str, Any]]:
    query = {"start": NOW, "end": NOW + WEEK, **params}
    found: list[dict[str, Any]] = await data(
        client, "GET", "/availability", params=query, headers=headers
    )
    return found


async def new_intake(
    client: httpx.AsyncClient, headers: dict[str, str] = MEMBER, **fields: Any
) -> str:
    created = await data(client, "POST", "/intakes", json={"type": 2, **fields}, headers=headers)
    return str(created["id"])


async def test_a_week_has_many_shared_slots(client: httpx.AsyncClient) -> None:
    week = await slots(client)
    assert len(week) >= 100
    assert max(len(s["providers"]) for s in week) >= 3
    starts = [s["start"] for s in week]
    assert starts == sorted(starts)
    assert len(set(starts)) == len(starts)
    for slot in week:
        assert slot["start"] > NOW
        assert slot["end"] - slot["start"] == 15 * 60
        assert all(isinstance(p, str) for p in slot["providers"])
        assert 9 * 3600 <= slot["start"] % 86400 < 17 * 3600


async def test_filters_and_duration(client: httpx.AsyncClient) -> None:
    room = await data(client, "GET", "/rooms/vclinic_urgent", headers=MEMBER)
    members = {
        p["id"]
        for p in await data(client, "GET", "/rooms/vclinic_urgent/providers", headers=MEMBER)
    }
    urgent = await slots(client, room_code="vclinic_urgent")
    assert {p for s in urgent for p in s["providers"]} <= members
    one = sorted(members)[0]
    theirs = await slots(client, provider_id=one)
    assert theirs
    assert all(s["providers"] == [one] for s in theirs)
    long = await slots(client, duration=60)
    assert all(s["end"] - s["start"] == 3600 for s in long)
    consultation = room["payment"]["consultations"][0]
    by_consultation = await slots(client, consultation_id=consultation["id"])
    assert [s["start"] for s in by_consultation] == [s["start"] for s in urgent]
    intake = await new_intake(client, room_code="vclinic_urgent")
    assert await slots(client, intake_id=intake) == urgent


async def test_slots_stay_within_the_four_week_horizon(client: httpx.AsyncClient) -> None:
    later = await slots(client, start=NOW + 27 * 86400, end=NOW + 31 * 86400)
    assert later
    assert max(s["end"] for s in later) <= NOW + 28 * 86400 + 60
    assert await slots(client, start=NOW - WEEK, end=NOW - 60) == []


@pytest.mark.parametrize(
    ("query", "status", "word"),
    [
        ({}, 400, "start"),
        ({"start": NOW}, 400, "end"),
        ({"start": NOW, "end": NOW}, 400, "end"),
        ({"start": NOW, "end": NOW + 32 * 86400}, 400, "31 days"),
        ({"start": "soon", "end": NOW + 1}, 400, "start"),
        ({"start": NOW, "end": NOW + WEEK, "duration": 0}, 400, "duration"),
        ({"start": NOW, "end": NOW + WEEK, "room_code": "nope"}, 422, "room_code"),
        ({"start": NOW, "end": NOW + WEEK, "provider_id": 1}, 422, "provider_id"),
        ({"start": NOW, "end": NOW + WEEK, "consultation_id": "x"}, 422, "consultation_id"),
        ({"start": NOW, "end": NOW + WEEK, "intake_id": "x"}, 422, "intake_id"),
    ],
)
async def test_availability_validation(
    client: httpx.AsyncClient, query: dict[str, Any], status: int, word: str
) -> None:
    assert word in await error(client, "GET", "/availability", status, params=query, headers=MEMBER)


async def test_booking_consumes_the_slot(client: httpx.AsyncClient) -> None:
    slot = next(s for s in await slots(client) if len(s["providers"]) >= 2)
    provider = slot["providers"][0]
    body = {
        "slot_start": slot["start"],
        "slot_end": slot["end"],
        "type": 2,
        "intakeId": await new_intake(client),
        "provider_id": provider,
    }
    response = await client.post("/vc/next/api_v3/appointments", data=body, headers=MEMBER)
    assert response.status_code == 200, response.text
    visit = response.json()["data"]
    assert (visit["type"], visit["status"], visit["subtype"]) == (2, 20, 3)
    assert (visit["start"], visit["end"], str(visit["provider_id"])) == (
        slot["start"],
        slot["end"],
        provider,
    )
    assert visit["intake"]["visit_id"] == visit["id"]
    again = next(s for s in await slots(client) if s["start"] == slot["start"])
    assert provider not in again["providers"]
    assert again["providers"] == slot["providers"][1:]
    body["intakeId"] = await new_intake(client)
    message = await error(client, "POST", "/appointments", 409, data=body, headers=MEMBER)
    assert message == "The selected slot is no longer available"
    listed = await data(
        client, "GET", f"/visits?from={slot['start']}&to={slot['start'] + 1}", headers=MEMBER
    )
    assert [v["id"] for v in listed] == [visit["id"]]
    # Cancelling frees it again.
    cancel = {"id": visit["id"], "reason": "patient_cancel_appointment"}
    await data(client, "POST", "/visits/close", data=cancel, headers=MEMBER)
    freed = next(s for s in await slots(client) if s["start"] == slot["start"])
    assert provider in freed["providers"]


async def test_booking_without_a_provider_picks_a_free_one(client: httpx.AsyncClient) -> None:
    slot = next(s for s in await slots(client, room_code="vclinicroom") if len(s["providers"]) >= 2)
    picked = []
    for _ in slot["providers"]:
        body = {
            "slot_start": slot["start"],
            "slot_end": slot["end"],
            "intake_id": await new_intake(client),
            "room_code": "vclinicroom",
        }
        visit = await data(client, "POST", "/appointments", data=body, headers=MEMBER)
        picked.append(str(visit["provider_id"]))
        assert visit["room_code"] == "vclinicroom"
    assert sorted(picked) == sorted(slot["providers"])
    assert all(s["start"] != slot["start"] for s in await slots(client, room_code="vclinicroom"))
    body["intake_id"] = await new_intake(client)
    await error(client, "POST", "/appointments", 409, data=body, headers=MEMBER)


async def test_staff_book_for_a_member(client: httpx.AsyncClient) -> None:
    slot = (await slots(client, headers=ADMIN))[0]
    member = (await data(client, "GET", "/visits?limit=1&status=40", headers=ADMIN))[0]["member_id"]
    body = {
        "member_id": member,
        "slot_start": slot["start"],
        "slot_end": slot["end"],
        "intakeId": await new_intake(client, ADMIN, member_id=member),
    }
    visit = await data(client, "POST", "/visits", data=body, headers=ADMIN)  # the docs' alias
    assert str(visit["member_id"]) == member
    assert visit["creator"]["type"] == 160
    del body["member_id"]
    assert "member_id" in await error(
        client, "POST", "/appointments", 400, data=body, headers=PROVIDER
    )


SUNDAY = NOW - NOW % 86400 + 4 * 86400 + 10 * 3600  # 2023-11-19 10:00, nobody works


def _set(**values: Any) -> Callable[[dict[str, Any]], None]:
    return lambda body: body.update(values)


def _drop(key: str) -> Callable[[dict[str, Any]], None]:
    return lambda body: body.pop(key)


def _end_at_start(body: dict[str, Any]) -> None:
    body["slot_end"] = body["slot_start"]


@pytest.mark.parametrize(
    ("change", "status", "word"),
    [
        (_drop("slot_start"), 400, "slot_start"),
        (_set(slot_end="later"), 400, "slot_end"),
        (_drop("intakeId"), 400, "intakeId"),
        (_set(type=1), 400, "type"),
        (_set(provider_id=99999), 422, "provider_id"),
        (_set(intakeId="not-an-intake"), 422, "intake_id"),
        (_set(room_code="sunclinic_main"), 422, "room_code"),
        (_end_at_start, 422, "slot_end"),
        (_set(slot_start=NOW - 3600, slot_end=NOW - 2700), 422, "future"),
        (_set(member_id="1"), 403, "themselves"),
        (_set(slot_start=SUNDAY, slot_end=SUNDAY + 900), 409, "no longer available"),
    ],
)
async def test_booking_validation(
    client: httpx.AsyncClient, change: Callable[[dict[str, Any]], None], status: int, word: str
) -> None:
    slot = (await slots(client))[0]
    body = {
        "slot_start": slot["start"],
        "slot_end": slot["end"],
        "intakeId": await new_intake(client),
    }
    change(body)
    assert word in await error(client, "POST", "/appointments", status, data=body, headers=MEMBER)


async def test_an_intake_of_another_member_cannot_be_booked(client: httpx.AsyncClient) -> None:
    slot = (await slots(client))[0]
    others = await data(client, "GET", "/visits?limit=100", headers=ADMIN)
    me = (await data(client, "GET", "/visits/current", headers=MEMBER))["member_id"]
    other = next(v["member_id"] for v in others if v["member_id"] != str(me))
    theirs = await new_intake(client, ADMIN, member_id=other)
    body = {
        "slot_start": slot["start"],
        "slot_end": slot["end"],
        "intakeId": theirs,
        "member_id": me,
    }
    await error(client, "POST", "/appointments", 422, data=body, headers=MEMBER)
    await error(client, "POST", "/appointments", 422, data=body, headers=ADMIN)


async def test_accounts_do_not_share_calendars(client: httpx.AsyncClient) -> None:
    ours = {p for s in await slots(client) for p in s["providers"]}
    theirs = {p for s in await slots(client, headers=SUN_MEMBER) for p in s["providers"]}
    assert ours
    assert theirs
    assert not ours & theirs
