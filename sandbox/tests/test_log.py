"""The /_sandbox knobs: request log, faults (latency, error rate, failing routes), reset, users."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from vsee_sandbox import SandboxConfig, create_app

from .helpers import MEMBER, NOW, PUBLIC, api, data, error


async def log(client: httpx.AsyncClient) -> dict[str, Any]:
    body: dict[str, Any] = (await client.get("/_sandbox/requests")).json()
    return body


async def test_the_log_counts_by_route_template(client: httpx.AsyncClient) -> None:
    current = await data(client, "GET", "/visits/current", headers=MEMBER)
    for suffix in ("", ".json", ""):
        await data(client, "GET", f"/visits/{current['id']}{suffix}", headers=MEMBER)
    await client.get(api("/visits"))  # 401
    await client.get(api("/visits/99999999"), headers=MEMBER)  # 404
    await client.get(api("/nowhere?x=1"), headers=MEMBER)  # no route
    body = await log(client)
    assert body["total"] == 7
    assert body["counts"] == {
        "GET /visits/current": 1,
        "GET /visits/{id}": 4,
        "GET /visits": 1,
        "GET /nowhere": 1,
    }
    assert [e["status"] for e in body["entries"]] == [200, 200, 200, 200, 401, 404, 404]
    suffixed = body["entries"][2]
    assert (suffixed["method"], suffixed["path"], suffixed["route"]) == (
        "GET",
        f"/visits/{current['id']}.json",
        "GET /visits/{id}",
    )
    assert suffixed["body"] is None
    assert body["entries"][-1]["query"] == {"x": "1"}


async def test_entries_keep_headers_query_and_body(client: httpx.AsyncClient) -> None:
    headers = {**MEMBER, "X-ApiKey": "k", "X-Custom": "yes"}
    await client.post(
        api("/intakes?debug=1&tag=a&tag=b"), json={"custom_q": [1, 2]}, headers=headers
    )
    entry = (await log(client))["entries"][0]
    assert entry["headers"]["x-accountcode"] == "vclinic"
    assert entry["headers"]["x-apitoken"] == "demo-member-token"
    assert entry["headers"]["x-apikey"] == "k"
    assert entry["headers"]["x-custom"] == "yes"
    assert "host" in entry["headers"]
    assert entry["query"] == {"debug": "1", "tag": ["a", "b"]}
    assert entry["content_type"] == "application/json"
    assert entry["body"] == {"custom_q": [1, 2]}


async def test_control_calls_are_not_logged_and_delete_clears(client: httpx.AsyncClient) -> None:
    await client.get(api("/rooms"), headers=PUBLIC)
    await client.get("/_sandbox/health")
    assert (await log(client))["total"] == 1
    assert (await client.delete("/_sandbox/requests")).json() == {"ok": True}
    assert await log(client) == {"total": 0, "counts": {}, "entries": []}


async def put_faults(client: httpx.AsyncClient, body: Any) -> httpx.Response:
    return await client.put("/_sandbox/faults", json=body)


async def test_faults_round_trip_and_missing_keys_mean_none(client: httpx.AsyncClient) -> None:
    default = (await client.get("/_sandbox/faults")).json()
    assert default == {
        "latency_ms": 0.0,
        "jitter_ms": 0.0,
        "error_rate": 0.0,
        "fail": {},
        "misbehave": {},
        "misbehave_rate": 0.0,
        "misbehave_kinds": ["reset", "stall", "html", "unavailable"],
        "stall_ms": 30000.0,
    }
    full = {
        **default,
        "latency_ms": 5,
        "jitter_ms": 1,
        "error_rate": 0.25,
        "fail": {"GET /rooms": 500},
        "misbehave": {"GET /visits": "reset"},
        "misbehave_rate": 0.5,
        "misbehave_kinds": ["html"],
        "stall_ms": 100.0,
    }
    assert (await put_faults(client, full)).json() == {**full, "latency_ms": 5.0, "jitter_ms": 1.0}
    await put_faults(client, {"error_rate": 0.5})
    assert (await client.get("/_sandbox/faults")).json() == {**default, "error_rate": 0.5}


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"error_rate": 2},
        {"latency_ms": -1},
        {"latency_ms": "slow"},
        {"fail": {"GET /rooms": 42}},
        {"fail": ["GET /rooms"]},
        {"surprise": 1},
        {"misbehave": {"GET /rooms": "explode"}},
        {"misbehave_rate": 1.5},
        {"misbehave_kinds": []},
        {"stall_ms": -1},
    ],
)
async def test_bad_fault_configs_are_400(client: httpx.AsyncClient, body: Any) -> None:
    response = await put_faults(client, body)
    assert response.status_code == 400
    assert response.json()["code"] == 400


async def test_a_failing_route_always_answers_its_status(client: httpx.AsyncClient) -> None:
    await put_faults(client, {"fail": {"GET /visits/{id}": 503, "GET /rooms": 500}})
    for path in ("/visits/1", "/visits/2.json"):
        response = await client.get(api(path), headers=MEMBER)
        assert response.status_code == 503
        assert response.json() == {"code": 503, "message": "Service temporarily unavailable"}
    assert (await client.get(api("/rooms"))).json() == {
        "code": 500,
        "message": "Internal Server Error",
    }
    await data(client, "GET", "/visits", headers=MEMBER)  # other routes are untouched
    assert [e["status"] for e in (await log(client))["entries"]] == [503, 503, 500, 200]


async def test_error_rate(client: httpx.AsyncClient) -> None:
    await put_faults(client, {"error_rate": 1})
    await error(client, "GET", "/rooms", 503, headers=PUBLIC)
    await put_faults(client, {"error_rate": 0.5})
    statuses = [(await client.get(api("/rooms"), headers=PUBLIC)).status_code for _ in range(200)]
    assert set(statuses) == {200, 503}
    assert 60 < statuses.count(503) < 140


async def test_config_error_rate_is_seeded_and_reproducible() -> None:
    async def statuses() -> list[int]:
        app = create_app(SandboxConfig(now=NOW, error_rate=0.3))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sb") as client:
            return [
                (await client.get(api("/rooms"), headers=PUBLIC)).status_code for _ in range(40)
            ]

    first = await statuses()
    assert 503 in first
    assert first == await statuses()


async def test_latency_and_jitter(client: httpx.AsyncClient) -> None:
    await put_faults(client, {"latency_ms": 40, "jitter_ms": 20})
    for _ in range(3):
        started = time.perf_counter()
        await data(client, "GET", "/rooms", headers=PUBLIC)
        elapsed = time.perf_counter() - started
        assert 0.04 <= elapsed < 0.5
    started = time.perf_counter()
    await client.get("/_sandbox/health")  # the knobs themselves are never slowed down
    assert time.perf_counter() - started < 0.04


async def test_reset_restores_state_and_clears_log_and_faults(client: httpx.AsyncClient) -> None:
    before = await data(client, "GET", "/visits/current", headers=MEMBER)
    await data(client, "POST", "/visits/close", data={"id": before["id"]}, headers=MEMBER)
    assert await data(client, "GET", "/visits/current", headers=MEMBER) is None
    await put_faults(client, {"fail": {"GET /rooms": 503}})
    assert (await client.post("/_sandbox/reset")).json() == {"ok": True}
    assert (await log(client))["total"] == 0
    assert (await client.get("/_sandbox/faults")).json()["fail"] == {}
    after = await data(client, "GET", "/visits/current", headers=MEMBER)
    assert after["id"] == before["id"]
    assert after["status"] == 30
    await data(client, "GET", "/rooms", headers=PUBLIC)


async def test_reset_restores_configured_faults() -> None:
    app = create_app(SandboxConfig(now=NOW, latency_ms=1, error_rate=0.1))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sb") as client:
        await put_faults(client, {})
        await client.post("/_sandbox/reset")
        faults = (await client.get("/_sandbox/faults")).json()
        assert (faults["latency_ms"], faults["error_rate"]) == (1.0, 0.1)


async def test_users_and_health(client: httpx.AsyncClient) -> None:
    assert (await client.get("/_sandbox/health")).json() == {"ok": True}
    body = (await client.get("/_sandbox/users")).json()
    assert body["sso"] == {"api_key": "demo-api-key", "api_secret": "demo-api-secret"}
    accounts = {a["code"]: a for a in body["accounts"]}
    assert set(accounts) == {"vclinic", "sunclinic"}
    tokens = {u["token"]: u for a in accounts.values() for u in a["users"]}
    assert tokens["demo-member-token"]["type"] == 200
    assert tokens["demo-provider-token"]["type"] == 400
    assert tokens["demo-admin-token"]["type"] == 160
    assert tokens["sun-member-token"]["account_code"] == "sunclinic"
    assert tokens["sun-provider-token"]["rooms"]
    for user in tokens.values():
        assert set(user) >= {"id", "type", "account_code", "first_name", "last_name", "token"}


def test_config_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="error_rate"):
        SandboxConfig(error_rate=1.5)
    with pytest.raises(ValueError, match="latency_ms"):
        SandboxConfig(latency_ms=-1)
    with pytest.raises(ValueError, match="now"):
        SandboxConfig(now=float("nan"))


async def test_proxy_misbehaviours_answer_without_serving(client: httpx.AsyncClient) -> None:
    await put_faults(client, {"misbehave": {"GET /rooms": "html", "GET /visits": "unavailable"}})
    html = await client.get(api("/rooms"), headers=PUBLIC)
    assert html.status_code == 200
    assert html.headers["content-type"] == "text/html"
    assert html.text.startswith("<!doctype html>")
    down = await client.get(api("/visits"), headers=PUBLIC)
    assert down.status_code == 503
    assert down.headers["content-type"] == "text/html"
    entries = (await log(client))["entries"]
    assert [(e["route"], e["status"], e["fault"]) for e in entries] == [
        ("GET /rooms", 200, "html"),
        ("GET /visits", 503, "unavailable"),
    ]


async def test_the_log_reads_on_from_a_total(client: httpx.AsyncClient) -> None:
    for _ in range(3):
        await client.get(api("/rooms"), headers=PUBLIC)
    first = (await client.get("/_sandbox/requests")).json()
    await client.get(api("/visits"), headers=PUBLIC)
    newer = (await client.get("/_sandbox/requests", params={"since": first["total"]})).json()
    assert newer["total"] == 4
    assert [e["route"] for e in newer["entries"]] == ["GET /visits"]
