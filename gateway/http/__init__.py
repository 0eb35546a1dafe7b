"""The HTTP surface around the schema: the GraphQL endpoint and what serves it."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route, WebSocketRoute
from strawberry.schema.base import BaseSchema

from gateway.settings import Settings
from gateway.web_assets import WEB_DIR, AssetFiles, locate_assets

from ._apq import (
    ManifestError,
    MemoryDocuments,
    PersistedQueries,
    PersistedQueryError,
    RedisDocuments,
    build_manifest,
    document_hash,
    load_manifest,
    manifest_text,
    operation_names,
)
from ._caching import CREDENTIAL_HEADERS, CachingHeadersMiddleware
from ._graphiql import PLACEHOLDER_HEADERS, STATIC_PATH, GraphiQL
from ._server import BoundedH11Protocol, BoundedHttpToolsProtocol, set_header_timeout
from ._streaming import StreamObserver, StreamPolicy, StreamRegistry, on_streaming
from ._view import GraphQLView
from ._ws import ADMISSION_SCOPE_KEY

__all__ = [
    "ADMISSION_SCOPE_KEY",
    "CREDENTIAL_HEADERS",
    "PLACEHOLDER_HEADERS",
    "STATIC_PATH",
    "WEB_DIR",
    "AssetFiles",
    "BoundedH11Protocol",
    "BoundedHttpToolsProtocol",
    "CachingHeadersMiddleware",
    "GraphQLView",
    "GraphiQL",
    "ManifestError",
    "MemoryDocuments",
    "PersistedQueries",
    "PersistedQueryError",
    "RedisDocuments",
    "StreamObserver",
    "StreamPolicy",
    "StreamRegistry",
    "build_manifest",
    "document_hash",
    "graphql_routes",
    "load_manifest",
    "locate_assets",
    "manifest_text",
    "on_streaming",
    "operation_names",
    "set_header_timeout",
    "stream_registry",
]


def stream_registry(settings: Settings, observer: StreamObserver | None = None) -> StreamRegistry:
    """The registry of one process's subscription streams, with the settings' limits;
    ``observer`` (the app's metrics) is told of streams opened, closed and dropped."""
    return StreamRegistry(
        StreamPolicy(
            heartbeat=settings.stream_heartbeat,
            buffer_bytes=settings.stream_buffer_bytes,
            max_per_caller=settings.live_max_subscriptions_per_caller,
        ),
        observer=observer,
    )


def graphql_routes(
    schema: BaseSchema,
    settings: Settings,
    *,
    assets: AssetFiles | None = None,
    streams: StreamRegistry | None = None,
) -> list[BaseRoute]:
    """/graphql for every method (the view answers 405 itself), plus GraphiQL's assets if on.

    ``assets`` is where GraphiQL's files are: by default the wheel's package data, or
    ``VSEE_WEB_DIR``/node_modules, or web/node_modules of a source checkout (``locate_assets``).
    ``streams`` holds the subscription streams /graphql serves over HTTP (SIGTERM drains it).
    """
    graphiql: GraphiQL | None = None
    if settings.graphiql:
        graphiql = GraphiQL(
            assets or locate_assets(settings.web_dir),
            headers=settings.graphiql_headers or PLACEHOLDER_HEADERS,
        )
    view = GraphQLView(
        schema,
        graphiql=graphiql,
        max_batch_size=settings.max_batch_size,
        ws_init_timeout=settings.ws_connection_init_timeout,
        ws_max_operations=settings.ws_max_subscriptions_per_connection,
        ws_idle_timeout=settings.ws_idle_timeout,
        ws_operation_deadline=settings.request_deadline,
        ws_max_connections=settings.ws_max_connections,
        allowed_origins=settings.cors_origins,
        streams=streams or stream_registry(settings),
    )
    # One view for both: GraphQL over HTTP, and subscriptions over graphql-transport-ws.
    routes: list[BaseRoute] = [Route("/graphql", view), WebSocketRoute("/graphql", view)]
    if graphiql is not None:
        routes.extend(graphiql.routes())
    return routes
