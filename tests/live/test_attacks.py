"""Adversarial WebSocket traffic: malformed messages, made-up credentials, rate limits.

Whatever a stranger sends must end only their own connection, with a protocol close code,
never an unhandled exception (a stack in the logs per message) or a slot held for ever.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import MEMBER
from tests.servers import Gateway, Sandbox, free_port, wait_until_healthy

from .test_subscriptions import new_walkin, start_call, wait_for
from .test_websocket import serve
from .wsclient import WAIT, Closed, credentials, socket

CURRENT = "subscription { currentVisitUpdated { id } }"
MakeGateway = Callable[..., tuple[Gateway, Any]]


async def _close_code(gateway: Gateway, frames: list[str]) -> int | None:
    """Send ``frames`` on a new socket; the code the server closes it with."""
    async with socket(gateway.url) as ws:
        for frame in frames:
            await ws.ws.send(frame)
        async with asyncio.timeout(WAIT):
            await ws.ws.wait_closed()
        return ws.ws.close_code


async def test_malformed_messages_close_4400_without_an_internal_error(
    make_live_gateway: MakeGateway, live_upstream: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    gateway, app = make_live_gateway()
    init = json.dumps({"type": "connection_init", "payload": credentials(MEMBER)})
    subscribe = {"type": "subscribe", "payload": {"query": CURRENT}}
    malformed = {
        # Not an object, before any connection_init (anyone can send these).
        "array": ["[1]"],
        "number": ["1"],
        "null": ["null"],
        # Operation ids that are not (short) strings.
        "object id": [init, json.dumps({**subscribe, "id": {"a": 1}})],
        "array id": [init, json.dumps({**subscribe, "id": [1]})],
        "complete object id": [init, json.dumps({"type": "complete", "id": {"a": 1}})],
        # Echoed in every message of the operation and in close reasons (at most 123 bytes).
        "huge id": [init, json.dumps({**subscribe, "id": "x" * 100_000})],
        "repeated long id": [init, *[json.dumps({**subscribe, "id": "y" * 500})] * 2],
    }
    caplog.set_level(logging.ERROR)
    for name, frames in malformed.items():
        assert await _close_code(gateway, frames) == 4400, name
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    # Nothing was polled, nothing is held, and others are served as before.
    assert live_upstream.total() == 0
    hub = app.state.services.live
    assert (hub.pollers, hub.subscriptions) == (0, 0)
    async with socket(gateway.url) as ws:
        await ws.init(credentials(MEMBER))
        sub = await ws.subscribe(CURRENT)
        assert "errors" not in await ws.next_data(sub)


async def test_made_up_credentials_over_their_budget_hold_no_subscription(
    make_live_gateway: MakeGateway, live_upstream: Sandbox
) -> None:
    # Budgets of 3 VSee calls that never refill; room for two subscriptions in all.
    gateway, app = make_live_gateway(
        rate_limit=True,
        rate_limit_per_second=0.001,
        rate_limit_burst=3,
        rate_limit_account_per_second=0.001,
        rate_limit_account_burst=3,
        live_max_subscriptions=2,
    )
    hub = app.state.services.live
    async with contextlib.AsyncExitStack() as stack:
        strangers = []
        for n in (1, 2):
            # Made-up credentials (an account of their own each, so fresh buckets) spend
            # their budget on queries that need no VSee call, then subscribe with the last
            # token: their first poll is over budget, so VSee never checks the credentials.
            ws = await stack.enter_async_context(socket(gateway.url))
            await ws.init(credentials(f"made-up-{n}", account=f"nope{n}"))
            for _ in range(2):
                query = await ws.subscribe("{ __typename }")
                assert "errors" not in await ws.next_data(query)
            strangers.append((ws, await ws.subscribe(CURRENT)))
        # Unchecked credentials are not held open until their budget refills (for ever, here):
        # they would fill the process's subscriptions and lock every other caller out.
        for ws, sub in strangers:
            event = await ws.next_data(sub)
            assert [e["extensions"]["code"] for e in event["errors"]] == ["RATE_LIMITED"]
            assert (await ws.next_message(sub))["type"] == "complete"
        await wait_for(lambda: hub.subscriptions == 0)
        assert live_upstream.total() == 0
        member = await stack.enter_async_context(socket(gateway.url))
        await member.init(credentials(MEMBER))
        sub = await member.subscribe(CURRENT)
        assert "errors" not in await member.next_data(sub)


async def test_made_up_tokens_cannot_drain_the_budget_of_a_members_socket(
    make_live_gateway: MakeGateway, live_upstream: Sandbox
) -> None:
    # Budgets that never refill: each account's, and its not-yet-accepted credentials', 4.
    gateway, _ = make_live_gateway(
        rate_limit=True, rate_limit_account_per_second=0.001, rate_limit_account_burst=4
    )
    async with socket(gateway.url) as member:
        # A fresh login: VSee has not answered these credentials yet when the socket opens.
        await member.init(credentials(MEMBER))
        sub = await member.subscribe(CURRENT)
        assert "errors" not in await member.next_data(sub)
        await member.complete(sub)
        # VSee answered them now: from here on they draw on the account's budget, which
        # made-up tokens cannot touch. A stranger drains what made-up tokens may spend...
        refused = 0
        for n in range(10):
            body = gateway.post("{ __typename }", token=f"made-up-{n}").json()
            refused += any(
                e["extensions"]["code"] == "RATE_LIMITED" for e in body.get("errors", [])
            )
        assert refused > 0
        # ...and the member's socket goes on as before.
        query = await member.subscribe("{ __typename }")
        assert "errors" not in await member.next_data(query)


async def test_a_message_larger_than_a_request_body_may_be_closes_1009(
    live_upstream: Sandbox,
) -> None:
    # As an operator runs it: uvicorn's own bound on a WebSocket message is 16 MiB, and a
    # stranger may send one on every socket before connection_init is checked.
    port = free_port()
    process = serve(port, live_upstream)
    url = f"http://127.0.0.1:{port}"
    try:
        await asyncio.to_thread(wait_until_healthy, url, process)
        async with socket(url) as ws:
            # VSEE_MAX_BODY_BYTES (1 MiB by default) bounds a message as it bounds a body.
            junk = {**credentials(MEMBER), "junk": "x" * 2_000_000}
            await ws.ws.send(json.dumps({"type": "connection_init", "payload": junk}))
            async with asyncio.timeout(WAIT):
                await ws.ws.wait_closed()
            assert ws.ws.close_code == 1009
        async with socket(url) as ws:
            await ws.init(credentials(MEMBER))
    finally:
        process.kill()
        await asyncio.to_thread(process.wait)


async def test_sockets_are_bounded_per_process_and_made_up_credentials_get_half(
    make_live_gateway: MakeGateway, live_upstream: Sandbox
) -> None:
    gateway, _ = make_live_gateway(ws_max_connections=4)
    # The member's credentials are known to VSee (answered once).
    assert "errors" not in gateway.query("{ __typename currentVisit { id } }", token=MEMBER)
    async with contextlib.AsyncExitStack() as stack:
        strangers = []
        for n in range(3):
            ws = await stack.enter_async_context(socket(gateway.url))
            strangers.append(ws)
            if n < 2:
                await ws.init(credentials(f"made-up-{n}"))
        # A third made-up token is refused (1013: clients retry later), the socket freed.
        await strangers[2].ws.send(
            json.dumps({"type": "connection_init", "payload": credentials("made-up-2")})
        )
        assert (await strangers[2].wait_closed()).code == 1013
        member, other = [await stack.enter_async_context(socket(gateway.url)) for _ in "ab"]
        await member.init(credentials(MEMBER))
        await other.init(credentials(MEMBER))
        # Four sockets are open: a fifth is closed before anything, whoever opens it.
        async with socket(gateway.url) as fifth:
            assert (await fifth.wait_closed()).code == 1013
        # One closes: its place is free again.
        await strangers[0].ws.close()
        await wait_for(lambda: _reopens(gateway))
        sub = await member.subscribe(CURRENT)
        assert "errors" not in await member.next_data(sub)


def _reopens(gateway: Gateway) -> bool:
    async def attempt() -> bool:
        async with socket(gateway.url) as ws:
            try:
                await ws.init(credentials(MEMBER))
            except Closed:
                return False
            return True

    return asyncio.run(attempt())


async def test_queries_over_sockets_take_admission_slots_as_posts_do(
    make_live_gateway: MakeGateway, live_upstream: Sandbox
) -> None:
    # One slot and no queue: a second operation, wherever it comes from, is shed at once.
    gateway, _ = make_live_gateway(max_concurrent_requests=1, max_queued_requests=0)
    live_upstream.faults(latency_ms=3000)
    try:
        async with socket(gateway.url) as ws, socket(gateway.url) as other:
            await ws.init(credentials(MEMBER))
            await other.init(credentials(MEMBER))
            # A query over the socket holds the slot while VSee answers it...
            slow = await ws.subscribe("{ currentVisit { id } }")
            await wait_for(lambda: live_upstream.counts().get("GET /visits/current") == 1)
            # ...so a POST is shed, and so is a query over another socket.
            shed = await asyncio.to_thread(gateway.post, "{ __typename }", token=MEMBER)
            assert shed.status_code == 503
            refused = await other.subscribe("{ __typename }")
            message = await other.next_message(refused)
            assert message["type"] == "error"
            assert [e["extensions"]["code"] for e in message["payload"]] == ["OVERLOADED"]
            # A subscription holds no slot: it waits on its poller.
            sub = await other.subscribe(CURRENT)
            assert "errors" not in await other.next_data(sub)
            assert "errors" not in await ws.next_data(slow)
            assert (await ws.next_message(slow))["type"] == "complete"
    finally:
        live_upstream.faults()


async def test_each_operation_on_a_socket_reads_vsee_afresh(
    make_live_gateway: MakeGateway, live_upstream: Sandbox
) -> None:
    gateway, _ = make_live_gateway()
    visit_id, _, _ = await asyncio.to_thread(new_walkin, gateway)
    read = "query($id: ID!) { node(id: $id) { ... on Visit { status } } }"
    async with socket(gateway.url) as ws:
        await ws.init(credentials(MEMBER))
        first = await ws.subscribe(read, {"id": visit_id})
        assert (await ws.next_data(first))["data"]["node"]["status"] == "WAITING"
        await asyncio.to_thread(start_call, live_upstream, visit_id)
        # A later query on the same socket is a request of its own: it does not answer from
        # what an earlier one loaded (the socket's context lives as long as the socket).
        second = await ws.subscribe(read, {"id": visit_id})
        assert (await ws.next_data(second))["data"]["node"]["status"] == "IN_PROGRESS"


async def test_an_idempotency_key_on_the_upgrade_names_no_mutation_of_the_socket(
    make_live_gateway: MakeGateway, live_upstream: Sandbox
) -> None:
    gateway, _ = make_live_gateway()
    room = (await asyncio.to_thread(new_walkin, gateway))[1]
    create = """mutation($input: IntakeInput!) {
      createIntake(input: $input) { intakeId userErrors { code } } }"""
    headers = {**credentials(MEMBER), "Idempotency-Key": "one-key-for-the-socket"}
    async with socket(gateway.url, headers=headers) as ws:
        await ws.init()
        answers = []
        for reason in ("cough", "fever"):
            op = await ws.subscribe(create, {"input": {"reasonForVisit": reason, "roomCode": room}})
            answers.append(await ws.next_data(op))
        # Two mutations, each sent: a key sent once for the whole socket cannot say which
        # one it protects (the second was refused, or replayed the first's answer).
        assert [a.get("errors") for a in answers] == [None, None], answers
        created = [a["data"]["createIntake"] for a in answers]
        assert [c["userErrors"] for c in created] == [[], []]
        assert created[0]["intakeId"] != created[1]["intakeId"]
