"""Credentials: account header always, user token for private routes, isolation between users."""

from __future__ import annotations

import httpx
import pytest

from .helpers import (
    ADMIN,
    MEMBER,
    PROVIDER,
    PUBLIC,
    SUN_MEMBER,
    SUN_PROVIDER,
    api,
    data,
    error,
    headers_for,
    users,
)

PRIVATE_GETS = ["/visits", "/visits/current", "/availability?start=1&end=2", "/visits/7720"]
PUBLIC_GETS = ["/rooms", "/rooms/vclinicroom", "/rooms/vclinicroom/providers"]


@pytest.mark.parametrize("path", PRIVATE_GETS + PUBLIC_GETS)
async def test_no_headers_is_401(client: httpx.AsyncClient, path: str) -> None:
    message = await error(client, "GET", path, 401)
    assert "X-AccountCode" in message


@pytest.mark.parametrize("path", PRIVATE_GETS + PUBLIC_GETS)
async def test_unknown_account_is_401(client: httpx.AsyncClient, path: str) -> None:
    headers = {"X-AccountCode": "nope", "X-ApiToken": "demo-member-token"}
    assert await error(client, "GET", path, 401, headers=headers) == "Unknown account"


@pytest.mark.parametrize("path", PRIVATE_GETS)
async def test_private_routes_need_a_token(client: httpx.AsyncClient, path: str) -> None:
    assert "X-ApiToken" in await error(client, "GET", path, 401, headers=PUBLIC)
    bad = {**PUBLIC, "X-ApiToken": "not-a-token"}
    await error(client, "GET", path, 401, headers=bad)


async def test_a_token_of_another_account_is_401(client: httpx.AsyncClient) -> None:
    crossed = {"X-AccountCode": "vclinic", "X-ApiToken": "sun-member-token"}
    await error(client, "GET", "/visits", 401, headers=crossed)


@pytest.mark.parametrize("path", PUBLIC_GETS)
async def test_room_reads_are_public_within_an_account(
    client: httpx.AsyncClient, path: str
) -> None:
    await data(client, "GET", path, headers=PUBLIC)
    # ... and an X-ApiKey is accepted and ignored.
    await data(client, "GET", path, headers={**PUBLIC, "X-ApiKey": "whatever"})


async def test_rooms_of_another_account_are_404(client: httpx.AsyncClient) -> None:
    await error(client, "GET", "/rooms/sunclinic_main", 404, headers=PUBLIC)
    rooms = await data(client, "GET", "/rooms", headers={"X-AccountCode": "sunclinic"})
    assert {r["code"] for r in rooms} == {"sunclinic_main", "sunclinic_derm"}


async def test_members_see_only_their_own_visits(client: httpx.AsyncClient) -> None:
    mine = await data(client, "GET", "/visits?limit=100", headers=MEMBER)
    member_ids = {v["member_id"] for v in mine}
    assert len(member_ids) == 1
    everyone = await data(client, "GET", "/visits?limit=100", headers=PROVIDER)
    assert len({v["member_id"] for v in everyone}) > 10
    other = next(v for v in everyone if v["member_id"] not in member_ids)
    await error(client, "GET", f"/visits/{other['id']}", 404, headers=MEMBER)
    detail = await data(client, "GET", f"/visits/{other['id']}", headers=ADMIN)
    await error(client, "GET", f"/intakes/{detail['intake_id']}", 404, headers=MEMBER)
    await data(client, "GET", f"/intakes/{detail['intake_id']}", headers=PROVIDER)


async def test_another_accounts_visit_is_404_not_403(client: httpx.AsyncClient) -> None:
    sun_visits = await data(client, "GET", "/visits", headers=SUN_PROVIDER)
    assert sun_visits
    sun_detail = await data(client, "GET", f"/visits/{sun_visits[0]['id']}", headers=SUN_PROVIDER)
    for headers in (MEMBER, PROVIDER, ADMIN):
        await error(client, "GET", f"/visits/{sun_visits[0]['id']}", 404, headers=headers)
        await error(client, "GET", f"/intakes/{sun_detail['intake_id']}", 404, headers=headers)
    ours = await data(client, "GET", "/visits", headers=PROVIDER)
    await error(client, "GET", f"/visits/{ours[0]['id']}", 404, headers=SUN_MEMBER)


async def test_every_listed_user_can_call_with_their_token(client: httpx.AsyncClient) -> None:
    for account in ("vclinic", "sunclinic"):
        for user in await users(client, account):
            response = await client.get(api("/visits?limit=1"), headers=headers_for(user))
            assert response.status_code == 200, user


async def test_members_cannot_act_for_other_members(client: httpx.AsyncClient) -> None:
    other = next(
        u
        for u in await users(client, "vclinic")
        if u["type"] == 200 and u["token"] != "demo-member-token"
    )
    await error(client, "POST", "/intakes", 403, data={"member_id": other["id"]}, headers=MEMBER)
    created = await data(client, "POST", "/intakes", data={"member_id": other["id"]}, headers=ADMIN)
    stored = await data(client, "GET", f"/intakes/{created['id']}", headers=ADMIN)
    assert stored["member_id"] == other["id"]
