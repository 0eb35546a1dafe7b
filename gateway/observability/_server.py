"""A separate listener for Prometheus: GET /metrics on its own port, never on the public one.

Metrics name operations, endpoints and error rates: useful to an attacker, and not for callers.
Serving them on ``VSEE_METRICS_PORT`` keeps them off the port that nginx, the Service and any
Ingress route to. Every worker of ``serve --workers N`` binds the same port (SO_REUSEPORT);
whichever answers renders all workers' values (Prometheus multiprocess mode).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

logger = logging.getLogger("gateway.metrics")

_HEAD_LIMIT = 8192
_READ_TIMEOUT = 5.0


class MetricsListener:
    """Answers ``GET /metrics`` (and ``HEAD``) with ``render()``; 404 or 405 for anything else."""

    def __init__(
        self, render: Callable[[], bytes], content_type: str, host: str, port: int
    ) -> None:
        self._render = render
        self._content_type = content_type
        self._host = host
        self._port = port
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        """The bound port (the one the OS chose when asked for port 0)."""
        if self._server is None or not self._server.sockets:
            raise RuntimeError("the metrics listener is not started")
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def start(self) -> None:
        try:
            self._server = await asyncio.start_server(
                self._handle, self._host, self._port, reuse_port=True, limit=_HEAD_LIMIT
            )
        except OSError as exc:
            raise RuntimeError(
                f"cannot listen for metrics on {self._host}:{self._port} ({exc.strerror}); "
                "set VSEE_METRICS_PORT to a free port, or VSEE_METRICS=false"
            ) from None
        logger.info("metrics on http://%s:%d/metrics", self._host, self.port)

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(_READ_TIMEOUT):
                head = await reader.readuntil(b"\r\n\r\n")
            method, target = _request_line(head)
            if target.split("?", 1)[0] != "/metrics":
                status, body, content_type = "404 Not Found", b"Not Found\n", "text/plain"
            elif method not in ("GET", "HEAD"):
                status, body, content_type = "405 Method Not Allowed", b"", "text/plain"
            else:
                status, body, content_type = "200 OK", self._render(), self._content_type
            writer.write(
                (
                    f"HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\n"
                    f"content-length: {len(body)}\r\ncache-control: no-store\r\n"
                    "connection: close\r\n\r\n"
                ).encode()
                + (body if method != "HEAD" else b"")
            )
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
            pass  # a scraper that hung up or sent junk: nothing to answer
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


def _request_line(head: bytes) -> tuple[str, str]:
    line = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = line.split(" ")
    if len(parts) != 3:
        return "", ""
    return parts[0], parts[1]
