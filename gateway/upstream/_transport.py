"""httpx's transport interface over one aiohttp session, doing no work a call does not need.

httpx-aiohttp's transport (the previous default) turns httpx's URL back into a string for
aiohttp to parse again, hands aiohttp httpx's ``Headers`` to copy key by key, and streams the
answer back through httpx in 16 KiB chunks; measured per call (benchmarks/upstream_layers.py)
that was most of what the gateway's client cost above a bare aiohttp call. Here the URL goes to
aiohttp already encoded, headers as plain pairs, and the whole body is read once and handed to
httpx as the response's content. The contract is httpx's: ``httpx.Request`` in,
``httpx.Response`` out, aiohttp's errors raised as httpx's (with aiohttp's as their cause,
which ``classify`` reads), exactly as httpx-aiohttp maps them.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Iterator

import aiohttp
import httpx
from yarl import URL

# aiohttp's error -> httpx's; for an error matching several, the most specific httpx class wins
# (httpx-aiohttp's table, so the failure semantics built on it are unchanged).
_ERRORS: dict[type[Exception], type[httpx.HTTPError]] = {
    aiohttp.ServerTimeoutError: httpx.TimeoutException,
    aiohttp.SocketTimeoutError: httpx.ReadTimeout,
    aiohttp.ClientConnectionError: httpx.ConnectTimeout,
    aiohttp.ClientConnectorError: httpx.ConnectError,
    aiohttp.ClientPayloadError: httpx.ReadError,
    aiohttp.ClientProxyConnectionError: httpx.ProxyError,
    aiohttp.ClientHttpProxyError: httpx.ProxyError,
    aiohttp.NonHttpUrlClientError: httpx.UnsupportedProtocol,
    aiohttp.InvalidUrlClientError: httpx.UnsupportedProtocol,
}


@contextlib.contextmanager
def _as_httpx_errors() -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        mapped: type[httpx.HTTPError] | None = None
        for aiohttp_error, httpx_error in _ERRORS.items():
            if isinstance(exc, aiohttp_error) and (
                mapped is None or issubclass(httpx_error, mapped)
            ):
                mapped = httpx_error
        if mapped is None:
            raise
        raise mapped(str(exc)) from exc


class AiohttpTransport(httpx.AsyncBaseTransport):
    """One aiohttp session (made on first use, inside the running loop) for every call."""

    def __init__(self, limits: httpx.Limits, ssl_context: ssl.SSLContext | None = None) -> None:
        self._limits = limits
        self._ssl = ssl_context or httpx.create_ssl_context()
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        limits = self._limits
        connector = aiohttp.TCPConnector(
            limit=limits.max_connections or 0,
            keepalive_timeout=limits.keepalive_expiry,
            ssl=self._ssl,
        )
        # No cookie jar: one caller's cookies must never reach another's calls.
        self._session = aiohttp.ClientSession(
            connector=connector, cookie_jar=aiohttp.DummyCookieJar(), auto_decompress=False
        )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._session or self._open()
        timeout = request.extensions.get("timeout") or {}
        try:
            body = request.content or None
        except httpx.RequestNotRead:
            body = await request.aread() or None
        with _as_httpx_errors():
            async with session.request(
                request.method,
                URL(str(request.url), encoded=True),
                headers=request.headers.multi_items(),
                data=body,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(
                    sock_connect=timeout.get("connect"),
                    sock_read=timeout.get("read"),
                    connect=timeout.get("pool"),
                ),
            ) as answer:
                content = await answer.read()
        # httpx decodes any Content-Encoding itself, as with every transport.
        return httpx.Response(
            answer.status,
            headers=answer.raw_headers,
            content=content,
            request=request,
            extensions={"http_version": b"HTTP/1.1"},
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
