"""Refuses abusive or mistaken queries before execution: depth, aliases and upstream-call cost.

The cost of a query is an upper bound on the VSee calls it may cause: each field that can call
VSee counts its calls, multiplied by the size of the lists above it. A refused query costs no
upstream call because the limits run before any resolver.

Every measure is linear in the document's size: each fragment is walked once and its summary
(cost, depth below it, aliases inside it) memoized, however many times it is spread. Depth and
aliases do not depend on variables, so they run as a validation rule (cached per document);
cost depends on page sizes, so it runs after the variables are coerced, with their real values.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    ArgumentNode,
    ExecutionResult,
    FieldNode,
    FloatValueNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLOutputType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValidationRule,
    ValueNode,
    VariableDefinitionNode,
    VariableNode,
    get_operation_ast,
)
from graphql.execution.values import get_variable_values
from strawberry.extensions import SchemaExtension, ValidationCache

from ._paging import DEFAULT_FIRST


@dataclass(frozen=True, slots=True)
class QueryLimits:
    max_depth: int = 12
    max_aliases: int = 30
    # Field selections once every fragment spread is expanded: what the executor and the
    # resolvers' selection readers (info.selected_fields) walk. A few hundred bytes of nested
    # spreads expand exponentially; this bounds that work before any resolver runs.
    max_fields: int = 2000
    max_cost: int = 1000
    # The largest `first` a caller may ask for (VSEE_MAX_PAGE_SIZE); larger pages are refused
    # by the resolver before any call, so the cost never assumes more.
    max_page_size: int = 100
    # Times one response name may be selected in one selection set, fragments expanded
    # (clients add `__typename` and `id` to every fragment, so a few repeats are normal).
    max_repeated_fields: int = 50
    # Field pairs graphql-core's OverlappingFieldsCanBeMerged may compare (an upper bound,
    # about 10 microseconds each): same-named fields and their subtrees, pairwise.
    max_field_comparisons: int = 10_000
    # Operations in one document (only one runs; the others are validated all the same).
    max_operations: int = 20


# Upstream calls one resolution of a field may make.
FIELD_CALLS: Mapping[str, int] = {
    "Query.visit": 1,
    "Query.visits": 2,  # an offset between page boundaries spans two pages
    "Query.currentVisit": 1,
    "Query.intake": 1,
    "Query.room": 1,
    "Query.rooms": 2,  # like Query.visits: a window may span two of VSee's pages
    "Query.availability": 1,
    # A provider read by global id alone may search the rooms' lists: rooms plus a few lists.
    "Query.node": 3,
    "Query.nodes": 3,
    "Visit.intake": 1,
    "Visit.provider": 1,
    "Visit.room": 1,
    "Visit.member": 1,  # the visit's detail when its answer embeds too little of the member
    "Visit.relatedWalkin": 1,
    "Intake.visit": 1,
    "Intake.provider": 3,  # like Query.provider when the intake names no room
    "Intake.room": 1,
    "Query.provider": 3,
    "VisitHost.provider": 3,
    "Room.providers": 1,
    "Room.specialties": 1,
    "Room.consultations": 1,
    # Providers are fetched once per id per request, so slots share them: bound by a room's size.
    "Slot.providers": 10,
    "IntakePayload.intake": 1,
    "VisitPayload.visit": 1,
    "Mutation.createIntake": 1,
    "Mutation.updateIntake": 1,
    "Mutation.createWalkin": 1,
    "Mutation.createEconsult": 1,
    "Mutation.createAppointment": 1,
    "Mutation.updateAppointment": 1,
    # The visit, the day's availability, then the write.
    "Mutation.rescheduleAppointment": 3,
    "Mutation.cancelAppointment": 1,
    "Mutation.closeVisit": 1,
}
# How many items a list field is assumed to hold, when no argument says.
LIST_SIZES: Mapping[str, int] = {
    "Room.providers": 20,
    # Slot children that cost calls are deduplicated per request (see Slot.providers above).
    "Query.availability": 1,
    "Query.nodes": 100,  # its maximum: the cost is judged before the ids are counted
    # The connection's lists are the page itself, already counted by `first` on Query.visits.
    "VisitConnection.nodes": 1,
    "VisitConnection.edges": 1,
    "RoomConnection.nodes": 1,
    "RoomConnection.edges": 1,
}
# Connections: their size is the page the caller asks for (`first` or `last`).
CONNECTIONS = frozenset({"Query.visits", "Query.rooms"})
DEFAULT_LIST_SIZE = 20
DEFAULT_PAGE_SIZE = DEFAULT_FIRST  # a connection's `first` when the caller gives none
# graphql-core's OverlappingFieldsCanBeMerged compares every pair of same-named fields in a
# selection set: quadratic, seconds for a 15 kB document repeating one field. Documents are
# refused before it runs when a response name repeats more than this in one selection set.
_REPEATS_CAP = 1_000_000
_MAX_LEVEL_NAMES = 500


@dataclass(frozen=True, slots=True)
class Measurement:
    """What one operation may cost; ``visits`` counts selection nodes walked (linear-time proof).

    ``fields`` is the number of field selections with fragments expanded: it may be exponential
    in the document's size, but it is computed from the memoized fragment summaries.
    """

    depth: int
    aliases: int
    cost: int
    visits: int
    fields: int = 0
    # The most times one response name is selected in one selection set (fragments expanded).
    repeats: int = 0
    # An upper bound on the field pairs graphql-core's OverlappingFieldsCanBeMerged compares.
    comparisons: int = 0


@dataclass(slots=True)
class _Summary:
    cost: int = 0
    depth: int = 0  # levels below the selection set's own level (0 when it has no fields)
    aliases: int = 0
    fields: int = 0  # fields in this selection set and below, fragments expanded
    # Response names selected at this selection set's own level, through inline fragments and
    # spreads: [times selected, sum of their subtree sizes, sum of those sizes squared].
    level: dict[str, list[int]] = field(default_factory=dict)


def _named(type_: GraphQLOutputType) -> tuple[Any, bool]:
    is_list = False
    while isinstance(type_, (GraphQLNonNull, GraphQLList)):
        if isinstance(type_, GraphQLList):
            is_list = True
        type_ = type_.of_type
    return type_, is_list


class _Measure:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any] | None,
        max_page_size: int,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        # None: before coercion (validation), where only depth and aliases are used.
        self.variables = variables
        self.max_page_size = max_page_size
        self.memo: dict[str, _Summary] = {}
        self.visits = 0
        self.repeats = 0
        self.comparisons = 0

    def operation(self, operation: OperationDefinitionNode) -> Measurement:
        """One operation's measurement; fragment summaries are shared across operations."""
        root = self.schema.get_root_type(operation.operation)
        summary = self.selection(root, operation.selection_set)
        return Measurement(
            depth=summary.depth,
            aliases=summary.aliases,
            cost=summary.cost,
            visits=self.visits,
            fields=summary.fields,
            repeats=self.repeats,
            comparisons=self.comparisons,
        )

    def fragment(self, name: str) -> _Summary:
        """The fragment's summary, computed once; cyclic or unknown spreads count nothing
        (graphql-core's own rules report them)."""
        summary = self.memo.get(name)
        if summary is not None:
            return summary
        fragment = self.fragments.get(name)
        # Mark in progress first: a cycle back here sees an empty summary and stops.
        self.memo[name] = _Summary()
        if fragment is None:
            return self.memo[name]
        target = self.schema.get_type(fragment.type_condition.name.value)
        summary = self.selection(target, fragment.selection_set)
        self.memo[name] = summary
        return summary

    def selection(self, parent: Any, selections: SelectionSetNode | None) -> _Summary:
        """One resolution of ``selections`` on ``parent``: cost, depth below, aliases."""
        total = _Summary()
        if selections is None:
            return total
        for node in selections.selections:
            self.visits += 1
            if isinstance(node, FieldNode):
                part = self.field(parent, node)
                size = 1 + part.fields
                total.fields += size
                entry = total.level.setdefault((node.alias or node.name).value, [0, 0, 0])
                entry[0] += 1
                entry[1] += size
                entry[2] += size * size
            elif isinstance(node, InlineFragmentNode):
                target = parent
                if node.type_condition is not None:
                    target = self.schema.get_type(node.type_condition.name.value) or parent
                part = self.selection(target, node.selection_set)
                total.fields += part.fields
                self._merge(total.level, part.level)
            elif isinstance(node, FragmentSpreadNode):
                part = self.fragment(node.name.value)
                total.fields += part.fields
                self._merge(total.level, part.level)
            else:  # pragma: no cover - graphql has no other selection kinds
                continue
            total.cost += part.cost
            total.depth = max(total.depth, part.depth)
            total.aliases += part.aliases
        for count, sizes, squares in total.level.values():
            self.repeats = max(self.repeats, count)
            # Pairs of same-named fields are compared, and so are their subtrees, pairwise:
            # at most (size_i * size_j) field pairs for each pair i < j.
            self.comparisons += (sizes * sizes - squares) // 2
        return total

    def _merge(self, level: dict[str, list[int]], other: dict[str, list[int]]) -> None:
        # Bounded work: no real type has _MAX_LEVEL_NAMES fields, so a level that grows past
        # it is refused (as if repeated) and stops growing.
        if len(level) + len(other) > _MAX_LEVEL_NAMES:
            self.repeats = max(self.repeats, _REPEATS_CAP)
            return
        for name, (count, sizes, squares) in other.items():
            entry = level.setdefault(name, [0, 0, 0])
            entry[0] += count
            entry[1] += sizes
            entry[2] += squares

    def field(self, parent: Any, node: FieldNode) -> _Summary:
        name = node.name.value
        aliases = 1 if node.alias is not None else 0
        fields = getattr(parent, "fields", None)
        definition = fields.get(name) if fields is not None else None
        if name.startswith("__") or getattr(parent, "name", "").startswith("__"):
            # Introspection is served from memory (no cost) and its depth is fixed by the
            # spec's own types, but its aliases multiply the answer like any other: count them.
            child = _named(definition.type)[0] if definition is not None else None
            if name == "__schema":
                child = self.schema.get_type("__Schema")
            elif name == "__type":
                child = self.schema.get_type("__Type")
            inner = self.selection(child, node.selection_set)
            return _Summary(cost=0, depth=0, aliases=aliases + inner.aliases, fields=inner.fields)
        if definition is None:
            inner = self.selection(None, node.selection_set)
            return _Summary(0, 1 + inner.depth, aliases + inner.aliases, inner.fields)
        key = f"{parent.name}.{name}"
        child, is_list = _named(definition.type)
        inner = self.selection(child, node.selection_set)
        size = self._list_size(key, node) if is_list or key in CONNECTIONS else 1
        return _Summary(
            cost=FIELD_CALLS.get(key, 0) + size * inner.cost,
            depth=1 + inner.depth,
            aliases=aliases + inner.aliases,
            fields=inner.fields,
        )

    def _list_size(self, key: str, node: FieldNode) -> int:
        if key not in CONNECTIONS:
            return LIST_SIZES.get(key, DEFAULT_LIST_SIZE)
        if self.variables is None:
            return 0  # before coercion the page size is unknown; cost is not used there
        # The larger of `first` and `last`, a null one ignored (only one may be given, the
        # other null: a null read last must not reset the page to the default).
        sizes: list[int] = []
        for argument in node.arguments or ():
            if argument.name.value in ("first", "last"):
                value = argument.value
                given: Any = None
                if isinstance(value, IntValueNode):
                    given = int(value.value)
                elif isinstance(value, VariableNode):
                    given = self.variables.get(value.name.value)
                if isinstance(given, int) and not isinstance(given, bool):
                    sizes.append(given)
        first = max(sizes) if sizes else DEFAULT_PAGE_SIZE
        # Pages beyond the maximum are refused by the resolver before any call.
        return min(max(1, first), self.max_page_size)


def _fragments(document: Any) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def measure(
    schema: GraphQLSchema,
    document: Any,
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any] | None,
    max_page_size: int = 100,
) -> Measurement:
    """Depth, aliases and cost of ``operation``; cost needs the coerced ``variables``."""
    walk = _Measure(schema, _fragments(document), variables, max_page_size)
    return walk.operation(operation)


def limits_rule(limits: QueryLimits) -> type[ValidationRule]:
    """A graphql-core validation rule bounding the values written in the query text.

    Depth, aliases and repeated fields are checked before validation (see ``GuardedValidation``)
    so that graphql-core's own rules never see a document over those limits.
    """

    class QueryLimitsRule(ValidationRule):
        def enter_argument(self, node: ArgumentNode, *_: object) -> None:
            self._literal(node.value, node)

        def enter_variable_definition(self, node: VariableDefinitionNode, *_: object) -> None:
            if node.default_value is not None:
                self._literal(node.default_value, node)

        def _literal(self, value: ValueNode, node: Any) -> None:
            problem = literal_problem(value)
            if problem is not None:
                self.context.report_error(
                    GraphQLError(problem, node, extensions={"code": "BAD_USER_INPUT"})
                )

    return QueryLimitsRule


class GuardedValidation(ValidationCache):
    """strawberry's cached validation, behind a linear check of depth, aliases and repeats.

    graphql-core's rules are not all linear (OverlappingFieldsCanBeMerged compares pairs of
    same-named fields), so a document over the limits is refused before they run.
    """

    def __init__(self, *, limits: QueryLimits, maxsize: int = 512) -> None:
        super().__init__(maxsize=maxsize)
        self.limits = limits

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        errors: list[GraphQLError] = []
        if document is not None:
            schema = context.schema._schema
            # One walk (one fragment memo) for all the document's operations: a fragment spread
            # by many operations is still summarized once.
            walk = _Measure(schema, _fragments(document), None, self.limits.max_page_size)
            operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
            if len(operations) > self.limits.max_operations:
                # graphql-core's variable and fragment rules walk each operation's fragments.
                errors.append(
                    GraphQLError(
                        f"The document holds {len(operations)} operations; at most "
                        f"{self.limits.max_operations}.",
                        extensions={
                            "code": "TOO_MANY_OPERATIONS",
                            "limit": self.limits.max_operations,
                        },
                    )
                )
            for definition in operations if not errors else ():
                measured = walk.operation(definition)
                errors.extend(_errors(measured, self.limits, definition, cost=False))
                if errors:
                    break
        if errors:
            context.pre_execution_errors = errors
            yield
            return
        yield from super().on_validate()


def _errors(
    measured: Measurement, limits: QueryLimits, node: Any, *, cost: bool
) -> Iterator[GraphQLError]:
    checks: tuple[tuple[int, int, str, str], ...] = (
        (measured.depth, limits.max_depth, "QUERY_TOO_DEEP",
         f"Query is {measured.depth} levels deep; at most {limits.max_depth}."),
        (measured.aliases, limits.max_aliases, "TOO_MANY_ALIASES",
         f"Query uses {measured.aliases} aliases; at most {limits.max_aliases}."),
        (measured.fields, limits.max_fields, "TOO_MANY_FIELDS",
         f"Query selects {measured.fields} fields once its fragments are expanded; "
         f"at most {limits.max_fields}."),
        (measured.repeats, limits.max_repeated_fields, "TOO_MANY_REPEATED_FIELDS",
         f"Query selects one field up to {measured.repeats} times in one selection set; "
         f"at most {limits.max_repeated_fields}."),
        (measured.comparisons, limits.max_field_comparisons, "QUERY_TOO_COMPLEX",
         "Query selects the same fields too many times over (fragments included); "
         "select each field once per object."),
    )  # fmt: skip
    if cost:
        checks = (
            (measured.cost, limits.max_cost, "QUERY_TOO_COSTLY",
             f"Query may cost {measured.cost} upstream calls; at most {limits.max_cost}. "
             "Ask for fewer items (first) or fewer nested objects."),
        )  # fmt: skip
    for value, limit, code, message in checks:
        if value > limit:
            extensions: dict[str, object] = {"code": code, "limit": limit}
            if code == "QUERY_TOO_COSTLY":
                extensions["cost"] = value
            yield GraphQLError(message, node, extensions=extensions)


class CostLimit(SchemaExtension):
    """Refuses an operation whose cost, with its coerced variables, is over the limit.

    Runs after validation and before execution; variables that do not coerce are left to
    graphql-core's execution, which reports them (as BAD_USER_INPUT, see errors.coded).
    """

    def __init__(self, *, limits: QueryLimits) -> None:
        self.limits = limits

    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None and context.result is None:
            operation = get_operation_ast(document, context.operation_name)
            if operation is not None:
                schema = context.schema._schema
                coerced = get_variable_values(
                    schema, operation.variable_definitions or (), context.variables or {}
                )
                if not isinstance(coerced, list):  # a list holds coercion errors
                    measured = measure(
                        schema, document, operation, coerced.coerced, self.limits.max_page_size
                    )
                    errors = list(_errors(measured, self.limits, operation, cost=True))
                    if not errors:
                        errors = await _rate_limit(context.context, measured.cost, operation)
                    if errors and operation.operation is OperationType.SUBSCRIPTION:
                        # A stream ignores context.result; raised here, strawberry answers the
                        # subscription with this error and runs nothing.
                        raise errors[0]
                    if errors:
                        if operation.operation is OperationType.SUBSCRIPTION:
                            # Strawberry ignores a result set here for a subscription, but
                            # streams an error raised here as the subscription's only result.
                            raise errors[0]
                        context.result = ExecutionResult(data=None, errors=errors)
        yield


async def _rate_limit(request_context: Any, cost: int, node: Any) -> list[GraphQLError]:
    """Take the request's cost from its caller's buckets; a RATE_LIMITED error if they are dry."""
    admit = getattr(request_context, "admit", None)
    if admit is None:
        return []
    wait: float = await admit(cost)
    if wait <= 0:
        return []
    seconds = max(1, math.ceil(wait))
    response = getattr(request_context, "response", None)
    if response is not None:
        response.status_code = 429
        response.headers["Retry-After"] = str(seconds)
    return [
        GraphQLError(
            f"Too many requests for these credentials; retry in {seconds} s.",
            node,
            extensions={"code": "RATE_LIMITED", "retryAfter": seconds},
        )
    ]


# Bounds on the values a caller passes (variables and literals), for the `JSON` scalar above all,
# which takes any value: numbers VSee and JavaScript clients can hold exactly, and a nesting
# depth that no real input needs and that recursive code downstream can always handle.
MAX_INPUT_DEPTH = 32
MAX_SAFE_INTEGER = 2**53 - 1
_MAX_INT64 = 2**63 - 1
_MAX_INT_DIGITS = 19  # checked before int(): Python refuses to convert over 4300 digits


def input_problem(value: object) -> str | None:
    """Why a decoded variable value is out of bounds, or None; iterative, linear in its size."""
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_INPUT_DEPTH:
            return f"Input values may be nested at most {MAX_INPUT_DEPTH} levels deep."
        if isinstance(item, bool) or item is None or isinstance(item, str):
            continue
        if isinstance(item, int):
            if abs(item) > _MAX_INT64:
                return "Integers in input values must fit in 64 bits."
        elif isinstance(item, float):
            if not math.isfinite(item) or abs(item) > MAX_SAFE_INTEGER:
                return f"Numbers in input values must be at most {MAX_SAFE_INTEGER} in size."
        elif isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return None


def literal_problem(value: ValueNode) -> str | None:
    """Like ``input_problem``, for a value written in the query text."""
    stack: list[tuple[ValueNode, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_INPUT_DEPTH:
            return f"Input values may be nested at most {MAX_INPUT_DEPTH} levels deep."
        if isinstance(node, IntValueNode):
            digits = node.value.lstrip("-")
            if len(digits) > _MAX_INT_DIGITS or abs(int(node.value)) > _MAX_INT64:
                return "Integers in input values must fit in 64 bits."
        elif isinstance(node, FloatValueNode):
            number = float(node.value)
            if not math.isfinite(number) or abs(number) > MAX_SAFE_INTEGER:
                return f"Numbers in input values must be at most {MAX_SAFE_INTEGER} in size."
        elif isinstance(node, ObjectValueNode):
            stack.extend((child.value, depth + 1) for child in node.fields)
        elif isinstance(node, ListValueNode):
            stack.extend((child, depth + 1) for child in node.values)
    return None
