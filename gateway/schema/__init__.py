"""The GraphQL schema: types, queries and mutations over VSee api_v3, and its SDL export."""

from __future__ import annotations

import logging
from collections.abc import Callable

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    DisableIntrospection,
    ParserCache,
    SchemaExtension,
    ValidationCache,
)
from strawberry.types import ExecutionContext

from gateway.upstream import GatewayError

from .context import GatewayContext, Info, Services
from .errors import CodedErrors
from .mutations import Mutation
from .queries import Query

__all__ = ["GatewayContext", "Info", "Services", "build_schema", "export_sdl"]

logger = logging.getLogger("gateway.schema")


class GatewaySchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Strawberry logs every error with its trace by default; caller mistakes and upstream
        # refusals are not our failures, and unexpected ones are logged once by CodedErrors.
        for error in errors:
            if isinstance(error.original_error, GatewayError):
                logger.debug("request error: %s", error.original_error.code)


def build_schema(*, introspection: bool = True) -> strawberry.Schema:
    extensions: list[type[SchemaExtension] | Callable[[], SchemaExtension]] = [
        CodedErrors,
        # Parse and validation dominate small queries (performance-notes.md). The factories
        # share one module-level LRU per maxsize, so the caches outlive each request.
        lambda: ParserCache(maxsize=512),
        lambda: ValidationCache(maxsize=512),
    ]
    if not introspection:
        extensions.append(DisableIntrospection)
    return GatewaySchema(query=Query, mutation=Mutation, extensions=extensions)


def export_sdl() -> str:
    """The schema in SDL, as committed in ``schema.graphql``."""
    return build_schema().as_str() + "\n"
