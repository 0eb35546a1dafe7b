"""Routing: templates, the `.json` suffix, static paths before parameters, 404 and 405."""

from __future__ import annotations

import httpx
import pytest

from vsee_sandbox._routing import Route, Router

from .helpers import MEMBER, PUBLIC, api, data, error

ROUTER: Router[str] = Router(
    [
        Route("GET", "/visits", "list"),
        Route("GET", "/visits/current", "current"),
        Route("GET", "/visits/{id}", "get"),
        Route("POST", "/visits/{id}", "update"),
        Route("GET", "/rooms/{code}/providers/{id}", "provider"),
    ]
)


@pytest.mark.parametrize(
    ("method", "path", "handler", "params", "key"),
    [
        ("GET", "/visits", "list", {}, "GET /visits"),
        ("GET", "/visits.json", "list", {}, "GET /visits"),
        ("GET", "/visits/", "list", {}, "GET /visits"),
        ("GET", "/visits/current.json", "current", {}, "GET /visits/current"),
        ("GET", "/visits/7727.json", "get", {"id": "7727"}, "GET /visits/{id}"),
        ("POST", "/visits/7727", "update", {"id": "7727"}, "POST /visits/{id}"),
        (
            "GET",
            "/rooms/r1/providers/9",
            "provider",
            {"code": "r1", "id": "9"},
            "GET /rooms/{code}/providers/{id}",
        ),
    ],
)
def test_router_matches(
    method: str, path: str, handler: str, params: dict[str, str], key: str
) -> None:
    match = ROUTER.match(method, path)
    assert match.route is not None
    assert (match.route.handler, match.params, match.key) == (handler, params, key)


def test_router_misses() -> None:
    missing = ROUTER.match("GET", "/nowhere")
    assert (missing.route, missing.status, missing.key) == (None, 404, "GET /nowhere")
    wrong = ROUTER.match("DELETE", "/visits/1")
    assert (wrong.route, wrong.status, wrong.key) == (None, 405, "DELETE /visits/{id}")


@pytest.mark.parametrize(
    "path",
    ["/rooms", "/rooms/vclinicroom", "/rooms/vclinicroom/providers", "/visits", "/visits/current"],
)
async def test_json_suffix_gives_the_same_answer(client: httpx.AsyncClient, path: str) -> None:
    plain = await client.get(api(path), headers=MEMBER)
    suffixed = await client.get(api(path + ".json"), headers=MEMBER)
    assert plain.status_code == suffixed.status_code == 200
    assert plain.json() == suffixed.json()


async def test_visit_and_intake_ids_take_the_suffix(client: httpx.AsyncClient) -> None:
    current = await data(client, "GET", "/visits/current", headers=MEMBER)
    assert (await data(client, "GET", f"/visits/{current['id']}.json", headers=MEMBER))[
        "id"
    ] == current["id"]
    intake = await data(client, "GET", f"/intakes/{current['intake_id']}.json", headers=MEMBER)
    assert intake["id"] == current["intake_id"]


async def test_unknown_paths_and_methods(client: httpx.AsyncClient) -> None:
    assert "No route" in await error(client, "GET", "/nothing/here", 404, headers=MEMBER)
    await error(client, "DELETE", "/visits/1", 405, headers=MEMBER)
    await error(client, "GET", "/visits/abc", 404, headers=MEMBER)
    await error(client, "GET", "/visits/99999999", 404, headers=MEMBER)
    await error(client, "GET", "/rooms/vclinicroom/providers/1", 404, headers=PUBLIC)
    await error(client, "GET", "/rooms/nope/providers", 404, headers=PUBLIC)


async def test_paths_beside_the_prefix_are_not_the_api(client: httpx.AsyncClient) -> None:
    response = await client.get("/vc/next/api_v3x/rooms", headers=PUBLIC)
    assert response.status_code == 404
    assert (await client.get("/_sandbox/requests")).json()["total"] == 0
    assert (await client.get("/elsewhere")).json() == {"code": 404, "message": "Not Found"}
