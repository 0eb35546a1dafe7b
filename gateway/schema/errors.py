"""Turns exceptions into GraphQL errors with ``extensions.code``, and hides everything else."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from graphql import GraphQLError, GraphQLSyntaxError, OperationDefinitionNode
from strawberry.extensions import SchemaExtension

from gateway.upstream import GatewayError

logger = logging.getLogger("gateway.errors")

INTERNAL_MESSAGE = "Internal error; it has been logged."


def coded(error: GraphQLError) -> GraphQLError:
    """The error as the caller sees it: our message and code, or an opaque internal error."""
    original = error.original_error
    if error.path is None and error.message.startswith("Variable '$"):
        # graphql-core's variable coercion: the caller's values do not fit their types.
        if error.extensions and "code" in error.extensions:
            return error
        return _with(error, error.message, "BAD_USER_INPUT")
    if original is None or isinstance(original, GraphQLSyntaxError):
        # Parse and validation errors from graphql-core: their text is about the query itself.
        if error.extensions and "code" in error.extensions:
            return error
        if "Document contains more than" in error.message:
            return _with(error, error.message, "TOO_MANY_TOKENS")
        if isinstance(error, GraphQLSyntaxError) or error.message.startswith("Syntax Error"):
            return _with(error, error.message, "GRAPHQL_PARSE_FAILED")
        return _with(error, error.message, "GRAPHQL_VALIDATION_FAILED")
    if isinstance(original, GatewayError):
        extensions: dict[str, object] = {"code": original.code}
        field = getattr(original, "field", None)
        if field:
            extensions["field"] = field
        return _with(error, original.message, extensions)
    if isinstance(original, GraphQLError):
        return error
    if error.path is None and isinstance(original, ValueError | TypeError):
        # A literal a scalar refused during validation (`start: "2026-13-40T00:00:00Z"`):
        # graphql-core keeps the scalar's ValueError as the cause, but the mistake is the
        # caller's and the message (ours, or the date's own "month must be in 1..12") says it.
        return _with(error, error.message, "GRAPHQL_VALIDATION_FAILED")
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


class RequireOperationName(SchemaExtension):
    """A document with several operations must name the one to run (GraphQL spec,
    GetOperation); strawberry would otherwise quietly run the first."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        # operation_name falls back to the first operation's; only what the caller sent counts.
        if document is not None and not getattr(context, "_provided_operation_name", None):
            operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
            if len(operations) > 1:
                error = GraphQLError(
                    "Must provide operation name if query contains multiple operations.",
                    extensions={"code": "OPERATION_NAME_REQUIRED"},
                )
                context.pre_execution_errors = [*(context.pre_execution_errors or []), error]
        yield
