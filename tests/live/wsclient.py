"""A small graphql-transport-ws client over a real WebSocket, for the subscription tests."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

PROTOCOL = "graphql-transport-ws"
# Generous: deadlines for waits on a noisy machine, never assumptions about speed.
WAIT = 30.0


class Closed(Exception):
    """The server closed the socket; ``code`` and ``reason`` say why."""

    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__(f"closed {code}: {reason}")
        self.code = code
        self.reason = reason


class Socket:
    """One connection; ``subscribe`` returns an id whose messages ``next_message`` reads."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self._ids = itertools.count(1)
        self._queues: dict[str, asyncio.Queue[dict[str, Any]]] = {}
        self._reader: asyncio.Task[None] | None = None
        self.closed: Closed | None = None

    async def init(self, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        await self.ws.send(json.dumps({"type": "connection_init", "payload": payload or {}}))
        ack = await self._receive()
        assert ack["type"] == "connection_ack", ack
        self._reader = asyncio.create_task(self._read())
        return ack

    async def _receive(self) -> dict[str, Any]:
        try:
            async with asyncio.timeout(WAIT):
                raw = await self.ws.recv()
        except ConnectionClosed as exc:
            received = exc.rcvd
            code, reason = (received.code, received.reason) if received else (None, "")
            raise Closed(code, reason) from None
        assert isinstance(raw, str), "graphql-transport-ws messages are text frames"
        message: dict[str, Any] = json.loads(raw)
        return message

    async def _read(self) -> None:
        try:
            while True:
                message = await self.ws.recv()
                data = json.loads(message)
                if data.get("type") == "ping":
                    await self.ws.send(json.dumps({"type": "pong"}))
                    continue
                queue = self._queues.get(str(data.get("id")))
                if queue is not None:
                    queue.put_nowait(data)
        except ConnectionClosed as exc:
            received = exc.rcvd
            self.closed = Closed(
                received.code if received else None, received.reason if received else ""
            )
            for queue in self._queues.values():
                queue.put_nowait({"type": "closed", "code": self.closed.code})

    async def subscribe(
        self,
        query: str | None,
        variables: dict[str, Any] | None = None,
        extensions: dict[str, Any] | None = None,
    ) -> str:
        op_id = str(next(self._ids))
        self._queues[op_id] = asyncio.Queue()
        payload: dict[str, Any] = {} if query is None else {"query": query}
        if variables is not None:
            payload["variables"] = variables
        if extensions is not None:
            payload["extensions"] = extensions
        await self.ws.send(json.dumps({"id": op_id, "type": "subscribe", "payload": payload}))
        return op_id

    async def next_message(self, op_id: str, wait: float = WAIT) -> dict[str, Any]:
        async with asyncio.timeout(wait):
            return await self._queues[op_id].get()

    async def next_data(self, op_id: str) -> dict[str, Any]:
        """The payload of the next ``next`` message (fails on anything else)."""
        message = await self.next_message(op_id)
        assert message["type"] == "next", message
        payload: dict[str, Any] = message["payload"]
        return payload

    def pending(self, op_id: str) -> int:
        return self._queues[op_id].qsize()

    async def complete(self, op_id: str) -> None:
        await self.ws.send(json.dumps({"id": op_id, "type": "complete"}))

    async def wait_closed(self) -> Closed:
        try:
            async with asyncio.timeout(WAIT):
                await self.ws.wait_closed()
        finally:
            if self._reader is not None:
                self._reader.cancel()
        return Closed(self.ws.close_code, self.ws.close_reason or "")


@asynccontextmanager
async def socket(
    url: str, headers: dict[str, str] | None = None, origin: str | None = None
) -> AsyncIterator[Socket]:
    ws_url = url.replace("http://", "ws://", 1) + "/graphql"
    async with connect(
        ws_url,
        subprotocols=[PROTOCOL],  # type: ignore[list-item]
        additional_headers=headers or {},
        origin=origin,  # type: ignore[arg-type]
        open_timeout=WAIT,
    ) as ws:
        handle = Socket(ws)
        try:
            yield handle
        finally:
            if handle._reader is not None:
                handle._reader.cancel()


def credentials(token: str, account: str = "vclinic") -> dict[str, str]:
    return {"X-ApiToken": token, "X-AccountCode": account}
