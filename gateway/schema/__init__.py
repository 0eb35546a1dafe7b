"""The GraphQL schema: types, queries and mutations over VSee api_v3, and its SDL export."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import AsyncGenerator, Callable, Iterable
from typing import Any

import orjson
import strawberry
from graphql import ASTValidationRule, GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
)
from strawberry.schema._graphql_core import GraphQLExecutionContext
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType
from strawberry.utils.aio import aclosing

from gateway.upstream import GatewayError

from ._convert import observers as conversion_observers
from ._convert import public_files_base
from .context import GatewayContext, Info, Services
from .errors import RequireOperationName, coded
from .intakes import IntakeMutations, IntakeQueries
from .limits import CostLimit, GuardedValidation, QueryLimits, limits_rule
from .live import Subscription
from .nodes import NodeQueries
from .people import PeopleQueries
from .rooms import RoomQueries
from .scalars import SCALAR_MAP
from .visits import VisitMutations, VisitQueries

__all__ = [
    "GatewayContext",
    "GatewaySchema",
    "Info",
    "QueryLimits",
    "Services",
    "build_schema",
    "conversion_observers",
    "export_sdl",
    "public_files_base",
    "schema_extensions",
]

logger = logging.getLogger("gateway.schema")


class GatewaySchema(strawberry.Schema):
    async def execute(  # type: ignore[override]
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        **kwargs: Any,
    ) -> ExecutionResult:
        started = time.perf_counter()
        result = await super().execute(
            query, variable_values, context_value, root_value, operation_name, **kwargs
        )
        # Here rather than in an extension: parse errors raised under ParserCache skip
        # extensions' on_operation exit, and every error must leave with a code.
        if result.errors:
            result.errors = [coded(error) for error in result.errors]
        observer = getattr(getattr(context_value, "services", None), "observer", None)
        if observer is not None:
            outcome = "ok" if not result.errors else "partial" if result.data else "error"
            # Only a document that parsed and validated names a real operation; whatever a
            # caller writes in one that did not must never become a metric label.
            validated = not isinstance(result, PreExecutionError)
            name = (operation_name or _operation_name(query)) if validated else "invalid"
            # Credentials VSee has accepted: anyone can send made-up ones.
            credentials = getattr(context_value, "credentials", None)
            services = getattr(context_value, "services", None)
            accepted = getattr(getattr(services, "client", None), "accepted_scopes", ())
            credentialed = credentials is not None and credentials.scope in accepted
            observer.operation(
                name, outcome, time.perf_counter() - started, credentialed=credentialed
            )
        return result

    async def stream(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        operation_extensions: dict[str, Any] | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
    ) -> AsyncGenerator[Any, None]:
        """Every streaming transport's entry (``subscribe`` calls it): errors leave coded, and
        a subscription sends an event only when its result differs from the one before;
        every operation gets loaders of its own (``GatewayContext.for_operation``)."""
        if isinstance(context_value, GatewayContext):
            context_value = context_value.for_operation()
        source = await super().stream(
            query,
            variable_values,
            context_value,
            root_value,
            operation_name,
            operation_extensions,
            allowed_operation_types,
        )
        return _changes(source, context_value)

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Strawberry logs every error with its trace by default; caller mistakes and upstream
        # refusals are not our failures, and unexpected ones are logged once by CodedErrors.
        for error in errors:
            if isinstance(error.original_error, GatewayError):
                logger.debug("request error: %s", error.original_error.code)
            # Everything else is logged once, with its trace, by errors.coded().


async def _changes(source: AsyncGenerator[Any, None], context: Any) -> AsyncGenerator[Any, None]:
    """The results of ``source``, coded, each only when it differs from the previous one: the
    pollers wake subscriptions when VSee's answer changed; this drops the events whose selected
    data did not (a visit's `updatedAt` moved, but the subscriber asked only for `status`)."""
    services = getattr(context, "services", None)
    hub = getattr(services, "live", None)
    last: bytes | None = None
    async with aclosing(source):
        async for result in source:
            if isinstance(result, ExecutionResult):
                if result.errors:
                    result.errors = [coded(error) for error in result.errors]
                seen = orjson.dumps(
                    [result.data, [error.formatted for error in result.errors or []]],
                    default=str,
                )
                if seen == last:
                    continue
                last = seen
                if hub is not None:
                    hub.event_sent()
            yield result


_OPERATION_NAME = re.compile(r"^\s*(?:query|mutation|subscription)\s+([A-Za-z_][A-Za-z0-9_]*)")


def _operation_name(query: str | None) -> str | None:
    match = _OPERATION_NAME.match(query or "")
    return match.group(1) if match else None


def build_schema(
    *,
    introspection: bool = True,
    limits: QueryLimits | None = None,
    max_tokens: int = 5000,
    executor_class: type[GraphQLExecutionContext[Any]] | None = None,
) -> strawberry.Schema:
    """The schema; ``executor_class`` replaces graphql-core's executor (gateway.execution)."""
    return GatewaySchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=schema_extensions(
            introspection=introspection, limits=limits, max_tokens=max_tokens
        ),
        config=StrawberryConfig(scalar_map=SCALAR_MAP),
        execution_context_class=executor_class,
    )


def schema_extensions(
    *,
    introspection: bool = True,
    limits: QueryLimits | None = None,
    max_tokens: int = 5000,
) -> list[type[SchemaExtension] | Callable[[], SchemaExtension]]:
    """The gateway's limits, caches and rules, for its schema (and schemas tests build)."""
    limits = limits or QueryLimits()
    rules: list[type[ASTValidationRule]] = [limits_rule(limits)]
    extensions: list[type[SchemaExtension] | Callable[[], SchemaExtension]] = [
        lambda: MaxTokensLimiter(max_token_count=max_tokens),
        lambda: AddValidationRules(rules),
        # Parse and validation dominate small queries (performance-notes.md). The factories
        # share one module-level LRU per maxsize, so the caches outlive each request.
        lambda: ParserCache(maxsize=512),
        # Linear limits first; graphql-core's rules only for documents within them.
        lambda: GuardedValidation(limits=limits, maxsize=512),
        RequireOperationName,
        lambda: CostLimit(limits=limits),
    ]
    if not introspection:
        extensions.append(DisableIntrospection)
    return extensions


# The root types gather each domain module's fields (see README, "Code layout").
@strawberry.type(
    description="Reads: visits, intakes, rooms, providers and open slots of the caller's VSee "
    "account, as the caller's own credentials may see them."
)
class Query(NodeQueries, VisitQueries, IntakeQueries, RoomQueries, PeopleQueries):
    pass


@strawberry.type(
    description="Writes to VSee: intakes, walk-ins, e-consults and appointments. Each takes one "
    "`input`, makes at most one VSee write, is never retried, and answers a payload with "
    "`userErrors` (an `Idempotency-Key` header makes a retry return the first answer)."
)
class Mutation(IntakeMutations, VisitMutations):
    pass


def export_sdl() -> str:
    """The schema in SDL, as committed in ``schema.graphql``."""
    return build_schema().as_str() + "\n"
