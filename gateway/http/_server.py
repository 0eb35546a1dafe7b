"""uvicorn's HTTP/1.1 protocols with a bound on how long a client may take to send its headers.

uvicorn closes idle keep-alive connections but never times out a request whose headers arrive
slowly, so a few hundred slow-loris sockets can hold the gateway's connections open for ever.
Here every connection must deliver a complete request head within ``header_timeout`` seconds of
opening (or of its first byte after a keep-alive pause), or it is answered 408 and closed. The
body is bounded separately, per request, by ``RequestContextMiddleware``. A request the parser
cannot parse is answered like every other caller mistake (JSON, coded, private), not with
uvicorn's plain text.

Two parsers, the same bounds: ``BoundedHttpToolsProtocol`` (httptools, llhttp in C; what
``vsee-gateway serve`` uses when httptools is installed: it parses a request for a fraction of
h11's CPU) and ``BoundedH11Protocol`` (pure Python h11, the fallback). httptools keeps no limit
on a request head's size of its own, so the bounded one refuses heads over ``MAX_HEAD_BYTES``,
h11's own default limit.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import h11
import orjson
from uvicorn.protocols.http.h11_impl import H11Protocol

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # httptools is optional: h11 serves without it
    HttpToolsProtocol = None  # type: ignore[assignment,misc]

from ._caching import CREDENTIAL_BYTES_PROBLEM, CREDENTIAL_HEADERS

# A request line plus headers larger than this is refused (h11's default limit, 16 KiB).
MAX_HEAD_BYTES = 16 * 1024
_CANONICAL = {name.lower().encode(): name for name in CREDENTIAL_HEADERS}
_PRINTABLE = re.compile(rb"[\x20-\x7e]*")

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


class _HeadDeadline:
    """The request-head deadline both bounded protocols keep (slow-loris): armed when a
    connection opens or a request ends, disarmed once a whole head has come."""

    # Set from VSEE_HEADER_TIMEOUT by the app factory (each worker builds its own app).
    header_timeout: float = 10.0
    loop: asyncio.AbstractEventLoop
    _head_timer: asyncio.TimerHandle | None = None

    def _arm_head_timer(self) -> None:
        self._disarm_head_timer()
        self._head_timer = self.loop.call_later(self.header_timeout, self._head_timed_out)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        raise NotImplementedError


class BoundedH11Protocol(_HeadDeadline, H11Protocol):
    """``H11Protocol`` plus a request-head deadline; pass as ``uvicorn.run(http=...)``."""

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

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        if self.conn.our_state is h11.IDLE and self.conn.their_state is h11.IDLE:
            # Nothing is in flight on our side: a 408 before closing tells the client why.
            self.transport.write(_TIMEOUT_RESPONSE)
        self.transport.close()


class _HeadTooLarge(Exception):
    pass


class _OneWrite:
    """A response's transport that sends its head together with its first body chunk.

    uvicorn writes a response's head and its body separately, and each write is a send system
    call (and a TCP segment, Nagle being off); an answer that fits in one segment then costs two.
    The head is held until the body's first write (in the same step of the event loop, as
    Starlette sends them) or the end of that step, whichever is first; everything else is the
    real transport's."""

    __slots__ = ("_head", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._head: bytes | None = None

    def write(self, data: bytes) -> None:
        if self._head is None and data.startswith(b"HTTP/"):
            self._head = data
            self._loop.call_soon(self._flush)
            return
        if self._head is not None:
            data, self._head = self._head + data, None
        self._transport.write(data)

    def _flush(self) -> None:
        if self._head is not None:
            head, self._head = self._head, None
            if not self._transport.is_closing():
                self._transport.write(head)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def _bad_credential_header(data: bytes) -> str | None:
    """The credential header in ``data`` (a request head, or its start) whose value is not
    printable ASCII, if any."""
    for line in data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]:
        name, sep, value = line.partition(b":")
        canonical = _CANONICAL.get(name.strip().lower()) if sep else None
        if canonical is not None and not _PRINTABLE.fullmatch(value.strip(b" \t")):
            return canonical
    return None


if HttpToolsProtocol is not None:

    class BoundedHttpToolsProtocol(_HeadDeadline, HttpToolsProtocol):
        """``HttpToolsProtocol`` with the same bounds as ``BoundedH11Protocol``: a request-head
        deadline, a limit on the head's size, and coded JSON answers to malformed requests."""

        # Off: uvicorn's own two writes per response (benchmarks/server_options.py compares).
        cork_responses: bool = True

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._head_timer: asyncio.TimerHandle | None = None
            # True from a connection's start, or the end of a request, until a head is whole.
            self._awaiting_head = True
            self._head_bytes = 0

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm_head_timer()

        def data_received(self, data: bytes) -> None:
            if self._awaiting_head and self._head_timer is None and not self.transport.is_closing():
                # The first byte of a new request after a keep-alive pause starts its clock.
                self._arm_head_timer()
            # Kept only for send_400_response to say which header was refused.
            self._chunk = data
            super().data_received(data)
            if not self._awaiting_head:
                self._disarm_head_timer()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm_head_timer()
            super().connection_lost(exc)

        def on_message_begin(self) -> None:
            self._awaiting_head = True
            self._head_bytes = 0
            super().on_message_begin()

        def on_url(self, url: bytes) -> None:
            self._count(len(url))
            super().on_url(url)

        def on_header(self, name: bytes, value: bytes) -> None:
            self._count(len(name) + len(value) + 4)
            super().on_header(name, value)

        def on_headers_complete(self) -> None:
            self._awaiting_head = False
            self._disarm_head_timer()
            super().on_headers_complete()
            if self.cork_responses and self.cycle is not None:
                self.cycle.transport = _OneWrite(self.transport, self.loop)  # type: ignore[assignment]

        def on_message_complete(self) -> None:
            super().on_message_complete()
            # The next head on this connection gets its own deadline from its first byte.
            self._awaiting_head = True

        def _count(self, size: int) -> None:
            self._head_bytes += size
            if self._head_bytes > MAX_HEAD_BYTES:
                # Raised inside a parser callback: httptools reports it as a parser error,
                # which uvicorn answers with send_400_response (below).
                raise _HeadTooLarge

        def send_400_response(self, msg: str) -> None:
            """uvicorn's answer to a request httptools refused, as a coded JSON error.

            httptools (unlike h11) refuses control bytes in header values, as RFC 9110 does: a
            credential header refused so gets the answer the endpoint gives such a header
            behind h11 (UNAUTHENTICATED, naming the header, never echoing its value)."""
            body = _MALFORMED_BODY
            name = _bad_credential_header(getattr(self, "_chunk", b""))
            if name is not None:
                problem = CREDENTIAL_BYTES_PROBLEM.format(name)
                error = {"message": problem, "extensions": {"code": "UNAUTHENTICATED"}}
                body = orjson.dumps({"errors": [error]})
            head = [b"HTTP/1.1 400 Bad Request\r\n"]
            head.extend(b"%s: %s\r\n" % pair for pair in _MALFORMED_HEADERS[:2])
            head.append(b"content-length: %d\r\nconnection: close\r\n\r\n" % len(body))
            self.transport.write(b"".join(head) + body)
            self.transport.close()

        def _head_timed_out(self) -> None:
            self._head_timer = None
            if self.transport.is_closing() or not self._awaiting_head:
                return
            if self.cycle is None or self.cycle.response_complete:
                # Nothing is in flight on our side: a 408 before closing tells the client why.
                self.transport.write(_TIMEOUT_RESPONSE)
            self.transport.close()

else:  # pragma: no cover - only without httptools
    BoundedHttpToolsProtocol = None  # type: ignore[assignment,misc]


def set_header_timeout(seconds: float) -> None:
    """The request-head deadline of both bounded protocols (from VSEE_HEADER_TIMEOUT)."""
    _HeadDeadline.header_timeout = seconds
