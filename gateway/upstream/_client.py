"""The shared HTTP client that talks to VSee api_v3 on behalf of callers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import httpx
import orjson

from ._credentials import Credentials
from ._errors import (
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
    rejected_for_status,
)
from ._resilience import BreakerState, CircuitBreaker, Retry, remaining, request_id

logger = logging.getLogger("gateway.upstream")

TransportName = Literal["aiohttp", "httpx"]
FormValue = str | int | float | bool
FormFields = Sequence[tuple[str, FormValue]]


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Per-call budgets in seconds."""

    connect: float = 3.0
    read: float = 10.0
    pool: float = 3.0

    def to_httpx(self) -> httpx.Timeout:
        return httpx.Timeout(connect=self.connect, read=self.read, write=self.read, pool=self.pool)


@dataclass(frozen=True, slots=True)
class Limits:
    """Connection pool size towards VSee."""

    max_connections: int = 100
    max_keepalive: int = 20

    def to_httpx(self) -> httpx.Limits:
        return httpx.Limits(
            max_connections=self.max_connections, max_keepalive_connections=self.max_keepalive
        )


@dataclass(frozen=True, slots=True)
class Envelope:
    """A decoded VSee answer: ``data`` plus whatever else the envelope carried (e.g. ``total``)."""

    data: Any
    extra: Mapping[str, Any]


def make_transport(name: TransportName, limits: Limits) -> httpx.AsyncBaseTransport:
    """Pick the transport under httpx's API; aiohttp's costs ~5x less CPU per call here."""
    if name == "aiohttp":
        from httpx_aiohttp import AiohttpTransport

        transport: httpx.AsyncBaseTransport = AiohttpTransport(limits=limits.to_httpx())
        return transport
    return httpx.AsyncHTTPTransport(limits=limits.to_httpx())


class CallObserver(Protocol):
    """Told about every upstream call (for metrics and traces); must not raise."""

    def upstream_call(self, endpoint: str, outcome: str, seconds: float) -> None: ...

    def breaker_changed(self, state: BreakerState) -> None: ...


class UpstreamClient:
    """One per process; every call carries the credentials of the caller it is made for."""

    def __init__(
        self,
        base_url: str,
        *,
        timeouts: Timeouts | None = None,
        limits: Limits | None = None,
        retry: Retry | None = None,
        breaker: CircuitBreaker | None = None,
        transport: TransportName | httpx.AsyncBaseTransport = "aiohttp",
        observer: CallObserver | None = None,
        tracer: Any = None,
    ) -> None:
        limits = limits or Limits()
        self._timeouts = timeouts or Timeouts()
        self._retry = retry or Retry()
        self._observer = observer
        # An OpenTelemetry tracer (optional): one client span per upstream attempt.
        self._tracer = tracer
        self.breaker = breaker or CircuitBreaker(
            on_change=observer.breaker_changed if observer else None
        )
        if isinstance(transport, str):
            transport = make_transport(transport, limits)
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=self._timeouts.to_httpx(),
            transport=transport,
            # Callers' cookies must never leak from one request into another.
            cookies=None,
            follow_redirects=False,
            headers={"Accept": "application/json", "User-Agent": "vsee-graphql-gateway"},
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def get(
        self,
        path: str,
        credentials: Credentials | None,
        *,
        endpoint: str,
        params: Mapping[str, FormValue | None] | None = None,
    ) -> Envelope:
        return await self._send(
            "GET", path, credentials, endpoint=endpoint, params=_clean_params(params)
        )

    async def post(
        self,
        path: str,
        credentials: Credentials,
        *,
        endpoint: str,
        params: Mapping[str, FormValue | None] | None = None,
        form: FormFields | None = None,
        json: Mapping[str, Any] | None = None,
    ) -> Envelope:
        return await self._send(
            "POST",
            path,
            credentials,
            endpoint=endpoint,
            params=_clean_params(params),
            form=form,
            json=json,
        )

    async def _send(
        self,
        method: str,
        path: str,
        credentials: Credentials | None,
        *,
        endpoint: str,
        params: dict[str, str] | None = None,
        form: FormFields | None = None,
        json: Mapping[str, Any] | None = None,
    ) -> Envelope:
        headers = credentials.headers() if credentials is not None else {}
        rid = request_id.get()
        if rid:
            headers["X-Request-ID"] = rid
        files: list[tuple[str, tuple[None, str]]] | None = None
        content: bytes | None = None
        if form is not None:
            # VSee's curl examples send multipart; (None, value) makes httpx send plain fields.
            files = [(key, (None, _form_str(value))) for key, value in form]
        elif json is not None:
            content = orjson.dumps(json)
            headers["Content-Type"] = "application/json"
        attempts = self._retry.attempts if method == "GET" else 1
        for attempt in range(attempts):
            self.breaker.before_call()
            timeout = self._timeout_within_deadline(endpoint)
            started = time.perf_counter()
            try:
                span = (
                    self._tracer.start_as_current_span(f"VSee {endpoint}")
                    if self._tracer is not None
                    else contextlib.nullcontext()
                )
                with span:
                    response = await self._http.request(
                        method,
                        path,
                        params=params,
                        headers=headers,
                        files=files,
                        content=content,
                        timeout=timeout,
                    )
            except httpx.TimeoutException as exc:
                self._failed(endpoint, "timeout", started)
                raise UpstreamTimeout("VSee did not answer in time", endpoint=endpoint) from exc
            except httpx.HTTPError as exc:
                self._failed(endpoint, "connection_error", started)
                if await self._may_retry(attempt, attempts):
                    continue
                raise UpstreamUnavailable("VSee could not be reached", endpoint=endpoint) from exc
            status = response.status_code
            self._observe(endpoint, str(status), started)
            if status >= 500:
                self.breaker.record_failure()
                if status in self._retry.statuses and await self._may_retry(attempt, attempts):
                    continue
            else:
                self.breaker.record_success()
            return _decode(response, endpoint)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _timeout_within_deadline(self, endpoint: str) -> httpx.Timeout:
        left = remaining()
        if left is None:
            return self._timeouts.to_httpx()
        if left <= 0:
            raise UpstreamTimeout("the request ran out of time", endpoint=endpoint)
        t = self._timeouts
        return httpx.Timeout(
            connect=min(t.connect, left),
            read=min(t.read, left),
            write=min(t.read, left),
            pool=min(t.pool, left),
        )

    async def _may_retry(self, attempt: int, attempts: int) -> bool:
        if attempt + 1 >= attempts:
            return False
        delay = self._retry.delay(attempt)
        left = remaining()
        if left is not None and left <= delay:
            return False
        await asyncio.sleep(delay)
        return True

    def _failed(self, endpoint: str, outcome: str, started: float) -> None:
        self.breaker.record_failure()
        self._observe(endpoint, outcome, started)

    def _observe(self, endpoint: str, outcome: str, started: float) -> None:
        elapsed = time.perf_counter() - started
        if self._observer is not None:
            self._observer.upstream_call(endpoint, outcome, elapsed)
        logger.debug(
            "upstream %s -> %s in %.1f ms",
            endpoint,
            outcome,
            elapsed * 1000,
            extra={"endpoint": endpoint, "outcome": outcome, "elapsed_ms": round(elapsed * 1e3, 2)},
        )


def _decode(response: httpx.Response, endpoint: str) -> Envelope:
    status = response.status_code
    try:
        body = orjson.loads(response.content) if response.content else None
    except orjson.JSONDecodeError:
        body = None
    if status >= 500:
        raise UpstreamUnavailable(f"VSee answered {status}", endpoint=endpoint)
    if status >= 400:
        message = _message(body) or f"VSee refused the request ({status})"
        raise rejected_for_status(status)(message, status=status, endpoint=endpoint)
    if not isinstance(body, dict) or "data" not in body:
        raise UpstreamError("VSee sent an answer that is not a data envelope", endpoint=endpoint)
    extra = {key: value for key, value in body.items() if key != "data"}
    return Envelope(data=body["data"], extra=extra)


def _message(body: object) -> str | None:
    if isinstance(body, dict):
        message = body.get("message")
        if isinstance(message, str) and message:
            # VSee's own wording helps the caller fix input; cap it so a huge body can't echo.
            return message[:300]
    return None


def _clean_params(params: Mapping[str, FormValue | None] | None) -> dict[str, str] | None:
    if not params:
        return None
    return {key: _form_str(value) for key, value in params.items() if value is not None}


def _form_str(value: FormValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
