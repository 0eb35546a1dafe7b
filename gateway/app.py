"""The ASGI application: GraphQL at /graphql, health, readiness, and shared services.

Prometheus metrics are served by a separate listener on ``VSEE_METRICS_PORT``, started in the
lifespan, never on the public port.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from collections.abc import AsyncIterator, Callable
from types import FrameType
from typing import Any

import httpx
import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.schema.base import BaseSchema

from gateway.cache import AsyncCache, MemoryCache, RedisCache
from gateway.execution import compiled_executor
from gateway.http import (
    ADMISSION_SCOPE_KEY,
    CachingHeadersMiddleware,
    ManifestError,
    MemoryDocuments,
    PersistedQueries,
    RedisDocuments,
    graphql_routes,
    load_manifest,
    on_streaming,
    operation_names,
    set_header_timeout,
    stream_registry,
)
from gateway.live import LiveHub, PollPolicy, SharedPolls
from gateway.loaders import AvailabilityService, IdempotencyStore
from gateway.observability import (
    Metrics,
    MetricsListener,
    RequestContextMiddleware,
    build_tracer,
    configure_logging,
)
from gateway.ratelimit import RateLimiter
from gateway.redis_policy import check_redis_policy
from gateway.schema import (
    QueryLimits,
    Services,
    build_schema,
    conversion_observers,
    public_files_base,
)
from gateway.settings import Settings, SettingsError, load_settings
from gateway.upstream import (
    BreakerState,
    Bulkhead,
    CircuitBreaker,
    Limits,
    Retry,
    Timeouts,
    UpstreamClient,
    remaining,
)

logger = logging.getLogger("gateway.app")

_BREAKER_HEALTH = {
    BreakerState.CLOSED: "ok",
    BreakerState.HALF_OPEN: "recovering",
    BreakerState.OPEN: "unavailable",
}
_OVERLOADED_BODY = orjson.dumps(
    {
        "errors": [
            {
                "message": "the gateway is busy; try again shortly",
                "extensions": {"code": "OVERLOADED"},
            }
        ]
    }
)


# Request bodies waiting for an admission slot, all together (each is at most max_body_bytes).
MAX_QUEUED_BYTES = 64 * 1024 * 1024


class AdmissionMiddleware:
    """Admission control: at most ``limit`` GraphQL requests run at once; the rest queue.

    A request waits (first come, first served) for at most half of what is left of its
    deadline, so one admitted keeps enough budget to finish; past that, or beyond ``max_queue``
    waiting, it is shed at once with 503, ``Retry-After`` and a GraphQL error coded
    ``OVERLOADED``. Bounding what runs keeps the event loop responsive, so the calls of admitted
    requests are read in time instead of timing out together. Also adds ``Connection: close``
    to every answer once the process is draining, so clients stop reusing its connections.
    """

    def __init__(self, app: ASGIApp, *, limit: int, max_queue: int, metrics: Metrics) -> None:
        self.app = app
        self.limit = limit
        self.max_queue = max_queue
        self.metrics = metrics
        self.waiting = 0
        self.queued_bytes = 0
        self._semaphore: asyncio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "websocket":
                # Queries and mutations sent over a socket take a slot too (http/_ws.py).
                scope[ADMISSION_SCOPE_KEY] = self
            await self.app(scope, receive, send)
            return
        state = scope["app"].state if "app" in scope else None
        draining = bool(getattr(state, "draining", False))
        send_on = _closing(send) if draining else send
        if not scope["path"].startswith("/graphql"):
            await self.app(scope, receive, send_on)
            return
        size = 0
        if scope.get("method") == "POST":
            # The body is read before a slot is taken, so a client trickling its body (bounded
            # in size and time by RequestContextMiddleware) never holds a slot others wait for.
            receive, size = await _buffered(receive)
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.limit)
        semaphore = self._semaphore
        if semaphore.locked():
            # Queued bodies are held in memory: bounded by count and by bytes.
            if self.waiting >= self.max_queue or self.queued_bytes + size > MAX_QUEUED_BYTES:
                await self._shed(send_on)
                return
            left = remaining()
            self.waiting += 1
            self.queued_bytes += size
            try:
                async with asyncio.timeout(None if left is None else max(left / 2, 0.0)):
                    await semaphore.acquire()
            except TimeoutError:
                await self._shed(send_on)
                return
            finally:
                self.waiting -= 1
                self.queued_bytes -= size
        else:
            await semaphore.acquire()
        held = True

        def release() -> None:
            nonlocal held
            if held:
                held = False
                semaphore.release()

        # A subscription streamed over HTTP gives its slot back once its response starts: it
        # may last hours, and the slot bounds work being done, not connections held open.
        on_streaming(scope, release)
        try:
            await self.app(scope, receive, send_on)
        finally:
            release()

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[bool]:
        """A slot for work that is no HTTP request (a query or mutation over a WebSocket), on
        the same terms: True while it runs, or False at once when it is shed."""
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.limit)
        semaphore = self._semaphore
        admitted = True
        if semaphore.locked():
            if self.waiting >= self.max_queue:
                admitted = False
            else:
                left = remaining()
                self.waiting += 1
                try:
                    async with asyncio.timeout(None if left is None else max(left / 2, 0.0)):
                        await semaphore.acquire()
                except TimeoutError:
                    admitted = False
                finally:
                    self.waiting -= 1
        else:
            await semaphore.acquire()
        if not admitted:
            self.metrics.shed()
            yield False
            return
        try:
            yield True
        finally:
            semaphore.release()

    async def _shed(self, send: Send) -> None:
        self.metrics.shed()
        await send(
            {
                "type": "http.response.start",
                "status": 503,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"retry-after", b"1"),
                    (b"content-length", str(len(_OVERLOADED_BODY)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": _OVERLOADED_BODY})


async def _buffered(receive: Receive) -> tuple[Receive, int]:
    """Read the whole request body now; hand it on as one message, then the live channel."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            first: Message = message  # a disconnect: pass it on as is
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            first = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            break
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return first
        return await receive()

    return replay, len(first.get("body", b""))


# Starlette's own refusals (no such route, a method a route does not take) are plain text;
# callers get them as every other mistake: a JSON error with a code.
_ROUTING_ERRORS = {
    404: ("NOT_FOUND", "No such route: GraphQL is served at /graphql."),
    405: ("METHOD_NOT_ALLOWED", "This route does not take that method (see Allow)."),
}


async def _routing_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 404
    code, message = _ROUTING_ERRORS.get(status, ("BAD_REQUEST", "The request was refused."))
    headers = exc.headers if isinstance(exc, HTTPException) else None
    return Response(
        orjson.dumps({"errors": [{"message": message, "extensions": {"code": code}}]}),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def _closing(send: Send) -> Send:
    async def closing(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"connection"]
            message = {**message, "headers": [*headers, (b"connection", b"close")]}
        await send(message)

    return closing


def _drain_on_sigterm(
    app: Starlette, grace: float, on_drain: Callable[[], None] | None = None
) -> Callable[[], None]:
    """On SIGTERM keep serving ``grace`` seconds (answers say Connection: close), then stop.

    uvicorn closes idle kept-alive connections the moment it starts shutting down, dropping
    requests that were already on their way on them; the grace lets those be answered.
    ``on_drain`` runs on the event loop at SIGTERM (subscription streams end there: uvicorn
    would otherwise wait for them to close). Returns a function restoring the previous
    handler. A no-op off the main thread.
    """
    app.state.draining = False
    # Open WebSockets wait on this to close with 1012 (reconnect elsewhere), see http/_ws.py.
    app.state.drain = asyncio.Event()
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.getsignal(signal.SIGTERM)
    if not callable(previous):
        return lambda: None
    loop = asyncio.get_running_loop()

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        if app.state.draining:
            previous(signum, frame)
            return
        app.state.draining = True
        loop.call_soon_threadsafe(app.state.drain.set)
        logger.info("SIGTERM: draining for %.1f s before shutting down", grace)
        if on_drain is not None:
            loop.call_soon_threadsafe(on_drain)
        loop.call_soon_threadsafe(loop.call_later, grace, previous, signum, None)

    signal.signal(signal.SIGTERM, on_sigterm)

    def restore() -> None:
        if signal.getsignal(signal.SIGTERM) is on_sigterm:
            signal.signal(signal.SIGTERM, previous)

    return restore


def create_app(
    settings: Settings | None = None,
    *,
    upstream_transport: httpx.AsyncBaseTransport | None = None,
    span_exporter: Any = None,
    schema: BaseSchema | None = None,
) -> Starlette:
    """Build the gateway.

    ``upstream_transport`` lets unit tests plug in ``httpx.MockTransport``; ``span_exporter``
    receives OpenTelemetry spans instead of OTLP when tracing is on; ``schema`` replaces the
    gateway's own (tests serve small schemas of their own through the whole stack).
    """
    settings = settings or load_settings()
    schema = schema or build_schema(
        introspection=settings.introspection,
        limits=QueryLimits(
            max_depth=settings.max_depth,
            max_aliases=settings.max_aliases,
            max_fields=settings.max_fields,
            max_cost=settings.max_cost,
            max_page_size=settings.max_page_size,
        ),
        max_tokens=settings.max_tokens,
        executor_class=compiled_executor() if settings.compiled_execution else None,
    )
    trusted: dict[str, str] = {}
    if settings.trusted_documents:
        try:
            trusted = load_manifest(settings.trusted_documents)
        except ManifestError as exc:
            raise SettingsError(f"invalid setting VSEE_TRUSTED_DOCUMENTS: {exc}") from None
    metrics = Metrics()
    metrics.reserve_operations(operation_names(trusted.values()))
    tracer = build_tracer(span_exporter) if settings.otel or span_exporter is not None else None

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if settings.cache_url:
            # First, before anything is opened: an evicting Redis stops start-up here.
            await check_redis_policy(settings.cache_url)
        client = UpstreamClient(
            settings.api_base,
            timeouts=Timeouts(
                connect=settings.upstream_connect_timeout, read=settings.upstream_read_timeout
            ),
            limits=Limits(
                max_connections=settings.upstream_max_connections,
                max_keepalive=settings.upstream_max_keepalive,
            ),
            retry=Retry(attempts=settings.upstream_retries + 1),
            breaker=CircuitBreaker(
                threshold=settings.breaker_threshold,
                cooldown=settings.breaker_cooldown,
                min_scopes=settings.breaker_min_scopes,
                # A probe's lease outlives any one call it may be: connect plus read, twice.
                probe_ttl=2 * (settings.upstream_connect_timeout + settings.upstream_read_timeout),
                on_change=metrics.breaker_changed,
            ),
            bulkhead=Bulkhead(settings.upstream_max_connections, settings.upstream_max_queue),
            transport=upstream_transport or settings.upstream_transport,
            observer=metrics,
            tracer=tracer,
        )
        availability_cache: MemoryCache | RedisCache
        idempotency_cache: MemoryCache | RedisCache
        caches: list[AsyncCache]
        if settings.cache_url:
            # One Redis, one connection pool: every store's keys start with its own namespace.
            shared = RedisCache(settings.cache_url, on_error=metrics.cache_error)
            availability_cache = idempotency_cache = shared
            caches = [shared]
        else:
            if settings.workers > 1:
                logger.warning(
                    "%d workers without VSEE_CACHE_URL: each keeps its own caches, and "
                    "mutations with an Idempotency-Key are refused (IDEMPOTENCY_UNAVAILABLE)",
                    settings.workers,
                )
            availability_cache = MemoryCache(maxsize=settings.availability_cache_size)
            idempotency_cache = MemoryCache(maxsize=settings.idempotency_cache_size, evict=False)
            caches = [availability_cache, idempotency_cache]
        # Subscriptions: one poller per (credentials, resource); with Redis, per replica set.
        live = LiveHub(
            client,
            policy=PollPolicy(
                active=settings.live_interval_active,
                idle=settings.live_interval_idle,
                jitter=settings.live_jitter,
            ),
            max_per_caller=settings.live_max_subscriptions_per_caller,
            max_total=settings.live_max_subscriptions,
            poll_deadline=settings.request_deadline,
            event_deadline=settings.request_deadline,
            observer=metrics,
            shared=SharedPolls(settings.cache_url, on_degraded=metrics.live_degraded)
            if settings.cache_url
            else None,
        )
        app.state.services = Services(
            client=client,
            availability=AvailabilityService(
                client, availability_cache, settings.availability_ttl, observer=metrics
            ),
            idempotency=IdempotencyStore(
                idempotency_cache,
                settings.idempotency_ttl,
                # A reservation older than any request may run lost its holder: outcome unknown.
                pending_timeout=settings.request_deadline + 10.0,
                # Memory is no shared store when several worker processes serve.
                shared=bool(settings.cache_url) or settings.workers == 1,
            ),
            max_page_size=settings.max_page_size,
            observer=metrics,
            files_base=public_files_base(settings.api_base),
            live=live,
        )
        # Query documents, not caller data: shared by all callers (see PersistedQueries), each
        # store bounded by bytes; in Redis under their own namespace and budget.
        app.state.persisted = PersistedQueries(
            MemoryDocuments(settings.persisted_query_max_bytes, settings.persisted_query_ttl),
            shared=RedisDocuments(
                settings.cache_url,
                max_bytes=settings.persisted_query_max_bytes,
                ttl=settings.persisted_query_ttl,
                on_error=metrics.cache_error,
            )
            if settings.cache_url
            else None,
            trusted=trusted,
            trusted_only=settings.trusted_documents_only,
            max_query_bytes=settings.max_query_bytes,
        )
        app.state.rate_limiter = (
            RateLimiter(
                caller_rate=settings.rate_limit_per_second,
                caller_burst=settings.rate_limit_burst,
                account_rate=settings.rate_limit_account_per_second,
                account_burst=settings.rate_limit_account_burst,
                redis_url=settings.cache_url,
                on_limited=metrics.rate_limit_refused,
                on_fallback=metrics.rate_limit_fallback,
                verified=client.accepted_scopes,
            )
            if settings.rate_limit
            else None
        )
        app.state.client = client
        app.state.caches = caches
        listener: MetricsListener | None = None
        if settings.metrics:
            listener = MetricsListener(
                metrics.render,
                metrics.content_type,
                settings.metrics_host or settings.gateway_host,
                settings.metrics_port,
            )
            await listener.start()
            app.state.metrics_port = listener.port
        restore = _drain_on_sigterm(app, settings.shutdown_grace, streams.drain)
        conversion_observers.append(metrics.unconvertible)
        try:
            yield
        finally:
            conversion_observers.remove(metrics.unconvertible)
            restore()
            if listener is not None:
                await listener.aclose()
            await live.aclose()
            # Runs after uvicorn has drained in-flight requests on SIGTERM.
            await client.aclose()
            for each in app.state.caches:
                await each.aclose()
            await app.state.persisted.aclose()
            if app.state.rate_limiter is not None:
                await app.state.rate_limiter.aclose()

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        """Ready when this process can serve: started, not draining, configuration loaded.

        VSee's and Redis's health are reported in the body (and in metrics) but never decide
        the status: a VSee blip would otherwise mark every replica unready at once, and callers
        would get the load balancer's 502/503 instead of a coded GraphQL error.
        """
        state = request.app.state
        client: UpstreamClient | None = getattr(state, "client", None)
        draining = bool(getattr(state, "draining", False))
        checks: dict[str, str] = {}
        if client is not None:
            checks["upstream"] = _BREAKER_HEALTH[client.breaker.state]
        caches_ok = [await cache.ping() for cache in getattr(state, "caches", [])]
        checks["cache"] = "ok" if all(caches_ok) else "degraded"
        metrics.dependency_up("upstream", checks.get("upstream") == "ok")
        metrics.dependency_up("cache", checks["cache"] == "ok")
        ready = client is not None and not draining
        status = "ok" if ready else ("draining" if draining else "starting")
        return JSONResponse({"status": status, "checks": checks}, status_code=200 if ready else 503)

    streams = stream_registry(settings, metrics)
    routes: list[Any] = [
        *graphql_routes(schema, settings, streams=streams),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
    ]
    middleware = [
        # Outermost, so every answer (even the 413s and 504s below) gets private caching headers.
        Middleware(CachingHeadersMiddleware),
        Middleware(
            RequestContextMiddleware,
            deadline=settings.request_deadline,
            max_body_bytes=settings.max_body_bytes,
            body_timeout=settings.body_timeout,
            max_pending_body_bytes=settings.max_pending_body_bytes,
            tracer=tracer,
        ),
        # Inside the request context: the queue wait counts against the request's deadline.
        Middleware(
            AdmissionMiddleware,
            limit=settings.max_concurrent_requests,
            max_queue=settings.max_queued_requests,
            metrics=metrics,
        ),
    ]
    if settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_methods=["GET", "POST"],
                allow_headers=[
                    "Content-Type",
                    "Accept",
                    "X-ApiToken",
                    "X-AccountCode",
                    "X-ApiKey",
                    "Authorization",
                    "Idempotency-Key",
                    "X-Request-ID",
                    # Apollo Client's client awareness.
                    "apollographql-client-name",
                    "apollographql-client-version",
                ],
                expose_headers=["X-Request-ID", "Retry-After"],
                max_age=600,
            )
        )
    app = Starlette(
        routes=routes,
        middleware=middleware,
        lifespan=lifespan,
        exception_handlers={404: _routing_error, 405: _routing_error},
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.streams = streams
    return app


def app_from_env() -> Starlette:
    """Factory for ``uvicorn --factory`` (multi-worker): settings from ``VSEE_*`` only."""
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    set_header_timeout(settings.header_timeout)
    return create_app(settings)
