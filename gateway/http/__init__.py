"""The HTTP surface around the schema: the GraphQL endpoint and what serves it."""

from __future__ import annotations

from pathlib import Path

from starlette.routing import BaseRoute, Route
from strawberry.schema.base import BaseSchema

from gateway.settings import Settings

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
from ._graphiql import STATIC_PATH, WEB_DIR, GraphiQL
from ._server import BoundedH11Protocol
from ._view import GraphQLView

__all__ = [
    "CREDENTIAL_HEADERS",
    "STATIC_PATH",
    "WEB_DIR",
    "BoundedH11Protocol",
    "CachingHeadersMiddleware",
    "GraphQLView",
    "GraphiQL",
    "ManifestError",
    "MemoryDocuments",
    "PersistedQueries",
    "PersistedQueryError",
    "RedisDocuments",
    "build_manifest",
    "document_hash",
    "graphql_routes",
    "load_manifest",
    "manifest_text",
    "operation_names",
]


def graphql_routes(
    schema: BaseSchema,
    settings: Settings,
    *,
    node_modules: Path | None = None,
) -> list[BaseRoute]:
    """/graphql for every method (the view answers 405 itself), plus GraphiQL's assets if on.

    ``node_modules`` is where ``npm ci`` put GraphiQL's files: ``VSEE_WEB_DIR``/node_modules
    when set, else web/node_modules of the source tree.
    """
    graphiql: GraphiQL | None = None
    if settings.graphiql:
        if node_modules is None and settings.web_dir is not None:
            node_modules = Path(settings.web_dir) / "node_modules"
        graphiql = GraphiQL(node_modules) if node_modules is not None else GraphiQL()
    view = GraphQLView(
        schema,
        graphiql=graphiql,
        max_batch_size=settings.max_batch_size,
    )
    routes: list[BaseRoute] = [Route("/graphql", view)]
    if graphiql is not None:
        routes.extend(graphiql.routes())
    return routes
