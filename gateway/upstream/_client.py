"""The shared HTTP client that talks to VSee api_v3 on behalf of callers."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Literal, Protocol
from urllib.parse import urlencode

import httpx
import orjson

from ._credentials import AcceptedScopes, Credentials
from ._errors import (
    OutcomeUnknown,
    UpstreamBadResponse,
    UpstreamError,
    UpstreamRejected,
    UpstreamTimeout,
    UpstreamUnavailable,
    rejected_for_status,
)
from ._resilience import (
    BreakerState,
    Bulkhead,
    CircuitBreaker,
    Failure,
    Retry,
    remaining,
    request_id,
)

logger = logging.getLogger("gateway.upstream")

TransportName = Literal["aiohttp", "httpx"]
FormValue = str | int | float | bool
FormFields = Sequence[tuple[str, FormValue]]
# A timeout this close to the caller's deadline was the deadline's, not VSee's slowness.
_DEADLINE_SLACK = 0.05
# What an HTTP header value may carry here; anything else is refused before a call is made.
_SAFE_HEADER = re.compile(r"[\x20-\x7e]*")


# VSee serves room and provider reads to anyone naming the account (X-AccountCode only), so an
# answer from them says nothing about the token; every other endpoint checks it.
_PUBLIC_READS = "GET /rooms"


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
        from ._transport import AiohttpTransport

        return AiohttpTransport(limits.to_httpx())
    return httpx.AsyncHTTPTransport(limits=limits.to_httpx())


# Sent on every call, before the caller's own headers (httpx's defaults, named here because
# calls go to the transport directly).
_BASE_HEADERS = (
    ("Accept", "application/json"),
    ("Accept-Encoding", "gzip, deflate"),
    ("User-Agent", "vsee-graphql-gateway"),
)


@functools.lru_cache(maxsize=4096)
def _url(base: str, path: str, query: str) -> httpx.URL:
    """httpx's URL of a call, parsed once per distinct path and query (httpx parses URLs in
    Python, and a screen asks for the same objects again and again)."""
    return httpx.URL(f"{base}{path}?{query}" if query else f"{base}{path}")


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
        bulkhead: Bulkhead | None = None,
    ) -> None:
        limits = limits or Limits()
        # Each credential scope VSee answered with data (its token is real): only those are
        # charged to their account's rate-limit bucket or get their own metric labels.
        self.accepted_scopes = AcceptedScopes()
        # Never more calls in flight than pool connections, so no call waits on the pool
        # (a wait the breaker would otherwise blame on VSee).
        self._bulkhead = bulkhead or Bulkhead(limits.max_connections)
        self._bad_responses = 0
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
        # Calls go straight to httpx's transport with a request built here: httpx.AsyncClient's
        # own request building, auth and redirect flow, event hooks and cookie jar cost more CPU
        # than the call itself (benchmarks/upstream_layers.py), and none of them is used: no
        # redirects are followed, and no cookie may pass from one caller's call to another's.
        self._transport = transport
        self._base = base_url.rstrip("/")
        self._unbounded = self._timeouts.to_httpx().as_dict()

    @property
    def bulkhead(self) -> Bulkhead:
        return self._bulkhead

    @property
    def bad_responses(self) -> int:
        """How many 2xx answers were not VSee's data envelope."""
        return self._bad_responses

    async def aclose(self) -> None:
        await self._transport.aclose()

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
        headers = [*_BASE_HEADERS, *(credentials.header_pairs() if credentials else ())]
        rid = request_id.get()
        if rid and _SAFE_HEADER.fullmatch(rid):
            headers.append(("X-Request-ID", rid))
        files: list[tuple[str, tuple[None, str]]] | None = None
        content: bytes | None = None
        if form is not None:
            # VSee's curl examples send multipart; (None, value) makes httpx send plain fields.
            files = [(key, (None, _form_str(value))) for key, value in form]
        elif json is not None:
            content = orjson.dumps(json)
            headers.append(("Content-Type", "application/json"))
        url = _url(self._base, path, urlencode(params) if params else "")
        write = method != "GET"
        attempts = 1 if write else self._retry.attempts
        scope = credentials.account_code if credentials is not None else None
        for attempt in range(attempts):
            left = remaining()
            if left is not None and left <= 0:
                raise UpstreamTimeout(
                    "the request ran out of time before VSee was called", endpoint=endpoint
                )
            ticket = self.breaker.before_call()
            try:
                async with self._bulkhead.slot():
                    timeout, capped = self._timeout_within_deadline(endpoint)
                    started = time.perf_counter()
                    try:
                        span = (
                            self._tracer.start_as_current_span(f"VSee {endpoint}")
                            if self._tracer is not None
                            else contextlib.nullcontext()
                        )
                        with span:
                            request = httpx.Request(
                                method,
                                url,
                                headers=headers,
                                files=files,
                                content=content,
                                extensions={"timeout": timeout},
                            )
                            response = await self._transport.handle_async_request(request)
                            await response.aread()
                    except httpx.HTTPError as exc:
                        failure = self._transport_failure(
                            exc, endpoint, started, ticket, timeout, capped=capped, write=write
                        )
                        if failure is None and await self._may_retry(attempt, attempts):
                            continue
                        raise (failure or _not_sent(endpoint, write)) from exc
                status = response.status_code
                self._observe(endpoint, str(status), started)
                if status >= 500:
                    self.breaker.record_failure(ticket, kind=Failure.ANSWER, scope=scope)
                    if (
                        not write
                        and status in self._retry.statuses
                        and await self._may_retry(attempt, attempts)
                    ):
                        continue
                    raise _server_error(status, endpoint, write)
                try:
                    envelope = _decode(response, endpoint)
                except UpstreamRejected:
                    # A 4xx is VSee working as designed: a success for the breaker.
                    self.breaker.record_success(ticket)
                    raise
                except UpstreamBadResponse:
                    self.breaker.record_failure(ticket, kind=Failure.ANSWER, scope=scope)
                    self._bad_responses += 1
                    logger.warning(
                        "upstream %s answered %d with a body that is not a data envelope",
                        endpoint,
                        status,
                        extra={"endpoint": endpoint, "status": status},
                    )
                    if write:
                        raise OutcomeUnknown(
                            f"VSee answered {endpoint} with something that is not its data, "
                            "so whether the change was made is unknown. Read it back before "
                            "sending it again.",
                            endpoint=endpoint,
                        ) from None
                    raise
                self.breaker.record_success(ticket)
                if credentials is not None and not endpoint.startswith(_PUBLIC_READS):
                    self.accepted_scopes.add(credentials.scope)
                return envelope
            finally:
                # Cancelled, out of budget before sending, or an unexpected error: the probe's
                # lease ends here whatever happened (a no-op once an outcome was recorded).
                self.breaker.release(ticket)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _transport_failure(
        self,
        exc: httpx.HTTPError,
        endpoint: str,
        started: float,
        ticket: int,
        budget: Mapping[str, float | None],
        *,
        capped: bool,
        write: bool,
    ) -> UpstreamError | None:
        """Record a transport failure; the error to raise, or ``None`` when a read may retry."""
        sent = classify(exc)
        left = remaining()
        if capped and left is not None and left < _DEADLINE_SLACK and _is_timeout(exc):
            # The caller's own budget ran out, not VSee's: nothing for the breaker.
            self._observe(endpoint, "deadline", started)
            if write and sent is not Sent.NOT_SENT:
                return _unknown(endpoint)
            return UpstreamTimeout(
                "the request ran out of time waiting for VSee", endpoint=endpoint
            )
        if sent is Sent.OWN:
            # Our own pool or a request we could not encode: VSee never saw it.
            self._observe(endpoint, "not_sent_local", started)
            return (
                None
                if not write and isinstance(exc, httpx.PoolTimeout)
                else (
                    UpstreamUnavailable(
                        "the gateway could not send the call to VSee", endpoint=endpoint
                    )
                )
            )
        if (
            sent is Sent.NOT_SENT
            and _is_timeout(exc)
            and _fired_late(budget, time.perf_counter() - started)
        ):
            # The connect timer fired long after its budget: this process's event loop was
            # saturated and may not have seen a connection VSee accepted in time. The gateway's
            # own overload, never VSee's failure.
            self._observe(endpoint, "not_sent_lagging", started)
            return None if not write else _not_sent(endpoint, write)
        self.breaker.record_failure(ticket, kind=Failure.CONNECTION)
        if sent is Sent.NOT_SENT:
            self._observe(endpoint, "not_sent", started)
            return None if not write else _not_sent(endpoint, write)
        self._observe(endpoint, "ambiguous", started)
        if write:
            return _unknown(endpoint)
        if _is_timeout(exc):
            return UpstreamTimeout("VSee did not answer in time", endpoint=endpoint)
        return UpstreamUnavailable("VSee broke off its answer", endpoint=endpoint)

    def _timeout_within_deadline(self, endpoint: str) -> tuple[dict[str, float | None], bool]:
        """This call's budgets (httpx's ``timeout`` request extension), and whether the
        caller's deadline cut any of them short."""
        left = remaining()
        if left is None:
            return self._unbounded, False
        if left <= 0:
            raise UpstreamTimeout(
                "the request ran out of time before VSee was called", endpoint=endpoint
            )
        t = self._timeouts
        capped = left < max(t.connect, t.read, t.pool)
        return (
            {
                "connect": min(t.connect, left),
                "read": min(t.read, left),
                "write": min(t.read, left),
                "pool": min(t.pool, left),
            },
            capped,
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


class Sent(Enum):
    """What VSee may have seen of a call that failed in the transport."""

    NOT_SENT = "not_sent"  # no connection: refused, DNS, connect timeout
    AMBIGUOUS = "ambiguous"  # sent (or maybe): read timeout, reset or cut-off answer
    OWN = "own"  # never left the gateway: its own pool, or a request it could not encode


def classify(exc: BaseException) -> Sent:
    """Classify by the underlying cause, not by httpx-aiohttp's mapping.

    httpx-aiohttp turns every aiohttp connection error into ``httpx.ConnectTimeout`` (a refused
    connection, a server that hung up mid-answer...), so its cause decides when there is one.
    """
    cause: BaseException | None = exc
    seen = 0
    while cause is not None and seen < 8:
        verdict = _classify_aiohttp(cause)
        if verdict is not None:
            return verdict
        cause = cause.__cause__
        seen += 1
    if isinstance(exc, httpx.PoolTimeout | httpx.LocalProtocolError | httpx.UnsupportedProtocol):
        return Sent.OWN
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        return Sent.NOT_SENT
    return Sent.AMBIGUOUS


def _classify_aiohttp(exc: BaseException) -> Sent | None:
    try:
        import aiohttp
    except ImportError:  # pragma: no cover - aiohttp is a dependency
        return None
    if isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError):
        return Sent.NOT_SENT
    if isinstance(exc, aiohttp.InvalidURL):
        return Sent.OWN
    if isinstance(exc, aiohttp.ClientError):
        return Sent.AMBIGUOUS
    return None


def _fired_late(budget: Mapping[str, float | None], elapsed: float) -> bool:
    """Whether a connect timeout fired long after its budget (a lagging event loop).

    Both httpx's connect and pool budgets, and aiohttp's (``pool`` is its connect), bound it.
    """
    longest = max(v for v in (budget.get("connect"), budget.get("pool")) if v is not None)
    return elapsed > longest * 1.5 + 0.5


def _is_timeout(exc: BaseException) -> bool:
    if isinstance(exc, httpx.TimeoutException):
        cause = exc.__cause__
        # httpx-aiohttp's ConnectTimeout may be a refused connection: trust the cause.
        if cause is not None and not isinstance(cause, TimeoutError):
            try:
                import aiohttp
            except ImportError:  # pragma: no cover
                return True
            return not isinstance(cause, aiohttp.ClientError)
        return True
    return isinstance(exc.__cause__, TimeoutError)


def _not_sent(endpoint: str, write: bool) -> UpstreamUnavailable:
    if write:
        return UpstreamUnavailable(
            "VSee could not be reached; the change was not sent", endpoint=endpoint
        )
    return UpstreamUnavailable("VSee could not be reached", endpoint=endpoint)


def _unknown(endpoint: str) -> OutcomeUnknown:
    return OutcomeUnknown(
        "the change was sent to VSee but no answer came back, so whether it was made is "
        "unknown. Read it back (e.g. the visits or intake) before sending it again; the "
        "gateway never sends it twice.",
        endpoint=endpoint,
    )


def _server_error(status: int, endpoint: str, write: bool) -> UpstreamError:
    # Inferred: a 503 is refused work, but a 500/502/504 on a write may come after VSee (or a
    # proxy in front of it) already acted on it.
    if write and status != 503:
        return OutcomeUnknown(
            f"VSee answered {status} to a change, so whether it was made is unknown. Read it "
            "back before sending it again.",
            endpoint=endpoint,
        )
    return UpstreamUnavailable(f"VSee answered {status}", endpoint=endpoint)


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
        raise UpstreamBadResponse(
            "VSee answered with something that is not its data", endpoint=endpoint
        )
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
