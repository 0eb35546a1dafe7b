"""Visits: listing (paging, filters, order), detail, current, update, close, walk-in, e-consult."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from .helpers import ADMIN, MEMBER, NOW, PROVIDER, api, data, error


async def page(client: httpx.AsyncClient, query: str, headers: dict[str, str]) -> dict[str, Any]:
    response = await client.get(api(f"/visits?{query}"), headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def all_visits(
    client: httpx.AsyncClient, headers: dict[str, str], query: str = ""
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for number in range(1, 50):
        body = await page(client, f"limit=100&page={number}&{query}", headers)
        found += body["data"]
        if len(found) >= body["total"]:
            return found
    raise AssertionError("paging never ended")


async def test_list_shape_order_and_paging(client: httpx.AsyncClient) -> None:
    first = await page(client, "limit=5", ADMIN)
    assert (first["page"], first["limit"], len(first["data"])) == (1, 5, 5)
    everything = await all_visits(client, ADMIN)
    assert len(everything) == first["total"] >= 150
    keys = [(int(v["start"]), int(v["id"])) for v in everything]
    assert keys == sorted(keys, reverse=True)
    assert len({v["id"] for v in everything}) == len(everything)
    second = await page(client, "limit=5&page=2", ADMIN)
    assert [v["id"] for v in second["data"]] == [v["id"] for v in everything[5:10]]
    beyond = await page(client, "page=999", ADMIN)
    assert beyond["data"] == []
    item = everything[0]
    for key in ("id", "member_id", "provider_id", "start", "end", "type", "subtype", "status"):
        assert isinstance(item[key], str), key
    assert isinstance(item["created"], int)
    # VSee's rows name neither the intake nor the room (and their room_id is null).
    assert "intake" not in item
    assert "intake_id" not in item
    assert "room_code" not in item
    assert item["room_id"] is None


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=101", "limit=x", "page=0", "page=-1", "status=a", "from=x"]
)
async def test_bad_paging_and_filters_are_400(client: httpx.AsyncClient, query: str) -> None:
    name = query.split("=")[0]
    assert name in await error(client, "GET", f"/visits?{query}", 400, headers=ADMIN)


async def test_filters(client: httpx.AsyncClient) -> None:
    everything = await all_visits(client, ADMIN)
    walkins = await all_visits(client, ADMIN, "type=1")
    assert walkins
    assert walkins == [v for v in everything if v["type"] == "1"]
    open_ones = await all_visits(client, ADMIN, "status=10,30")
    assert {v["status"] for v in open_ones} == {"10", "30"}
    provider = everything[0]["provider_id"]
    theirs = await all_visits(client, ADMIN, f"provider_id={provider}")
    assert theirs == [v for v in everything if v["provider_id"] == provider]
    unassigned = await all_visits(client, ADMIN, "provider_id=0")
    assert unassigned
    assert all(v["provider"] is None for v in unassigned)
    member = everything[0]["member_id"]
    assert await all_visits(client, ADMIN, f"member_id={member}") == [
        v for v in everything if v["member_id"] == member
    ]
    urgent = await all_visits(client, ADMIN, "room_code=vclinic_urgent")
    assert urgent
    for row in urgent[:3]:  # rows carry no room code: the detail tells it
        detail = await data(client, "GET", f"/visits/{row['id']}", headers=ADMIN)
        assert detail["room_code"] == "vclinic_urgent"
    window = await all_visits(client, ADMIN, f"from={NOW}&to={NOW + 7 * 86400}")
    assert window
    assert window == [v for v in everything if NOW <= int(v["start"]) < NOW + 7 * 86400]


async def test_detail_shape(client: httpx.AsyncClient) -> None:
    listed = (await page(client, "status=40&type=2&limit=1", MEMBER))["data"][0]
    visit = await data(client, "GET", f"/visits/{listed['id']}", headers=MEMBER)
    assert visit["id"] == listed["id"]
    for key in ("member_id", "provider_id", "start", "end", "type", "status", "room_id"):
        assert isinstance(visit[key], int), key
    assert visit["subType"] == visit["subtype"] == 3
    assert visit["provider"]["full_name"]
    assert visit["intake"]["id"] == visit["intake_id"]
    assert visit["intake"]["visit_id"] == listed["id"]
    assert visit["host_ids"] == [str(visit["provider_id"])]
    assert visit["call_logs"]["total_duration"] == visit["actual_end"] - visit["actual_start"]
    assert visit["postvisit"]["draft"] is False
    assert visit["isEditExpired"] is True
    assert visit["incharge"] is False
    as_provider = await data(client, "GET", f"/visits/{listed['id']}", headers=PROVIDER)
    assert as_provider["incharge"] is True


async def test_current_visit(client: httpx.AsyncClient) -> None:
    current = await data(client, "GET", "/visits/current", headers=MEMBER)
    assert current["status"] == 30
    assert current["actual_start"] is not None
    assert (await data(client, "GET", "/visits/current", headers=PROVIDER))["id"] == current["id"]
    assert await data(client, "GET", "/visits/current", headers=ADMIN) is None
    await data(
        client,
        "POST",
        "/visits/close",
        data={"id": current["id"], "reason": "call_ended"},
        headers=PROVIDER,
    )
    assert await data(client, "GET", "/visits/current", headers=MEMBER) is None
    closed = await data(client, "GET", f"/visits/{current['id']}", headers=MEMBER)
    assert closed["status"] == 40
    assert closed["actual_end"] is not None
    assert closed["completed_by"] == int(closed["provider_id"])
    assert closed["related_walkin"]["status"] == 40


async def upcoming(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    visits = await all_visits(client, headers, "status=20&type=2")
    return next(v for v in visits if v["provider_id"] != "0" and int(v["start"]) > NOW)


async def test_close_and_cancel(client: httpx.AsyncClient) -> None:
    visits = [
        v for v in await all_visits(client, MEMBER, "status=20&type=2") if int(v["start"]) > NOW
    ]
    assert len(visits) >= 2
    closed = await data(
        client, "POST", "/visits/close", data={"id": visits[0]["id"]}, headers=MEMBER
    )
    assert closed == {"id": visits[0]["id"]}
    assert (await data(client, "GET", f"/visits/{visits[0]['id']}", headers=MEMBER))["status"] == 40
    cancel = {"id": visits[1]["id"], "reason": "patient_cancel_appointment"}
    await data(client, "POST", "/visits/close", data=cancel, headers=MEMBER)
    cancelled = await data(client, "GET", f"/visits/{visits[1]['id']}", headers=MEMBER)
    assert cancelled["status"] == 50
    assert cancelled["isEditExpired"] is True
    await error(client, "POST", "/visits/close", 422, data=cancel, headers=MEMBER)


async def test_close_validation(client: httpx.AsyncClient) -> None:
    visit = await upcoming(client, MEMBER)
    assert "reason" in await error(
        client,
        "POST",
        "/visits/close",
        400,
        data={"id": visit["id"], "reason": "bored"},
        headers=MEMBER,
    )
    assert "id" in await error(client, "POST", "/visits/close", 400, data={}, headers=MEMBER)
    await error(client, "POST", "/visits/close", 404, data={"id": "123456789"}, headers=MEMBER)


async def test_update_start_end_and_provider(client: httpx.AsyncClient) -> None:
    visit = await upcoming(client, PROVIDER)
    path = f"/visits/{visit['id']}"
    start = int(visit["start"])
    # Somewhere free: a Sunday night three weeks out is nobody's working time.
    new_start = start - start % 86400 + 21 * 86400 + 2 * 3600
    moved = await data(
        client,
        "POST",
        f"{path}?version=2",
        data={"start": new_start, "end": new_start + 1800},
        headers=PROVIDER,
    )
    assert (moved["start"], moved["end"]) == (new_start, new_start + 1800)
    shifted = await data(
        client, "POST", f"{path}?version=2", data={"start": new_start + 900}, headers=PROVIDER
    )
    assert shifted["end"] - shifted["start"] == 1800  # moving keeps the length
    removed = await data(
        client, "POST", f"{path}.json?version=2", data={"provider_id": "0"}, headers=PROVIDER
    )
    assert (removed["provider_id"], removed["provider"], removed["host_ids"]) == (0, None, [])
    listed = await all_visits(client, PROVIDER, "provider_id=0")
    assert visit["id"] in [v["id"] for v in listed]
    back = await data(
        client,
        "POST",
        f"{path}?version=2",
        data={"provider_id": visit["provider_id"]},
        headers=PROVIDER,
    )
    assert back["provider_id"] == int(visit["provider_id"])
    assert back["provider"]["id"] == visit["provider_id"]
    assert back["intake"]["provider_id"] == visit["provider_id"]


async def test_update_validation(client: httpx.AsyncClient) -> None:
    visit = await upcoming(client, PROVIDER)
    path = f"/visits/{visit['id']}"
    assert "version" in await error(client, "POST", path, 400, data={"start": 1}, headers=PROVIDER)
    start = int(visit["start"])
    await error(
        client,
        "POST",
        f"{path}?version=2",
        422,
        data={"start": start, "end": start},
        headers=PROVIDER,
    )
    await error(
        client, "POST", f"{path}?version=2", 422, data={"provider_id": "99999"}, headers=PROVIDER
    )
    sun_provider = (
        await data(
            client, "GET", "/rooms/sunclinic_main/providers", headers={"X-AccountCode": "sunclinic"}
        )
    )[0]
    await error(
        client,
        "POST",
        f"{path}?version=2",
        422,
        data={"provider_id": sun_provider["id"]},
        headers=PROVIDER,
    )
    done = (await page(client, "status=40&limit=1", PROVIDER))["data"][0]
    await error(
        client,
        "POST",
        f"/visits/{done['id']}?version=2",
        422,
        data={"start": start},
        headers=PROVIDER,
    )


async def test_update_into_a_taken_slot_is_409(client: httpx.AsyncClient) -> None:
    visits = await all_visits(client, ADMIN, "status=20&type=2")
    by_provider: dict[str, list[dict[str, Any]]] = {}
    for visit in visits:
        if visit["provider_id"] != "0" and int(visit["start"]) > NOW:
            by_provider.setdefault(visit["provider_id"], []).append(visit)
    first, second = next(v for v in by_provider.values() if len(v) >= 2)[:2]
    body = {"start": first["start"], "end": first["end"]}
    message = await error(
        client, "POST", f"/visits/{second['id']}?version=2", 409, data=body, headers=ADMIN
    )
    assert message == "The selected slot is no longer available"
    # The same move without a provider is fine.
    body["provider_id"] = "0"
    await data(client, "POST", f"/visits/{second['id']}?version=2", data=body, headers=ADMIN)


async def intake(
    client: httpx.AsyncClient, headers: dict[str, str] = MEMBER, **fields: Any
) -> dict[str, Any]:
    created: dict[str, Any] = await data(client, "POST", "/intakes", json=fields, headers=headers)
    return created


async def test_add_walkin(client: httpx.AsyncClient) -> None:
    providers = await data(client, "GET", "/rooms/vclinic_urgent/providers", headers=MEMBER)
    form = await intake(client, reason_for_visit="Sprained ankle")
    body = {
        "provider_id": providers[0]["id"],
        "intake_id": form["id"],
        "room_code": "vclinic_urgent",
    }
    visit = await data(client, "POST", "/visits/add_walkin", data=body, headers=MEMBER)
    assert (visit["type"], visit["status"], visit["provider_id"]) == ("1", "10", providers[0]["id"])
    assert visit["intake"]["id"] == form["id"]
    assert visit["intake"]["visit_id"] == visit["id"]
    assert "type" not in visit["intake"]  # an intake keeps only what its author sent
    assert visit["provider"]["id"] == providers[0]["id"]
    assert int(visit["end"]) - int(visit["start"]) == 15 * 60
    listed = await all_visits(client, MEMBER, "status=10")
    assert visit["id"] in [v["id"] for v in listed]
    # An intake serves one visit.
    await error(client, "POST", "/visits/add_walkin", 422, data=body, headers=MEMBER)


async def test_add_walkin_validation(client: httpx.AsyncClient) -> None:
    form = await intake(client)
    await error(
        client, "POST", "/visits/add_walkin", 400, data={"intake_id": form["id"]}, headers=MEMBER
    )
    no_walkins = {"intake_id": form["id"], "room_code": "vclinic_followup"}
    await error(client, "POST", "/visits/add_walkin", 422, data=no_walkins, headers=MEMBER)
    unknown = {"intake_id": "nope", "room_code": "vclinicroom"}
    await error(client, "POST", "/visits/add_walkin", 422, data=unknown, headers=MEMBER)
    other_room = {"intake_id": form["id"], "room_code": "sunclinic_main"}
    await error(client, "POST", "/visits/add_walkin", 422, data=other_room, headers=MEMBER)
    bad_provider = {"intake_id": form["id"], "room_code": "vclinicroom", "provider_id": "1"}
    await error(client, "POST", "/visits/add_walkin", 422, data=bad_provider, headers=MEMBER)
    walkin = {"intake_id": form["id"], "room_code": "vclinicroom", "provider_id": "0"}
    visit = await data(client, "POST", "/visits/add_walkin", data=walkin, headers=MEMBER)
    assert (visit["provider_id"], visit["provider"]) == ("0", None)


async def test_add_econsult(client: httpx.AsyncClient) -> None:
    form = await intake(client, reason_for_visit="Rash", question_1="A week")
    body = {"intake_id": form["id"], "room_code": "vclinicroom"}
    visit = await data(client, "POST", "/visits/add_econsult", json=body, headers=MEMBER)
    assert (visit["type"], visit["subtype"], visit["status"], visit["provider_id"]) == (3, 4, 20, 0)
    assert visit["state"] == "--"
    assert visit["expiry"] == visit["end"] + 4 * 3600
    assert visit["intake"]["question_1"] == "A week"
    assert visit["intake"]["invoice_id"] == visit["invoice_id"] == visit["invoice"]["id"]
    # A provider accepts it by assigning themselves.
    me = (await data(client, "GET", "/visits/current", headers=PROVIDER))["provider_id"]
    accepted = await data(
        client,
        "POST",
        f"/visits/{visit['id']}?version=2",
        data={"provider_id": me},
        headers=PROVIDER,
    )
    assert accepted["provider_id"] == me


async def test_the_start_knob_puts_a_waiting_walkin_in_progress(client: httpx.AsyncClient) -> None:
    providers = await data(client, "GET", "/rooms/vclinic_urgent/providers", headers=MEMBER)
    form = await intake(client, reason_for_visit="Fever")
    body = {
        "provider_id": providers[0]["id"],
        "intake_id": form["id"],
        "room_code": "vclinic_urgent",
    }
    visit = await data(client, "POST", "/visits/add_walkin", data=body, headers=MEMBER)
    started = await client.post(f"/_sandbox/visits/{visit['id']}/start")
    assert started.json() == {"ok": True}
    detail = await data(client, "GET", f"/visits/{visit['id']}", headers=MEMBER)
    assert str(detail["status"]) == "30"
    assert detail["actual_start"] is not None
    current = await data(client, "GET", "/visits/current", headers=MEMBER)
    assert current["id"] == visit["id"]
    # Only a waiting or scheduled visit starts; an unknown one is 404.
    assert (await client.post(f"/_sandbox/visits/{visit['id']}/start")).status_code == 422
    assert (await client.post("/_sandbox/visits/99999999/start")).status_code == 404
    assert (await client.post("/_sandbox/visits/abc/start")).status_code == 404
