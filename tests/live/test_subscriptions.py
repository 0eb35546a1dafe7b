"""Subscriptions end to end: real sandbox, real gateway, real WebSockets on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from typing import Any

from gateway.http import WEB_DIR
from tests.conftest import MEMBER, PROVIDER, SUN_MEMBER
from tests.servers import Gateway, Sandbox, raw_id
from tests.tools.test_schema_tools import TOOLS as TOOLS_DIR

from .wsclient import credentials, socket

VISIT_UPDATED = """subscription($id: ID!) {
  visitUpdated(id: $id) { id status provider { id } } }"""

CREATE_INTAKE = """mutation($input: IntakeInput!) {
  createIntake(input: $input) { intakeId userErrors { code } } }"""
CREATE_WALKIN = """mutation($input: CreateWalkinInput!) {
  createWalkin(input: $input) { userErrors { code message } visit { id status } } }"""
CURRENT = "subscription { currentVisitUpdated { id status } }"
CLOSE = (
    """mutation($input: CloseVisitInput!) { closeVisit(input: $input) { userErrors { code } } }"""
)


def new_walkin(gateway: Gateway) -> tuple[str, str, list[str]]:
    """A member's walk-in through the gateway: (visit id, room code, the room's providers)."""
    rooms = gateway.query("{ rooms(first: 1) { nodes { code } } }", token=MEMBER)["data"]
    room = rooms["rooms"]["nodes"][0]["code"]
    providers = [
        p["id"]
        for p in gateway.query(
            "query($c: String!) { room(code: $c) { providers { id } } }", {"c": room}, token=MEMBER
        )["data"]["room"]["providers"]
    ]
    intake = gateway.query(
        CREATE_INTAKE,
        {"input": {"reasonForVisit": "cough", "roomCode": room, "reset": True}},
        token=MEMBER,
    )["data"]["createIntake"]["intakeId"]
    body = gateway.query(
        CREATE_WALKIN,
        {"input": {"providerId": providers[0], "intakeId": intake, "roomCode": room}},
        token=MEMBER,
    )["data"]["createWalkin"]
    assert body["userErrors"] == [], body
    return body["visit"]["id"], room, providers


async def test_a_walkin_taken_by_a_provider_reaches_the_subscribed_member(
    make_live_gateway: Callable[..., tuple[Gateway, Any]], live_upstream: Sandbox
) -> None:
    gateway, _ = make_live_gateway()
    visit_id, _, providers = await asyncio.to_thread(new_walkin, gateway)
    async with socket(gateway.url) as ws:
        await ws.init(credentials(MEMBER))
        sub = await ws.subscribe(VISIT_UPDATED, {"id": visit_id})
        current = await ws.subscribe(CURRENT, None)
        first = await ws.next_data(sub)
        waiting = {"id": visit_id, "status": "WAITING", "provider": {"id": providers[0]}}
        assert first == {"data": {"visitUpdated": waiting}}
        before = await ws.next_data(current)
        assert (before["data"]["currentVisitUpdated"] or {}).get("id") != visit_id
        # The room's provider takes the walk-in: the call starts (in VSee's own app, so through
        # the sandbox's knob; api_v3 has no endpoint for it).
        await asyncio.to_thread(start_call, live_upstream, visit_id)
        event = await ws.next_data(sub)
        assert event == {"data": {"visitUpdated": {**waiting, "status": "IN_PROGRESS"}}}
        appeared = await ws.next_data(current)
        assert appeared["data"]["currentVisitUpdated"] == {"id": visit_id, "status": "IN_PROGRESS"}
        # The provider ends it: the last event shows it closed, then the subscription completes.
        closed = await asyncio.to_thread(
            gateway.query, CLOSE, {"input": {"id": visit_id}}, token=PROVIDER
        )
        assert closed["data"]["closeVisit"]["userErrors"] == [], closed
        event = await ws.next_data(sub)
        assert event == {"data": {"visitUpdated": {**waiting, "status": "COMPLETED"}}}
        assert (await ws.next_message(sub))["type"] == "complete"
        ended = await ws.next_data(current)
        assert (ended["data"]["currentVisitUpdated"] or {}).get("id") != visit_id
        # Nothing else was sent: every event carried a change the subscription selected.
        assert ws.pending(sub) == 0


def start_call(sandbox: Sandbox, visit_id: str) -> None:
    sandbox.http.post(f"{sandbox.url}/_sandbox/visits/{raw_id(visit_id)}/start").raise_for_status()


async def test_another_accounts_subscriber_cannot_watch_the_visit(
    make_live_gateway: Callable[..., tuple[Gateway, Any]], live_upstream: Sandbox
) -> None:
    gateway, _ = make_live_gateway()
    visit_id, _, _ = await asyncio.to_thread(new_walkin, gateway)
    async with socket(gateway.url) as owner, socket(gateway.url) as stranger:
        await owner.init(credentials(MEMBER))
        watched = await owner.subscribe(VISIT_UPDATED, {"id": visit_id})
        assert (await owner.next_data(watched))["data"]["visitUpdated"]["id"] == visit_id
        # The owner's poller holds the visit: the stranger still gets only its own read.
        await stranger.init(credentials(SUN_MEMBER, "sunclinic"))
        sub = await stranger.subscribe(VISIT_UPDATED, {"id": visit_id})
        event = await stranger.next_data(sub)
        assert event["data"] is None
        assert [e["extensions"]["code"] for e in event["errors"]] == ["NOT_FOUND"]
        assert (await stranger.next_message(sub))["type"] == "complete"


def metric(gateway: Gateway, name: str, **labels: str) -> float:
    """One sample of the gateway's /metrics (0 when absent)."""
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(gateway.metrics()):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


async def wait_for(condition: Callable[[], Any]) -> None:
    """Wait until ``condition()`` holds; a generous deadline, not an assumption of speed."""
    await asyncio.to_thread(poll_until, condition)


def poll_until(condition: Callable[[], Any]) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, "the condition did not come true in time"
        time.sleep(0.02)


async def test_a_hundred_subscribers_of_one_visit_cause_one_poll_per_interval(
    make_live_gateway: Callable[..., tuple[Gateway, Any]], live_upstream: Sandbox
) -> None:
    gateway, app = make_live_gateway()
    visit_id, _, _ = await asyncio.to_thread(new_walkin, gateway)
    live_upstream.clear_log()
    polls = {"kind": "visit", "outcome": "ok"}
    async with contextlib.AsyncExitStack() as stack:
        sockets = [await stack.enter_async_context(socket(gateway.url)) for _ in range(10)]
        subscriptions = []
        for ws in sockets:
            await ws.init(credentials(MEMBER))
            subscriptions += [
                (ws, await ws.subscribe(VISIT_UPDATED, {"id": visit_id})) for _ in range(10)
            ]
        firsts = [await ws.next_data(sub) for ws, sub in subscriptions]
        assert all(f["data"]["visitUpdated"]["status"] == "WAITING" for f in firsts)
        hub = app.state.services.live
        assert (hub.subscriptions, hub.pollers) == (100, 1)
        assert metric(gateway, "gateway_live_subscriptions_per_poller") == 100
        # Let the one poller poll a few intervals more.
        await wait_for(lambda: metric(gateway, "gateway_live_polls_total", **polls) >= 5)
        for ws, sub in subscriptions:
            await ws.complete(sub)
        await wait_for(lambda: hub.pollers == 0 and hub.subscriptions == 0)
        # Every VSee read was one of the poller's: one per interval, not one per subscriber.
        # (A poll on its way when the last subscriber left is counted `cancelled`: VSee may
        # or may not have seen it.)
        reads = live_upstream.counts()
        assert set(reads) == {"GET /visits/{id}"}
        counted = int(metric(gateway, "gateway_live_polls_total", **polls))
        cut = int(metric(gateway, "gateway_live_polls_total", **{**polls, "outcome": "cancelled"}))
        assert cut <= 1
        assert counted <= reads["GET /visits/{id}"] <= counted + cut
        # Nothing changed, so each subscriber got its first event only.
        assert all(ws.pending(sub) == 0 for ws, sub in subscriptions)


async def test_the_graphql_ws_client_follows_a_walkin_until_it_ends(
    make_live_gateway: Callable[..., tuple[Gateway, Any]], live_upstream: Sandbox, web_modules: Any
) -> None:
    gateway, _ = make_live_gateway()
    visit_id, _, _ = await asyncio.to_thread(new_walkin, gateway)
    node = await asyncio.create_subprocess_exec(
        "node",
        "--experimental-websocket",
        "--no-warnings",
        str(WEB_DIR / "subscribe.mjs"),
        gateway.url.replace("http://", "ws://") + "/graphql",
        json.dumps(credentials(MEMBER)),
        "subscription($id: ID!) { visitUpdated(id: $id) { id status } }",
        json.dumps({"id": visit_id}),
        cwd=WEB_DIR,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert node.stdout is not None

    async def line() -> dict[str, Any]:
        async with asyncio.timeout(60):
            raw = await node.stdout.readline()  # type: ignore[union-attr]
        assert raw, (await node.stderr.read()).decode()  # type: ignore[union-attr]
        message: dict[str, Any] = json.loads(raw)
        return message

    try:
        assert await line() == {
            "next": {"data": {"visitUpdated": {"id": visit_id, "status": "WAITING"}}}
        }
        await asyncio.to_thread(start_call, live_upstream, visit_id)
        assert await line() == {
            "next": {"data": {"visitUpdated": {"id": visit_id, "status": "IN_PROGRESS"}}}
        }
        await asyncio.to_thread(gateway.query, CLOSE, {"input": {"id": visit_id}}, token=PROVIDER)
        assert await line() == {
            "next": {"data": {"visitUpdated": {"id": visit_id, "status": "COMPLETED"}}}
        }
        assert await line() == {"complete": True}
        async with asyncio.timeout(60):
            assert await node.wait() == 0
    finally:
        if node.returncode is None:
            node.kill()
            await node.wait()


async def test_metrics_count_subscriptions_pollers_polls_events_and_the_saving(
    make_live_gateway: Callable[..., tuple[Gateway, Any]], live_upstream: Sandbox
) -> None:
    gateway, _ = make_live_gateway()
    visit_id, _, _ = await asyncio.to_thread(new_walkin, gateway)
    async with socket(gateway.url) as ws:
        await ws.init(credentials(MEMBER))
        subs = [await ws.subscribe(VISIT_UPDATED, {"id": visit_id}) for _ in range(2)]
        subs.append(await ws.subscribe(CURRENT))
        for sub in subs:
            await ws.next_data(sub)
        assert metric(gateway, "gateway_live_subscriptions") == 3
        assert metric(gateway, "gateway_live_pollers") == 2
        assert metric(gateway, "gateway_live_subscriptions_per_poller") == 1.5
        assert metric(gateway, "gateway_live_events_sent_total") == 3
        await wait_for(lambda: metric(gateway, "gateway_live_polls_total", kind="current") >= 3)
        for sub in subs:
            await ws.complete(sub)
        await wait_for(lambda: metric(gateway, "gateway_live_pollers") == 0)
        assert metric(gateway, "gateway_live_subscriptions") == 0
        assert metric(gateway, "gateway_live_subscriptions_per_poller") == 0
    # Labels are resource kinds and outcomes, never an id or a credential.
    from prometheus_client.parser import text_string_to_metric_families

    labels = {
        (name, value)
        for family in text_string_to_metric_families(gateway.metrics())
        if family.name.startswith("gateway_live")
        for sample in family.samples
        for name, value in sample.labels.items()
    }
    assert labels == {("kind", "visit"), ("kind", "current"), ("outcome", "ok")}


async def test_only_changes_of_the_selected_fields_are_sent(
    make_live_gateway: Callable[..., tuple[Gateway, Any]], live_upstream: Sandbox
) -> None:
    gateway, _ = make_live_gateway()
    visit_id, _, _ = await asyncio.to_thread(new_walkin, gateway)
    async with socket(gateway.url) as ws:
        await ws.init(credentials(MEMBER))
        ids = await ws.subscribe(
            "subscription($id: ID!) { visitUpdated(id: $id) { id } }", {"id": visit_id}
        )
        statuses = await ws.subscribe(
            "subscription($id: ID!) { visitUpdated(id: $id) { status } }", {"id": visit_id}
        )
        assert (await ws.next_data(ids))["data"]["visitUpdated"] == {"id": visit_id}
        assert (await ws.next_data(statuses))["data"]["visitUpdated"] == {"status": "WAITING"}
        await asyncio.to_thread(start_call, live_upstream, visit_id)
        assert (await ws.next_data(statuses))["data"]["visitUpdated"] == {"status": "IN_PROGRESS"}
        await asyncio.to_thread(gateway.query, CLOSE, {"input": {"id": visit_id}}, token=PROVIDER)
        assert (await ws.next_data(statuses))["data"]["visitUpdated"] == {"status": "COMPLETED"}
        assert (await ws.next_message(statuses))["type"] == "complete"
        # The same poller woke the other subscription twice; its `id` never changed, so it was
        # sent nothing until it completed with the visit.
        assert (await ws.next_message(ids))["type"] == "complete"


async def test_apollo_client_over_websocket_follows_a_visit_into_its_cache(
    make_live_gateway: Callable[..., tuple[Gateway, Any]], live_upstream: Sandbox, tools: Any
) -> None:
    gateway, _ = make_live_gateway()
    visit_id, _, providers = await asyncio.to_thread(new_walkin, gateway)
    node = await asyncio.create_subprocess_exec(
        "node",
        "--experimental-websocket",
        "--no-warnings",
        "--conditions=development",
        str(TOOLS_DIR / "apollo-ws.mjs"),
        gateway.url.replace("http://", "ws://") + "/graphql",
        MEMBER,
        visit_id,
        cwd=TOOLS_DIR,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )

    async def line() -> dict[str, Any]:
        async with asyncio.timeout(60):
            raw = await node.stdout.readline()  # type: ignore[union-attr]
        assert raw, (await node.stderr.read()).decode()  # type: ignore[union-attr]
        message: dict[str, Any] = json.loads(raw)
        return message

    try:
        first = (await line())["next"]["visitUpdated"]
        assert (first["id"], first["status"]) == (visit_id, "WAITING")
        assert first["provider"]["id"] == providers[0]
        await asyncio.to_thread(start_call, live_upstream, visit_id)
        assert (await line())["next"]["visitUpdated"]["status"] == "IN_PROGRESS"
        await asyncio.to_thread(gateway.query, CLOSE, {"input": {"id": visit_id}}, token=PROVIDER)
        assert (await line())["next"]["visitUpdated"]["status"] == "COMPLETED"
        assert await line() == {"complete": True}
        last = await line()
        assert last["cached"]["status"] == "COMPLETED"
        assert last["warnings"] == []
        async with asyncio.timeout(60):
            assert await node.wait() == 0
    finally:
        if node.returncode is None:
            node.kill()
            await node.wait()
