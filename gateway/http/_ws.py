"""graphql-transport-ws on /graphql: credentials at connection_init, limits, drain on SIGTERM.

Strawberry speaks the protocol; this adds what the gateway needs around it:

- credentials come from the ``connection_init`` payload (``X-ApiToken`` or ``Authorization:
  Bearer``, ``X-AccountCode``, ``X-ApiKey``; top level or under ``headers``, names in any case)
  or else from the upgrade request's headers, and are required before the connection is
  acknowledged: without them it is closed 4403 (graphql-ws's "Forbidden"), so nothing is ever
  polled for an anonymous socket (a subscribe before the ack is closed 4401 by strawberry);
- at most ``max_operations`` operations per connection (more: an ``error`` message coded
  ``TOO_MANY_SUBSCRIPTIONS``, the connection stays); per caller, ``LiveHub`` bounds them;
- a connection without operations for ``idle_timeout`` seconds is closed 1000 (graphql-ws
  reconnects only if it still wants a subscription); dead peers are found by the server's
  WebSocket pings (uvicorn's ``ws_ping_interval``/``ws_ping_timeout``);
- when the process drains (SIGTERM) every socket is closed 1012 "Service Restart", a code
  graphql-ws clients retry (as 1001 and 1013; 4400/4401/4500 they do not), so they reconnect to
  another replica while this one finishes.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Mapping
from typing import Any

from starlette.websockets import WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import SubscribeMessage

from gateway.schema import GatewayContext
from gateway.upstream import Credentials, MissingCredentials, deadline_scope

from ._caching import CREDENTIAL_HEADERS

_PRINTABLE = re.compile(r"[\x20-\x7e]*")
_CREDENTIAL_NAMES = frozenset(name.lower() for name in CREDENTIAL_HEADERS)
SERVICE_RESTART = 1012
NORMAL = 1000


class TextWebSocketAdapter(ASGIWebSocketAdapter):
    """graphql-transport-ws messages are text frames; the view's JSON encoder answers bytes."""

    async def send_json(self, message: Mapping[str, object]) -> None:
        encoded = self.view.encode_json(message)
        text = encoded.decode() if isinstance(encoded, bytes) else encoded
        try:
            await self.ws.send_text(text)
        except (RuntimeError, OSError) as exc:
            raise WebSocketDisconnected from exc
        except Exception as exc:
            if type(exc).__name__ == "WebSocketDisconnect":
                raise WebSocketDisconnected from exc
            raise

    async def close(self, code: int, reason: str) -> None:
        if self.ws.application_state is WebSocketState.DISCONNECTED:
            return
        # The client may have gone already: closing twice is not an error worth raising.
        with contextlib.suppress(RuntimeError, OSError):
            await self.ws.close(code=code, reason=reason)


def connection_credentials(payload: Mapping[str, Any], fallback: Credentials | None) -> Credentials:
    """Credentials from a connection_init payload, else the upgrade request's; the same header
    names as over HTTP. ``MissingCredentials`` when neither has them or a value is unusable."""
    found: dict[str, str] = {}
    for source in (payload, payload.get("headers")):
        if not isinstance(source, Mapping):
            continue
        for name, value in source.items():
            lowered = str(name).lower()
            if lowered in _CREDENTIAL_NAMES and lowered not in found:
                if not isinstance(value, str) or not _PRINTABLE.fullmatch(value):
                    raise MissingCredentials(f"The {name} parameter must be printable ASCII text.")
                found[lowered] = value
    if not found:
        if fallback is None:
            raise MissingCredentials()
        return fallback
    return Credentials.from_headers(found)


class GatewayTransportWS(BaseGraphQLTransportWSHandler[GatewayContext, None]):
    """Strawberry's graphql-transport-ws handler with the limits in the module docstring."""

    # Set per app by GraphQLView (from settings).
    max_operations: int = 50
    idle_timeout: float = 300.0
    operation_deadline: float = 20.0

    def on_request_accepted(self) -> None:
        super().on_request_accepted()
        self._idle_since = time.monotonic()
        self._watch = asyncio.create_task(self._watch_connection())

    async def shutdown(self) -> None:
        self._watch.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._watch
        await super().shutdown()

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        self._idle_since = time.monotonic()
        if (
            self.connection_acknowledged
            and message.get("id") not in self.operations
            and len(self.operations) >= self.max_operations
        ):
            await self.send_message(
                {
                    "id": message["id"],
                    "type": "error",
                    "payload": [
                        {
                            "message": f"At most {self.max_operations} operations may run at "
                            "once on one connection.",
                            "extensions": {"code": "TOO_MANY_SUBSCRIPTIONS"},
                        }
                    ],
                }
            )
            return
        # The operation's task copies this context: a query or mutation sent over the socket
        # gets VSEE_REQUEST_DEADLINE, as over HTTP (subscriptions set one per event).
        with deadline_scope(self.operation_deadline):
            await super().handle_subscribe(message)

    def forget_id(self, id: str) -> None:
        super().forget_id(id)
        self._idle_since = time.monotonic()

    async def cleanup_operation(self, operation_id: str) -> None:
        await super().cleanup_operation(operation_id)
        self._idle_since = time.monotonic()

    async def _watch_connection(self) -> None:
        """Close the socket when the process drains, or when it has been idle too long."""
        state = getattr(getattr(self.websocket, "ws", None), "app", None)
        # Set by the app's SIGTERM handler (app.py, _drain_on_sigterm).
        drain: asyncio.Event | None = getattr(getattr(state, "state", None), "drain", None)
        step = max(0.05, min(self.idle_timeout / 4, 5.0))
        while True:
            if drain is not None:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(step):
                        await drain.wait()
                if drain.is_set():
                    await self.websocket.close(SERVICE_RESTART, "Service restart: reconnect")
                    return
            else:
                await asyncio.sleep(step)
            if self.operations:
                self._idle_since = time.monotonic()
            elif time.monotonic() - self._idle_since >= self.idle_timeout:
                await self.websocket.close(NORMAL, "Idle")
                return
