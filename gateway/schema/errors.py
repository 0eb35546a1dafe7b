"""Turns exceptions into GraphQL errors with ``extensions.code``, and hides everything else."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from gateway.upstream import GatewayError

logger = logging.getLogger("gateway.errors")

INTERNAL_MESSAGE = "Internal error; it has been logged."


def coded(error: GraphQLError) -> GraphQLError:
    """The error as the caller sees it: our message and code, or an opaque internal error."""
    original = error.original_error
    if original is None:
        # Parse and validation errors from graphql-core: their text is about the query itself.
        if error.extensions and "code" in error.extensions:
            return error
        return _with(error, error.message, "GRAPHQL_VALIDATION_FAILED")
    if isinstance(original, GatewayError):
        extensions: dict[str, object] = {"code": original.code}
        field = getattr(original, "field", None)
        if field:
            extensions["field"] = field
        return _with(error, original.message, extensions)
    if isinstance(original, GraphQLError):
        return error
    # Anything else is our bug: log it with its trace here, show nothing of it to the caller.
    logger.error(
        "unexpected error resolving %s",
        ".".join(str(p) for p in (error.path or [])),
        exc_info=(type(original), original, original.__traceback__),
    )
    return _with(error, INTERNAL_MESSAGE, "INTERNAL_SERVER_ERROR")


def _with(error: GraphQLError, message: str, code: str | dict[str, object]) -> GraphQLError:
    extensions = {"code": code} if isinstance(code, str) else code
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
        extensions=extensions,
    )


class CodedErrors(SchemaExtension):
    """Runs after execution; every error leaves with a code and a safe message."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        errors = getattr(result, "errors", None)
        if result is not None and errors:
            result.errors = [coded(error) for error in errors]
