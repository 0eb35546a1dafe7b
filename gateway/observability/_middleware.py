"""Per-request plumbing as pure ASGI middleware: request id, deadline, body limit, access log."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.upstream import deadline_scope, request_id

logger = logging.getLogger("gateway.access")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# Past the deadline, upstream calls already fail; this margin only catches a stuck response.
_HARD_STOP_MARGIN = 2.0


class _BodyTooLarge(Exception):
    pass


class _BodyTooSlow(Exception):
    pass


class _BodiesOverBudget(Exception):
    pass


_STREAMING_HOOKS = "gateway.streaming"

_OVERLOADED = "The gateway is holding as many request bodies as it may; retry shortly."


def _error_body(message: str, code: str) -> bytes:
    return orjson.dumps({"errors": [{"message": message, "extensions": {"code": code}}]})


class RequestContextMiddleware:
    """Gives each request an id (taken from ``X-Request-ID`` when sane), returned in the
    response and forwarded upstream; bounds the body size and the time spent; logs one line."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        deadline: float,
        max_body_bytes: int,
        body_timeout: float = 10.0,
        max_pending_body_bytes: int | None = None,
        tracer: Any = None,
        hard_stop_margin: float = _HARD_STOP_MARGIN,
    ) -> None:
        self.app = app
        self.hard_stop_margin = hard_stop_margin
        self.deadline = deadline
        self.max_body_bytes = max_body_bytes
        self.body_timeout = body_timeout
        # Bytes of request bodies held by requests in progress, all together: each body is
        # bounded by max_body_bytes, but connections are not, so without this many clients
        # each sending nearly max_body_bytes could take all the process's memory.
        self.max_pending_body_bytes = max_pending_body_bytes
        self.pending_body_bytes = 0
        self.tracer = tracer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        offered = headers.get(b"x-request-id", b"").decode("latin-1")
        # 128 random bits as 32 hex digits, like uuid4().hex without building a UUID.
        rid = offered if _REQUEST_ID.fullmatch(offered) else os.urandom(16).hex()
        token = request_id.set(rid)
        started = time.perf_counter()
        received = 0
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        async def reply(
            status_code: int, body: bytes, extra: list[tuple[bytes, bytes]] | None = None
        ) -> None:
            await send_with_id(
                {
                    "type": "http.response.start",
                    "status": status_code,
                    "headers": [(b"content-type", b"application/json"), *(extra or [])],
                }
            )
            await send_with_id({"type": "http.response.body", "body": body})

        try:
            length = headers.get(b"content-length")
            if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
                await reply(413, _error_body("Request body is too large.", "PAYLOAD_TOO_LARGE"))
                return
            body_done = False
            # The whole body must arrive within body_timeout of the request's start: a client
            # trickling bytes is answered 408, not left holding a worker until the deadline.
            body_deadline = asyncio.get_running_loop().time() + self.body_timeout

            async def limited_receive() -> Message:
                nonlocal received, body_done
                if body_done:
                    return await receive()  # waiting for a disconnect, not for the body
                try:
                    async with asyncio.timeout_at(body_deadline):
                        message = await receive()
                except TimeoutError:
                    raise _BodyTooSlow from None
                if message["type"] == "http.request":
                    size = len(message.get("body", b""))
                    if received + size > self.max_body_bytes:
                        raise _BodyTooLarge
                    budget = self.max_pending_body_bytes
                    if budget is not None and self.pending_body_bytes + size > budget:
                        raise _BodiesOverBudget
                    received += size
                    self.pending_body_bytes += size
                    body_done = not message.get("more_body", False)
                return message

            with deadline_scope(self.deadline):
                try:
                    # asyncio.timeout, not wait_for: no extra task on every request.
                    async with asyncio.timeout(self.deadline + self.hard_stop_margin) as bound:
                        # A subscription streamed over HTTP lasts as long as the client wants:
                        # once its response starts, no deadline (gateway.http.on_streaming's
                        # hook list; this package does not import the HTTP layer).
                        scope.setdefault(_STREAMING_HOOKS, []).append(
                            lambda: bound.reschedule(None)
                        )
                        await self._call(scope, limited_receive, send_with_id)
                except _BodyTooLarge:
                    if not response_started:
                        await reply(
                            413, _error_body("Request body is too large.", "PAYLOAD_TOO_LARGE")
                        )
                except _BodiesOverBudget:
                    if not response_started:
                        await reply(
                            503,
                            _error_body(_OVERLOADED, "OVERLOADED"),
                            [(b"retry-after", b"1"), (b"connection", b"close")],
                        )
                except _BodyTooSlow:
                    if not response_started:
                        await reply(
                            408,
                            _error_body("The request body took too long.", "REQUEST_TIMEOUT"),
                        )
                except TimeoutError:
                    if not response_started:
                        await reply(
                            504, _error_body("The request ran out of time.", "UPSTREAM_TIMEOUT")
                        )
        finally:
            # The body is held until the request ends (Starlette keeps it), so it is
            # released here.
            self.pending_body_bytes -= received
            logger.info(
                "%s %s %s",
                scope.get("method"),
                scope.get("path"),
                status,
                extra={
                    "method": scope.get("method"),
                    "path": scope.get("path"),
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            request_id.reset(token)

    async def _call(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.tracer is None:
            await self.app(scope, receive, send)
            return
        name = f"{scope.get('method')} {scope.get('path')}"
        with self.tracer.start_as_current_span(name, kind=_server_kind()):
            await self.app(scope, receive, send)


def _server_kind() -> Any:
    from opentelemetry.trace import SpanKind

    return SpanKind.SERVER
