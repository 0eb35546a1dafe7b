"""The ASGI application: GraphQL at /graphql, health, readiness, and shared services.

Prometheus metrics are served by a separate listener on ``VSEE_METRICS_PORT``, started in the
lifespan, never on the public port.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.cache import AsyncCache, MemoryCache, RedisCache
from gateway.http import (
    BoundedH11Protocol,
    CachingHeadersMiddleware,
    ManifestError,
    MemoryDocuments,
    PersistedQueries,
    RedisDocuments,
    graphql_routes,
    load_manifest,
    operation_names,
)
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
from gateway.schema import QueryLimits, Services, build_schema
from gateway.settings import Settings, SettingsError, load_settings
from gateway.upstream import (
    CircuitBreaker,
    Limits,
    Retry,
    Timeouts,
    UpstreamClient,
    UpstreamError,
)

logger = logging.getLogger("gateway.app")


def create_app(
    settings: Settings | None = None,
    *,
    upstream_transport: httpx.AsyncBaseTransport | None = None,
    span_exporter: Any = None,
) -> Starlette:
    """Build the gateway.

    ``upstream_transport`` lets unit tests plug in ``httpx.MockTransport``; ``span_exporter``
    receives OpenTelemetry spans instead of OTLP when tracing is on.
    """
    settings = settings or load_settings()
    schema = build_schema(
        introspection=settings.introspection,
        limits=QueryLimits(
            max_depth=settings.max_depth,
            max_aliases=settings.max_aliases,
            max_fields=settings.max_fields,
            max_cost=settings.max_cost,
            max_page_size=settings.max_page_size,
        ),
        max_tokens=settings.max_tokens,
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
                on_change=metrics.breaker_changed,
            ),
            transport=upstream_transport or settings.upstream_transport,
            observer=metrics,
            tracer=tracer,
        )
        availability_cache: AsyncCache
        idempotency_cache: AsyncCache
        caches: list[AsyncCache]
        if settings.cache_url:
            # One Redis, one connection pool: every store's keys start with its own namespace.
            shared = RedisCache(settings.cache_url, on_error=metrics.cache_error)
            availability_cache = idempotency_cache = shared
            caches = [shared]
        else:
            availability_cache = MemoryCache(maxsize=settings.availability_cache_size)
            idempotency_cache = MemoryCache(maxsize=settings.idempotency_cache_size)
            caches = [availability_cache, idempotency_cache]
        app.state.services = Services(
            client=client,
            availability=AvailabilityService(
                client, availability_cache, settings.availability_ttl, observer=metrics
            ),
            idempotency=IdempotencyStore(idempotency_cache, settings.idempotency_ttl),
            max_page_size=settings.max_page_size,
            observer=metrics,
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
        try:
            yield
        finally:
            if listener is not None:
                await listener.aclose()
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
        """Ready when VSee answers (any HTTP answer counts).

        A shared cache that is down is reported as degraded but does not fail readiness: the
        gateway serves without it, and failing every replica at once would be an outage.
        """
        checks: dict[str, str] = {}
        client: UpstreamClient = request.app.state.client
        try:
            await client.get("/rooms", None, endpoint="GET /rooms (readiness)")
            checks["upstream"] = "ok"
        except UpstreamError as exc:
            # A 4xx (e.g. no account code) still proves VSee is reachable.
            checks["upstream"] = "ok" if getattr(exc, "status", 0) else "unavailable"
        caches_ok = [await cache.ping() for cache in request.app.state.caches]
        checks["cache"] = "ok" if all(caches_ok) else "degraded"
        ready = checks["upstream"] == "ok"
        return JSONResponse(
            {"status": "ok" if ready else "unavailable", "checks": checks},
            status_code=200 if ready else 503,
        )

    routes: list[Any] = [
        *graphql_routes(schema, settings),
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
            tracer=tracer,
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
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.settings = settings
    app.state.metrics = metrics
    return app


def app_from_env() -> Starlette:
    """Factory for ``uvicorn --factory`` (multi-worker): settings from ``VSEE_*`` only."""
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    BoundedH11Protocol.header_timeout = settings.header_timeout
    return create_app(settings)
