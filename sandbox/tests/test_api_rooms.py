"""Rooms and their providers (public reads) and SSO sign-on."""

from __future__ import annotations

import httpx

from .helpers import PUBLIC, api, data, error

SSO = {"X-AccountCode": "vclinic", "X-ApiKey": "demo-api-key", "X-ApiSecret": "demo-api-secret"}


async def test_room_list_and_paging(client: httpx.AsyncClient) -> None:
    response = await client.get(api("/rooms"), headers=PUBLIC)
    body = response.json()
    assert (body["total"], body["page"], body["limit"]) == (3, 1, 20)
    assert [r["code"] for r in body["data"]] == [
        "vclinicroom",
        "vclinic_urgent",
        "vclinic_followup",
    ]
    for room in body["data"]:
        assert set(room) >= {"id", "slug", "name", "domain", "code", "created", "modified"}
    second = (await client.get(api("/rooms?page=2&limit=2"), headers=PUBLIC)).json()
    assert [r["code"] for r in second["data"]] == ["vclinic_followup"]
    assert "limit" in await error(client, "GET", "/rooms?limit=500", 400, headers=PUBLIC)
    assert "page" in await error(client, "GET", "/rooms?page=0", 400, headers=PUBLIC)


async def test_room_detail(client: httpx.AsyncClient) -> None:
    room = await data(client, "GET", "/rooms/vclinicroom", headers=PUBLIC)
    assert room["specialties"][0] == {"code": "general", "name": "General Practice", "duration": 15}
    assert room["payment"]["currency"] == "USD"
    consultation = room["payment"]["consultations"][0]
    assert set(consultation) == {
        "id",
        "description",
        "duration",
        "amount",
        "charge",
        "group",
        "slots",
    }
    assert room["operation_settings"]["is_closed"] is False
    assert room["visits"] == {"walkin": {"enabled": True}, "appointment": {"enabled": True}}
    followup = await data(client, "GET", "/rooms/vclinic_followup", headers=PUBLIC)
    assert followup["visits"]["walkin"] == {"enabled": False}


async def test_room_providers(client: httpx.AsyncClient) -> None:
    providers = await data(client, "GET", "/rooms/vclinicroom/providers", headers=PUBLIC)
    assert len(providers) >= 2
    fields = {"id", "username", "code", "subtype", "first_name", "last_name", "vseeid"}
    fields |= {"photo", "title", "suffix", "status", "short_bio"}
    for provider in providers:
        assert set(provider) == fields
        assert isinstance(provider["id"], str)
        assert provider["subtype"] == "482"
    one = await data(
        client, "GET", f"/rooms/vclinicroom/providers/{providers[0]['id']}", headers=PUBLIC
    )
    assert {k: one[k] for k in fields} == providers[0]
    assert one["full_name"] == f"{one['first_name']} {one['last_name']}"
    assert "vclinicroom" in [room["code"] for room in one["rooms"]]
    assert one["specialties"]


async def test_provider_outside_the_room_is_404(client: httpx.AsyncClient) -> None:
    everyone = {
        p["id"]
        for code in ("vclinicroom", "vclinic_urgent", "vclinic_followup")
        for p in await data(client, "GET", f"/rooms/{code}/providers", headers=PUBLIC)
    }
    urgent = {
        p["id"]
        for p in await data(client, "GET", "/rooms/vclinic_urgent/providers", headers=PUBLIC)
    }
    outsider = sorted(everyone - urgent)[0]
    await error(client, "GET", f"/rooms/vclinic_urgent/providers/{outsider}", 404, headers=PUBLIC)


async def test_sso_creates_then_finds_the_member(client: httpx.AsyncClient) -> None:
    person = {
        "first_name": "Pat",
        "last_name": "Doe",
        "type": 200,
        "email": "pat@example.com",
        "code": "ext-42",
    }
    first = await data(client, "POST", "/users/sso", json=person, headers=SSO)
    assert first["first_name"] == "Pat"
    assert isinstance(first["id"], str)
    token = first["token"]["token"]
    again = await data(client, "POST", "/users/sso.json?fields=vsee", json=person, headers=SSO)
    assert again["id"] == first["id"]
    assert again["token"]["token"] == token
    assert again["vsee"]["id"] == again["vseeid"]
    assert "vsee" not in first
    # The token works as a member's token right away.
    mine = await client.get(
        api("/visits"), headers={"X-AccountCode": "vclinic", "X-ApiToken": token}
    )
    assert mine.json() == {"data": [], "total": 0, "page": 1, "limit": 20}
    users = (await client.get("/_sandbox/users")).json()["accounts"][0]["users"]
    assert any(u["id"] == first["id"] and u["token"] == token for u in users)


async def test_sso_needs_the_app_key_and_secret(client: httpx.AsyncClient) -> None:
    person = {"first_name": "Pat", "last_name": "Doe", "type": 200, "code": "ext-42"}
    await error(
        client, "POST", "/users/sso", 401, json=person, headers={**SSO, "X-ApiSecret": "wrong"}
    )
    no_key = {"X-AccountCode": "vclinic", "X-ApiToken": "demo-member-token"}
    await error(client, "POST", "/users/sso", 401, json=person, headers=no_key)
    await error(
        client, "POST", "/users/sso", 401, json=person, headers={**SSO, "X-AccountCode": "nope"}
    )


async def test_sso_validates_the_person(client: httpx.AsyncClient) -> None:
    assert "code" in await error(
        client, "POST", "/users/sso", 400, json={"first_name": "A", "last_name": "B"}, headers=SSO
    )
    assert "first_name" in await error(
        client, "POST", "/users/sso", 400, json={"code": "x"}, headers=SSO
    )
    guest = {"first_name": "A", "last_name": "B", "type": 600, "code": "g"}
    await error(client, "POST", "/users/sso", 422, json=guest, headers=SSO)
