"""The ASGI application: GraphQL at /graphql, health and readiness, and the shared services."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.cache import MemoryCache
from gateway.http import GraphQLView
from gateway.loaders import AvailabilityService, IdempotencyStore
from gateway.schema import Services, build_schema
from gateway.settings import Settings, load_settings
from gateway.upstream import Limits, Timeouts, UpstreamClient

logger = logging.getLogger("gateway.app")


def create_app(
    settings: Settings | None = None,
    *,
    upstream_transport: httpx.AsyncBaseTransport | None = None,
) -> Starlette:
    """Build the gateway; ``upstream_transport`` lets unit tests plug in ``httpx.MockTransport``."""
    settings = settings or load_settings()
    schema = build_schema(introspection=settings.introspection)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        client = UpstreamClient(
            settings.api_base,
            timeouts=Timeouts(
                connect=settings.upstream_connect_timeout, read=settings.upstream_read_timeout
            ),
            limits=Limits(
                max_connections=settings.upstream_max_connections,
                max_keepalive=settings.upstream_max_keepalive,
            ),
            transport=upstream_transport or settings.upstream_transport,
        )
        cache = MemoryCache(maxsize=settings.availability_cache_size)
        idempotency_cache = MemoryCache(maxsize=settings.idempotency_cache_size)
        app.state.services = Services(
            client=client,
            availability=AvailabilityService(client, cache, settings.availability_ttl),
            idempotency=IdempotencyStore(idempotency_cache, settings.idempotency_ttl),
            max_page_size=settings.max_page_size,
        )
        app.state.cache = cache
        try:
            yield
        finally:
            await client.aclose()
            await cache.aclose()
            await idempotency_cache.aclose()

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        ok = await request.app.state.cache.ping()
        return JSONResponse({"status": "ok" if ok else "degraded"}, status_code=200 if ok else 503)

    view = GraphQLView(schema, graphql_ide="graphiql" if settings.graphiql else None)
    routes: list[Any] = [
        Route("/graphql", view, methods=["GET", "POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.settings = settings
    return app


def app_from_env() -> Starlette:
    """Factory for ``uvicorn --factory`` (multi-worker): settings from ``VSEE_*`` only."""
    return create_app(load_settings())
