"""Intakes: known fields, custom fields kept verbatim, attachments and consultation forms."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from .helpers import ADMIN, MEMBER, PROVIDER, api, data, error

# Keys of an intake that are not custom fields (VSee's examples of intakes).
STANDARD = frozenset(
    {
        "provider",
        "provider_id",
        "member_id",
        "room_code",
        "location",
        "phone",
        "type",
        "modified",
        "created",
        "visit_id",
        "invoice_id",
        "attachments",
        "reason_for_visit",
        "consultation",
        "medical_profile",
        "id",
    }
)


async def create(
    client: httpx.AsyncClient, headers: dict[str, str] = MEMBER, **kwargs: Any
) -> dict[str, Any]:
    """Create an intake and return it as GET /intakes/:id tells (POST answers only the id and
    the custom fields)."""
    created: dict[str, Any] = await data(client, "POST", "/intakes", headers=headers, **kwargs)
    stored = await fetch(client, created["id"], headers)
    assert created == {k: v for k, v in stored.items() if k == "id" or k not in STANDARD}
    return stored


async def fetch(
    client: httpx.AsyncClient, intake_id: str, headers: dict[str, str] = MEMBER
) -> dict[str, Any]:
    found: dict[str, Any] = await data(client, "GET", f"/intakes/{intake_id}", headers=headers)
    return found


async def test_custom_fields_round_trip_as_given(client: httpx.AsyncClient) -> None:
    custom = {
        "custom_is_allergic": "Yes",
        "custom_symptoms": ["Rash", "Red Eyes"],
        "custom_vitals": {"bp": "120/80", "pulse": 72},
        "question_1": None,
        "anything_else": 3.5,
    }
    created = await create(client, json={"reason_for_visit": "Rash", **custom})
    assert len(created["id"]) == 36
    stored = await fetch(client, created["id"])
    for key, value in custom.items():
        assert created[key] == stored[key] == value
    assert stored["reason_for_visit"] == "Rash"
    assert "attachments" not in stored  # never given
    cleared = await create(client, json={"attachments": ""})
    assert cleared["attachments"] == ""  # VSee's "none"
    assert "visit_id" not in stored
    assert isinstance(stored["created"], int)


async def test_reserved_keys_are_not_overwritten(client: httpx.AsyncClient) -> None:
    created = await create(client, json={"id": "mine", "visit_id": "1", "created": 5})
    assert created["id"] != "mine"
    assert "visit_id" not in created
    assert created["created"] != 5


async def test_known_fields_are_normalised(client: httpx.AsyncClient) -> None:
    provider = (await data(client, "GET", "/rooms/vclinicroom/providers", headers=MEMBER))[0]["id"]
    created = await create(
        client,
        data={"provider": provider, "type": "1", "room_code": "vclinicroom", "phone": "5550001111"},
    )
    assert created["provider"] == provider  # the seed's spelling kept
    assert "provider_id" not in created
    assert created["type"] == "1"
    assert created["room_code"] == "vclinicroom"
    by_id = await create(client, json={"provider_id": int(provider), "type": 2})
    assert (by_id["provider_id"], by_id["type"]) == (provider, "2")
    assert "provider" not in by_id


@pytest.mark.parametrize(
    ("kwargs", "status", "word"),
    [
        ({"data": {"type": "7"}}, 400, "type"),
        ({"data": {"provider_id": "99999"}}, 422, "provider_id"),
        ({"data": {"room_code": "sunclinic_main"}}, 422, "room_code"),
        ({"data": {"consultation": "not json"}}, 400, "consultation"),
        ({"data": {"consultation": "[1]"}}, 400, "consultation"),
        ({"json": {"attachments": [{"name": "no id"}]}}, 400, "attachments"),
    ],
)
async def test_bad_fields(
    client: httpx.AsyncClient, kwargs: dict[str, Any], status: int, word: str
) -> None:
    assert word in await error(client, "POST", "/intakes", status, headers=MEMBER, **kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"json": {"attachments": [{"id": "f-1"}, {"id": "f-2"}]}},
        {"json": {"attachments": ["f-1", "f-2"]}},
        {"data": {"attachments": "f-1, f-2"}},
        {"data": {"attachments[]": ["f-1", "f-2"]}},
        {"data": {"attachments[0][id]": "f-1", "attachments[1][id]": "f-2"}},
    ],
)
async def test_attachments_in_every_form(client: httpx.AsyncClient, kwargs: dict[str, Any]) -> None:
    created = await create(client, **kwargs)
    stored = await fetch(client, created["id"])
    assert [a["_id"] for a in stored["attachments"]] == ["f-1", "f-2"]
    for attachment in stored["attachments"]:
        assert set(attachment["created"]) == {"sec", "usec"}
        assert set(attachment["modified"]) == {"sec", "usec"}


async def test_seeded_files_keep_their_metadata(client: httpx.AsyncClient) -> None:
    current = await data(client, "GET", "/visits/current", headers=MEMBER)
    seeded = (await fetch(client, current["intake_id"]))["attachments"][0]
    assert seeded["size"] > 0
    reused = await create(client, json={"attachments": [seeded["_id"]]})
    assert reused["attachments"] == [seeded]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"json": {"consultation": {"id": "c-1", "duration": 30, "amount": 0}}},
        {"data": {"consultation": json.dumps({"id": "c-1", "duration": 30, "amount": 0})}},
        {"files": {"consultation": (None, json.dumps({"id": "c-1", "duration": 30, "amount": 0}))}},
    ],
)
async def test_consultation_as_object_or_json_string(
    client: httpx.AsyncClient, kwargs: dict[str, Any]
) -> None:
    created = await create(client, **kwargs)
    assert created["consultation"] == {"id": "c-1", "duration": 30, "amount": 0}


async def test_update_merges_and_reset_starts_over(client: httpx.AsyncClient) -> None:
    created = await create(
        client, json={"reason_for_visit": "Cough", "custom_a": "1", "location": "CA"}
    )
    path = f"/intakes/{created['id']}"
    assert await data(
        client, "POST", path, data={"phone": "123", "custom_b": "2"}, headers=MEMBER
    ) == {"id": created["id"]}
    merged = await fetch(client, created["id"])
    assert (merged["reason_for_visit"], merged["location"], merged["phone"]) == (
        "Cough",
        "CA",
        "123",
    )
    assert (merged["custom_a"], merged["custom_b"]) == ("1", "2")
    await data(
        client, "POST", path + ".json", json={"reset": True, "custom_c": "3"}, headers=MEMBER
    )
    fresh = await fetch(client, created["id"])
    assert "custom_a" not in fresh
    assert "location" not in fresh
    assert fresh["custom_c"] == "3"
    assert "reset" not in fresh


async def test_intakes_are_private_to_their_member(client: httpx.AsyncClient) -> None:
    created = await create(client, json={"reason_for_visit": "Private"})
    assert (await fetch(client, created["id"], PROVIDER))["reason_for_visit"] == "Private"
    others = await data(client, "GET", "/visits?limit=100", headers=ADMIN)
    assert "member_id" not in created  # not named by its author
    me = (await data(client, "GET", "/visits/current", headers=MEMBER))["member_id"]
    other = next(v for v in others if v["member_id"] != str(me))
    on_behalf = await create(client, ADMIN, data={"member_id": other["member"]["code"]})
    assert on_behalf["member_id"] == other["member_id"]  # by code as well as by id
    await error(client, "GET", f"/intakes/{on_behalf['id']}", 404, headers=MEMBER)
    await error(
        client, "POST", f"/intakes/{on_behalf['id']}", 404, data={"phone": "1"}, headers=MEMBER
    )
    await error(client, "GET", "/intakes/00000000-0000-4000-8000-000000000000", 404, headers=MEMBER)
    await error(client, "POST", "/intakes", 422, data={"member_id": "1"}, headers=ADMIN)


async def test_log_shows_the_custom_fields(client: httpx.AsyncClient) -> None:
    await client.post(api("/intakes"), data={"custom_x": "y"}, headers=MEMBER)
    entry = (await client.get("/_sandbox/requests")).json()["entries"][-1]
    assert (entry["route"], entry["body"], entry["status"]) == (
        "POST /intakes",
        {"custom_x": "y"},
        200,
    )
