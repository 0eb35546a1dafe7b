"""graphql-transport-ws on /graphql: credentials at connection_init, limits, drain on SIGTERM.

Strawberry speaks the protocol; this adds what the gateway needs around it:

- credentials come from the ``connection_init`` payload (``X-ApiToken`` or ``Authorization:
  Bearer``, ``X-AccountCode``, ``X-ApiKey``; top level or under ``headers``, names in any case)
  or else from the upgrade request's headers, and are required before the connection is
  acknowledged: without them it is closed 4403 (graphql-ws's "Forbidden"), so nothing is ever
  polled for an anonymous socket (a subscribe before the ack is closed 4401 by strawberry);
- a message that is not an object with a text ``type``, or whose operation id is not printable
  ASCII of 1 to 64 characters, closes the connection 4400 (as invalid JSON does);
- a subscribe message passes the checks HTTP makes before running anything (payload shape,
  input bounds, query size, persisted queries and ``VSEE_TRUSTED_DOCUMENTS_ONLY``), else an
  ``error`` message with the same code;
- at most ``max_connections`` sockets per process (VSEE_WS_MAX_CONNECTIONS), of which half at
  most for credentials VSee has not accepted yet; beyond, the socket is closed 1013 "Try
  Again Later" (which graphql-ws clients retry);
- at most ``max_operations`` operations per connection (more: an ``error`` message coded
  ``TOO_MANY_SUBSCRIPTIONS``, the connection stays); per caller, ``LiveHub`` bounds them;
- a connection without operations for ``idle_timeout`` seconds is closed 1000 (graphql-ws
  reconnects only if it still wants a subscription); dead peers are found by the server's
  WebSocket pings (uvicorn's ``ws_ping_interval``/``ws_ping_timeout``);
- a 401 from VSee for the connection's credentials ends their subscriptions (each with its
  ``UNAUTHENTICATED`` error), then closes the socket 4403, which graphql-ws clients retry: one
  whose ``connectionParams`` fetch a fresh token reconnects with it;
- when the process drains (SIGTERM) every socket is closed 1012 "Service Restart", a code
  graphql-ws clients retry (as 1001 and 1013; 4400/4401/4500 they do not), so they reconnect to
  another replica while this one finishes.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

from graphql import GraphQLError, OperationType, get_operation_ast, parse
from starlette.websockets import WebSocketDisconnect, WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    Message,
    SubscribeMessage,
)

from gateway.schema import GatewayContext
from gateway.schema.limits import input_problem
from gateway.upstream import Credentials, MissingCredentials, deadline_scope

from ._apq import PersistedQueries, PersistedQueryError
from ._caching import CREDENTIAL_HEADERS

# Set on a WebSocket's scope by gateway.app's AdmissionMiddleware (its key there).
ADMISSION_SCOPE_KEY = "gateway.admission"
_PRINTABLE = re.compile(r"[\x20-\x7e]*")
# Operation ids are echoed in every message of their operation and in close reasons (at most
# 123 bytes): short printable strings (graphql-ws sends UUIDs, Apollo Client small numbers).
_OPERATION_ID = re.compile(r"[\x20-\x7e]{1,64}")
_CREDENTIAL_NAMES = frozenset(name.lower() for name in CREDENTIAL_HEADERS)
SERVICE_RESTART = 1012
TRY_AGAIN_LATER = 1013
NORMAL = 1000
FORBIDDEN = 4403
# Seconds a refused connection's subscriptions get to send their errors before it is closed.
REVOKED_GRACE = 5.0


class TextWebSocketAdapter(ASGIWebSocketAdapter):
    """graphql-transport-ws messages are text frames; the view's JSON encoder answers bytes."""

    async def send_json(self, message: Mapping[str, object]) -> None:
        encoded = self.view.encode_json(message)
        text = encoded.decode() if isinstance(encoded, bytes) else encoded
        try:
            await self.ws.send_text(text)
        except (WebSocketDisconnect, RuntimeError, OSError) as exc:
            # Gone, or closed by us meanwhile (starlette raises RuntimeError for a send then).
            raise WebSocketDisconnected from exc

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
        values = (fallback.token, fallback.account_code, fallback.api_key or "")
        if not all(_PRINTABLE.fullmatch(value) for value in values):
            raise MissingCredentials("Credential headers must be printable ASCII text.")
        return fallback
    return Credentials.from_headers(found)


class GatewayTransportWS(BaseGraphQLTransportWSHandler[GatewayContext, None]):
    """Strawberry's graphql-transport-ws handler with the limits in the module docstring."""

    # Set per app by GraphQLView (from settings).
    max_operations: int = 50
    idle_timeout: float = 300.0
    operation_deadline: float = 20.0
    max_connections: int = 10_000
    # This app's open sockets, and those of credentials VSee had not accepted at
    # connection_init (per app: GraphQLView makes a subclass with its own dict).
    connections: dict[str, int] = {"open": 0, "unaccepted": 0}  # noqa: RUF012

    async def handle(self) -> None:
        # Every socket holds memory and a file descriptor for up to VSEE_WS_IDLE_TIMEOUT, and
        # anyone can open one: beyond the cap a socket is closed 1013 (graphql-ws retries it,
        # backing off) rather than the process running out of either for everyone.
        counts = self.connections
        if counts["open"] >= self.max_connections:
            await self.websocket.close(TRY_AGAIN_LATER, "Too many connections: try again later")
            return
        counts["open"] += 1
        self._unaccepted = False
        try:
            await super().handle()
        finally:
            counts["open"] -= 1
            if self._unaccepted:
                counts["unaccepted"] -= 1

    def on_request_accepted(self) -> None:
        super().on_request_accepted()
        self._idle_since = time.monotonic()
        self._nudge = asyncio.Event()
        self._revoked = False
        self._unlisten: Callable[[], None] | None = None
        self._watch = asyncio.create_task(self._watch_connection())

    async def shutdown(self) -> None:
        if self._unlisten is not None:
            self._unlisten()
        self._watch.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._watch
        await super().shutdown()

    async def handle_message(self, message: Message) -> None:
        # Strawberry indexes the message as an object and uses the id as a key: anything else
        # (an array, a number, an object as id) would end the socket with an internal error.
        raw: object = message
        if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
            await self.handle_invalid_message("A message must be an object with a `type`.")
            return
        if raw["type"] in ("subscribe", "complete"):
            op_id = raw.get("id")
            if not isinstance(op_id, str) or not _OPERATION_ID.fullmatch(op_id):
                await self.handle_invalid_message(
                    "An operation id must be printable ASCII text of 1 to 64 characters."
                )
                return
        await super().handle_message(message)

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        await super().handle_connection_init(message)
        hub = self.context.services.live
        credentials = self.context.credentials
        if self.connection_acknowledged and credentials is not None and not self._unaccepted:
            accepted = self.context.services.client.accepted_scopes
            if credentials.scope not in accepted:
                # Made-up credentials are acknowledged (VSee checks them at the first call),
                # so they may hold at most half the sockets: callers VSee knows get the rest.
                if self.connections["unaccepted"] >= self.max_connections // 2:
                    await self.websocket.close(
                        TRY_AGAIN_LATER, "Too many connections: try again later"
                    )
                    return
                self.connections["unaccepted"] += 1
                self._unaccepted = True
        if self.connection_acknowledged and hub is not None and credentials is not None:
            # VSee refusing these credentials (401) ends their subscriptions, then the socket.
            self._unlisten = hub.on_revoked(credentials.scope, self._credentials_revoked)

    def _credentials_revoked(self) -> None:
        self._revoked = True
        self._nudge.set()

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        self._idle_since = time.monotonic()
        if self.connection_acknowledged and message.get("id") not in self.operations:
            if len(self.operations) >= self.max_operations:
                await self._refuse(
                    message,
                    f"At most {self.max_operations} operations may run at once on one connection.",
                    "TOO_MANY_SUBSCRIPTIONS",
                )
                return
            # What HTTP checks before running anything: the payload's shape, input bounds,
            # the query's size, persisted and trusted documents (VSEE_TRUSTED_DOCUMENTS_ONLY).
            problem = await self._admit_payload(message)
            if problem is not None:
                await self._refuse(message, *problem)
                return
        # The operation's task copies this context: a query or mutation sent over the socket
        # gets VSEE_REQUEST_DEADLINE, as over HTTP (subscriptions set one per event).
        with deadline_scope(self.operation_deadline):
            await super().handle_subscribe(message)

    async def _admit_payload(self, message: SubscribeMessage) -> tuple[str, str] | None:
        """``(message, code)`` refusing the subscribe message, or None with its ``query`` set
        to the document to run (a persisted one looked up by hash)."""
        payload = message.get("payload")
        if not isinstance(payload, dict):
            return "The subscribe message needs a payload object.", "BAD_REQUEST"
        query, extensions = payload.get("query"), payload.get("extensions")
        variables, name = payload.get("variables"), payload.get("operationName")
        if query is not None and not isinstance(query, str):
            return "`query` must be a string.", "BAD_REQUEST"
        if name is not None and not isinstance(name, str):
            return "`operationName` must be a string or null.", "BAD_REQUEST"
        for field, value in (("variables", variables), ("extensions", extensions)):
            if value is not None and not isinstance(value, dict):
                return f"`{field}` must be an object (map) or null.", "BAD_REQUEST"
        bounds = input_problem(variables)
        if bounds is not None:
            return bounds, "BAD_USER_INPUT"
        app = getattr(getattr(self.websocket, "ws", None), "app", None)
        persisted: PersistedQueries | None = getattr(getattr(app, "state", None), "persisted", None)
        document: str | None = query
        if persisted is not None:
            try:
                document = (await persisted.resolve(query, extensions)).query
            except PersistedQueryError as exc:
                return exc.message, exc.code
        if not document:
            return "The subscribe message has no `query`.", "BAD_REQUEST"
        payload["query"] = document
        return None

    async def _refuse(self, message: SubscribeMessage, text: str, code: str) -> None:
        """graphql-transport-ws's ``error`` for this operation; the connection stays open."""
        await self.send_message(
            {
                "id": message["id"],
                "type": "error",
                "payload": [{"message": text, "extensions": {"code": code}}],
            }
        )

    async def run_operation(self, operation: Operation[GatewayContext, None]) -> None:
        # A query or mutation over the socket is admitted as a POST is (VSEE_MAX_CONCURRENT_
        # REQUESTS, then the queue): 50 per socket on thousands of sockets would otherwise run
        # beside every HTTP request's slot and starve them. A subscription holds none: it
        # waits on its poller, whose polls the rate limits bound.
        scope = getattr(getattr(self.websocket, "ws", None), "scope", None) or {}
        admission = scope.get(ADMISSION_SCOPE_KEY)
        if admission is None or _is_subscription(operation.query, operation.operation_name):
            await super().run_operation(operation)
            return
        async with admission.slot() as admitted:
            if admitted:
                await super().run_operation(operation)
                return
        with contextlib.suppress(WebSocketDisconnected):
            await operation.send_initial_errors(
                [
                    GraphQLError(
                        "The gateway is overloaded; retry later.",
                        extensions={"code": "OVERLOADED"},
                    )
                ]
            )

    def forget_id(self, id: str) -> None:
        super().forget_id(id)
        self._idle_since = time.monotonic()
        self._nudge.set()

    async def cleanup_operation(self, operation_id: str) -> None:
        await super().cleanup_operation(operation_id)
        self._idle_since = time.monotonic()
        self._nudge.set()

    async def _watch_connection(self) -> None:
        """Close the socket when the process drains, when VSee refused its credentials (once
        their subscriptions have sent their errors), or when it has been idle too long."""
        state = getattr(getattr(self.websocket, "ws", None), "app", None)
        # Set by the app's SIGTERM handler (app.py, _drain_on_sigterm).
        drain: asyncio.Event | None = getattr(getattr(state, "state", None), "drain", None)
        step = max(0.05, min(self.idle_timeout / 4, 5.0))
        revoked_at: float | None = None
        while True:
            await _first_of(step, self._nudge, drain)
            self._nudge.clear()
            if drain is not None and drain.is_set():
                await self.websocket.close(SERVICE_RESTART, "Service restart: reconnect")
                return
            now = time.monotonic()
            if self._revoked:
                revoked_at = revoked_at or now
                # graphql-ws retries 4403, so a client whose connectionParams fetch a fresh
                # token reconnects with it; the wait lets the subscriptions' errors go first.
                if not self.operations or now - revoked_at > REVOKED_GRACE:
                    await self.websocket.close(FORBIDDEN, "Forbidden: VSee refused the credentials")
                    return
            if self.operations:
                self._idle_since = now
            elif now - self._idle_since >= self.idle_timeout:
                await self.websocket.close(NORMAL, "Idle")
                return


def _is_subscription(query: str | None, operation_name: str | None) -> bool:
    """Whether the operation to run is a subscription (a document that does not parse is
    not; strawberry answers its syntax error without running anything)."""
    try:
        operation = get_operation_ast(parse(query or "", no_location=True), operation_name)
    except GraphQLError:
        return False
    return operation is not None and operation.operation is OperationType.SUBSCRIPTION


async def _first_of(seconds: float, *events: asyncio.Event | None) -> None:
    """Wait until one of ``events`` is set, or ``seconds``."""
    waits = [asyncio.ensure_future(event.wait()) for event in events if event is not None]
    try:
        await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()
