"""The WebSocket transport: credentials before anything runs, limits, errors, close codes."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from collections.abc import Callable
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus

from tests.conftest import MEMBER, PROVIDER
from tests.servers import Gateway, Sandbox, free_port, gateway_command, gid, wait_until_healthy

from .test_subscriptions import VISIT_UPDATED, metric, new_walkin, start_call, wait_for
from .wsclient import Closed, credentials, socket

CURRENT = "subscription { currentVisitUpdated { id } }"
MakeGateway = Callable[..., tuple[Gateway, Any]]


async def test_a_connection_without_credentials_is_closed_4403_before_any_poll(
    make_live_gateway: MakeGateway, live_upstream: Sandbox
) -> None:
    gateway, _ = make_live_gateway()
    async with socket(gateway.url) as ws:
        with pytest.raises(Closed) as closed:
            await ws.init({"X-AccountCode": "vclinic"})
        assert closed.value.code == 4403
    # Bytes a header could never carry are refused the same way, never echoed.
    async with socket(gateway.url) as ws:
        with pytest.raises(Closed) as closed:
            await ws.init({"X-ApiToken": "to\nken", "X-AccountCode": "vclinic"})
        assert closed.value.code == 4403
        assert "to\nken" not in closed.value.reason
    # The same from the upgrade request's headers.
    async with socket(
        gateway.url, headers={"X-ApiToken": "tok\u00e9n", "X-AccountCode": "v"}
    ) as ws:
        with pytest.raises(Closed) as closed:
            await ws.init()
        assert closed.value.code == 4403
    assert live_upstream.total() == 0


async def test_credentials_come_from_the_payload_or_the_upgrade_headers(
    make_live_gateway: MakeGateway, live_upstream: Sandbox
) -> None:
    gateway, _ = make_live_gateway()
    # Nested under "headers" (as some clients send them), any case.
    async with socket(gateway.url) as ws:
        await ws.init({"headers": {"x-apitoken": MEMBER, "x-accountcode": "vclinic"}})
        sub = await ws.subscribe(CURRENT)
        assert "errors" not in await ws.next_data(sub)
    async with socket(gateway.url, headers=credentials(MEMBER)) as ws:
        await ws.init()
        sub = await ws.subscribe(CURRENT)
        assert "errors" not in await ws.next_data(sub)
    assert live_upstream.counts() == {"GET /visits/current": 2}


async def test_a_subscribe_before_the_ack_is_closed_4401(
    make_live_gateway: MakeGateway, live_upstream: Sandbox
) -> None:
    gateway, _ = make_live_gateway()
    async with socket(gateway.url) as ws:
        await ws.subscribe(CURRENT)
        assert (await ws.wait_closed()).code == 4401
    assert live_upstream.total() == 0


async def test_subscriptions_are_limited_per_connection_and_per_caller(
    make_live_gateway: MakeGateway, live_upstream: Sandbox
) -> None:
    gateway, _ = make_live_gateway(
        ws_max_subscriptions_per_connection=2, live_max_subscriptions_per_caller=3
    )
    async with socket(gateway.url) as one, socket(gateway.url) as two:
        await one.init(credentials(MEMBER))
        await two.init(credentials(MEMBER))
        first, second = await one.subscribe(CURRENT), await one.subscribe(CURRENT)
        await one.next_data(first)
        await one.next_data(second)
        third = await one.subscribe(CURRENT)
        refused = await one.next_message(third)
        assert refused["type"] == "error"
        assert refused["payload"][0]["extensions"]["code"] == "TOO_MANY_SUBSCRIPTIONS"
        # The connection stays; the caller's third subscription, on another one, is allowed...
        allowed = await two.subscribe(CURRENT)
        assert "errors" not in await two.next_data(allowed)
        # ...and its fourth is not, wherever it is opened.
        fourth = await two.subscribe(CURRENT)
        event = await two.next_data(fourth)
        assert [e["extensions"]["code"] for e in event["errors"]] == ["TOO_MANY_SUBSCRIPTIONS"]
        assert (await two.next_message(fourth))["type"] == "complete"


async def test_vsee_errors_are_coded_events_and_other_subscriptions_go_on(
    make_live_gateway: MakeGateway, live_upstream: Sandbox
) -> None:
    gateway, _ = make_live_gateway(upstream_retries=0, breaker_threshold=1000)
    visit_id, _, _ = await asyncio.to_thread(new_walkin, gateway)
    async with socket(gateway.url) as ws:
        await ws.init(credentials(MEMBER))
        visit = await ws.subscribe(VISIT_UPDATED, {"id": visit_id})
        current = await ws.subscribe(CURRENT)
        assert (await ws.next_data(visit))["data"]["visitUpdated"]["id"] == visit_id
        await ws.next_data(current)
        live_upstream.faults(fail={"GET /visits/{id}": 503})
        failed = await ws.next_data(visit)
        assert failed["data"] == {"visitUpdated": None}
        assert [e["extensions"]["code"] for e in failed["errors"]] == ["UPSTREAM_UNAVAILABLE"]
        assert "127.0.0.1" not in str(failed)
        live_upstream.faults()
        # Polling went on: the visit comes back, and the other subscription never stopped.
        recovered = await ws.next_data(visit)
        assert recovered["data"]["visitUpdated"]["id"] == visit_id
        await ws.complete(current)
        await ws.complete(visit)


async def test_credentials_vsee_refuses_end_their_subscriptions(
    make_live_gateway: MakeGateway, live_upstream: Sandbox
) -> None:
    gateway, app = make_live_gateway()
    async with socket(gateway.url) as ws:
        await ws.init(credentials("made-up-token"))
        sub = await ws.subscribe(CURRENT)
        event = await ws.next_data(sub)
        assert event["data"] is None
        assert [e["extensions"]["code"] for e in event["errors"]] == ["UNAUTHENTICATED"]
        assert (await ws.next_message(sub))["type"] == "complete"
        # Then the socket: 4403, which graphql-ws retries (with fresh connectionParams).
        assert (await ws.wait_closed()).code == 4403
    assert app.state.services.live.pollers == 0


async def test_a_bad_visit_id_is_bad_user_input_before_any_call(
    make_live_gateway: MakeGateway, live_upstream: Sandbox
) -> None:
    gateway, _ = make_live_gateway()
    async with socket(gateway.url) as ws:
        await ws.init(credentials(MEMBER))
        sub = await ws.subscribe(VISIT_UPDATED, {"id": gid("Room", "abc")})
        event = await ws.next_data(sub)
        assert [e["extensions"]["code"] for e in event["errors"]] == ["BAD_USER_INPUT"]
    assert live_upstream.total() == 0


async def test_cross_origin_browsers_need_an_allowed_origin(
    make_live_gateway: MakeGateway, live_upstream: Sandbox
) -> None:
    closed, _ = make_live_gateway()
    with pytest.raises(InvalidStatus) as refused:
        async with socket(closed.url, origin="https://evil.example"):
            pass
    assert refused.value.response.status_code == 403
    allowed, _ = make_live_gateway(cors_origins=["https://app.example"])
    async with socket(allowed.url, origin="https://app.example") as ws:
        await ws.init(credentials(MEMBER))


async def test_an_idle_connection_is_closed_normally(
    make_live_gateway: MakeGateway, live_upstream: Sandbox
) -> None:
    gateway, _ = make_live_gateway(ws_idle_timeout=0.3)
    async with socket(gateway.url) as ws:
        await ws.init(credentials(MEMBER))
        assert (await ws.wait_closed()).code == 1000


def serve(port: int, upstream: Sandbox) -> subprocess.Popen[bytes]:
    """``vsee-gateway serve`` in its own process, as an operator runs it."""
    return subprocess.Popen(
        gateway_command("serve", "--port", str(port), "--upstream-url", upstream.api_url),
        env={**os.environ, "VSEE_LOG_LEVEL": "warning", "VSEE_SHUTDOWN_GRACE": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def test_sigterm_closes_sockets_with_a_code_clients_retry(live_upstream: Sandbox) -> None:
    port = free_port()
    process = serve(port, live_upstream)
    url = f"http://127.0.0.1:{port}"
    try:
        await asyncio.to_thread(wait_until_healthy, url, process)
        async with socket(url) as ws:
            await ws.init(credentials(MEMBER))
            sub = await ws.subscribe(CURRENT)
            await ws.next_data(sub)
            process.send_signal(signal.SIGTERM)
            # 1012 Service Restart: graphql-ws retries it (it does not retry 4400/4401/4500).
            assert (await ws.wait_closed()).code == 1012
        async with asyncio.timeout(30):
            assert await asyncio.to_thread(process.wait) in (0, -signal.SIGTERM)
    finally:
        if process.poll() is None:
            process.kill()
            await asyncio.to_thread(process.wait)


async def test_polls_count_against_the_callers_rate_limit(
    make_live_gateway: MakeGateway, live_upstream: Sandbox
) -> None:
    gateway, _ = make_live_gateway(rate_limit=True, rate_limit_per_second=0.001, rate_limit_burst=4)
    async with socket(gateway.url) as ws:
        await ws.init(credentials(MEMBER))
        # Subscribing costs the document's estimate (1), each poll one more.
        sub = await ws.subscribe(CURRENT)
        await ws.next_data(sub)
        await wait_for(
            lambda: metric(gateway, "gateway_live_polls_total", outcome="rate_limited") > 0
        )
        # Over budget, no poll reaches VSee; the subscription stays open, without an error.
        ok = metric(gateway, "gateway_live_polls_total", kind="current", outcome="ok")
        assert live_upstream.counts() == {"GET /visits/current": ok} == {"GET /visits/current": 3}
        assert ws.pending(sub) == 0
        # A new subscription of the same caller is refused before it runs.
        refused = await ws.subscribe(CURRENT)
        event = await ws.next_data(refused)
        assert [e["extensions"]["code"] for e in event["errors"]] == ["RATE_LIMITED"]
        assert (await ws.next_message(refused))["type"] == "complete"


async def test_a_query_over_the_socket_answers_once(
    make_live_gateway: MakeGateway, live_upstream: Sandbox
) -> None:
    gateway, _ = make_live_gateway()
    async with socket(gateway.url) as ws:
        await ws.init(credentials(MEMBER))
        op = await ws.subscribe("{ rooms(first: 1) { nodes { code } } }")
        answer = await ws.next_data(op)
        assert answer["data"]["rooms"]["nodes"]
        assert (await ws.next_message(op))["type"] == "complete"


ROOM_QUEUE = """subscription($room: String!) {
  roomQueue(roomCode: $room) { roomCode totalCount visits { id status } } }"""


async def test_a_provider_watches_the_rooms_walkin_queue(
    make_live_gateway: MakeGateway, live_upstream: Sandbox
) -> None:
    gateway, _ = make_live_gateway()
    rooms = "{ rooms(first: 1) { nodes { code } } }"
    answer = await asyncio.to_thread(gateway.query, rooms, token=MEMBER)
    room = answer["data"]["rooms"]["nodes"][0]["code"]
    async with socket(gateway.url) as ws:
        await ws.init(credentials(PROVIDER))
        sub = await ws.subscribe(ROOM_QUEUE, {"room": room})
        before = (await ws.next_data(sub))["data"]["roomQueue"]
        assert before["roomCode"] == room
        assert all(v["status"] == "WAITING" for v in before["visits"])
        visit_id, walkin_room, _ = await asyncio.to_thread(new_walkin, gateway)
        assert walkin_room == room
        joined = (await ws.next_data(sub))["data"]["roomQueue"]
        assert joined["totalCount"] == before["totalCount"] + 1
        # The newest arrival is last in line.
        assert joined["visits"][-1] == {"id": visit_id, "status": "WAITING"}
        await asyncio.to_thread(start_call, live_upstream, visit_id)
        left = (await ws.next_data(sub))["data"]["roomQueue"]
        assert left == before


async def test_a_socket_without_connection_init_is_closed_4408(
    make_live_gateway: MakeGateway, live_upstream: Sandbox
) -> None:
    gateway, _ = make_live_gateway(ws_connection_init_timeout=0.2)
    async with socket(gateway.url) as ws:
        assert (await ws.wait_closed()).code == 4408
    assert live_upstream.total() == 0


async def test_a_subscribe_message_gets_the_checks_http_makes(
    make_live_gateway: MakeGateway, live_upstream: Sandbox, tmp_path: Any
) -> None:
    import hashlib
    import json

    trusted = "subscription Mine { currentVisitUpdated { id } }"
    manifest = tmp_path / "manifest.json"
    digest = hashlib.sha256(trusted.encode()).hexdigest()
    manifest.write_text(
        json.dumps({"format": "apollo-persisted-query-manifest", "version": 1,
                    "operations": [{"id": digest, "name": "Mine", "type": "subscription",
                                    "body": trusted}]})
    )  # fmt: skip
    gateway, _ = make_live_gateway(trusted_documents=str(manifest), trusted_documents_only=True)
    async with socket(gateway.url) as ws:
        await ws.init(credentials(MEMBER))
        # Only the manifest's documents run, by text or by hash.
        other = await ws.subscribe(CURRENT)
        refused = await ws.next_message(other)
        assert refused["type"] == "error"
        assert refused["payload"][0]["extensions"]["code"] == "TRUSTED_DOCUMENT_REQUIRED"
        persisted = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
        by_hash = await ws.subscribe(None, extensions=persisted)
        assert "errors" not in await ws.next_data(by_hash)
        # Inputs are bounded as over HTTP, before anything runs.
        deep: Any = 1
        for _ in range(40):
            deep = [deep]
        bad = await ws.subscribe(trusted, {"x": deep})
        refused = await ws.next_message(bad)
        assert refused["payload"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert live_upstream.counts() == {"GET /visits/current": 1}
