"""Adversarial WebSocket traffic: malformed messages, made-up credentials, rate limits.

Whatever a stranger sends must end only their own connection, with a protocol close code,
never an unhandled exception (a stack in the logs per message) or a slot held for ever.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import MEMBER
from tests.servers import Gateway, Sandbox

from .wsclient import WAIT, credentials, socket

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
