"""uvicorn's HTTP/1.1 protocol with a bound on how long a client may take to send its headers.

uvicorn closes idle keep-alive connections but never times out a request whose headers arrive
slowly, so a few hundred slow-loris sockets can hold the gateway's connections open for ever.
Here every connection must deliver a complete request head within ``header_timeout`` seconds of
opening (or of its first byte after a keep-alive pause), or it is answered 408 and closed. The
body is bounded separately, per request, by ``RequestContextMiddleware``. A request h11 cannot
parse is answered like every other caller mistake (JSON, coded, private), not with uvicorn's
plain text.
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

_TIMEOUT_BODY = (
    b'{"errors":[{"message":"The request headers took too long.",'
    b'"extensions":{"code":"REQUEST_TIMEOUT"}}]}'
)
_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\n"
    b"content-type: application/json\r\n"
    b"cache-control: private, no-store\r\n"
    b"connection: close\r\n"
    b"content-length: %d\r\n\r\n%s" % (len(_TIMEOUT_BODY), _TIMEOUT_BODY)
)


_MALFORMED_BODY = (
    b'{"errors":[{"message":"The request is not valid HTTP/1.1.",'
    b'"extensions":{"code":"BAD_REQUEST"}}]}'
)
_MALFORMED_HEADERS = [
    (b"content-type", b"application/json"),
    (b"cache-control", b"private, no-store"),
    (b"content-length", str(len(_MALFORMED_BODY)).encode()),
    (b"connection", b"close"),
]


class BoundedH11Protocol(H11Protocol):
    """``H11Protocol`` plus a request-head deadline; pass as ``uvicorn.run(http=...)``."""

    # Set from VSEE_HEADER_TIMEOUT by the app factory (each worker builds its own app).
    header_timeout: float = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is h11.IDLE:
            # Still waiting for a whole request head (a new one after keep-alive, too).
            if self._head_timer is None and not self.transport.is_closing():
                self._arm_head_timer()
        else:
            self._disarm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a request h11 refused, as a coded JSON error (``msg`` is fixed
        text in uvicorn, never the caller's bytes)."""
        try:
            self.transport.write(
                self.conn.send(h11.Response(status_code=400, headers=_MALFORMED_HEADERS)) or b""
            )
            self.transport.write(self.conn.send(h11.Data(data=_MALFORMED_BODY)) or b"")
            self.transport.write(self.conn.send(h11.EndOfMessage()) or b"")
        except h11.LocalProtocolError:
            pass  # an answer had already begun: closing is all that is left
        self.transport.close()

    def _arm_head_timer(self) -> None:
        self._disarm_head_timer()
        self._head_timer = self.loop.call_later(self.header_timeout, self._head_timed_out)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        if self.conn.our_state is h11.IDLE and self.conn.their_state is h11.IDLE:
            # Nothing is in flight on our side: a 408 before closing tells the client why.
            self.transport.write(_TIMEOUT_RESPONSE)
        self.transport.close()
