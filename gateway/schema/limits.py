"""Refuses abusive or mistaken queries before execution: depth, aliases and upstream-call cost.

The cost of a query is an upper bound on the VSee calls it may cause: each field that can call
VSee counts its calls, multiplied by the size of the lists above it. A refused query costs no
upstream call because validation runs before any resolver.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    VariableNode,
)


@dataclass(frozen=True, slots=True)
class QueryLimits:
    max_depth: int = 12
    max_aliases: int = 30
    max_cost: int = 1000


# Upstream calls one resolution of a field may make.
FIELD_CALLS: Mapping[str, int] = {
    "Query.visit": 1,
    "Query.visits": 2,  # an offset between page boundaries spans two pages
    "Query.currentVisit": 1,
    "Query.intake": 1,
    "Query.room": 1,
    "Query.rooms": 1,
    "Query.availability": 1,
    "Visit.intake": 1,
    "Visit.provider": 1,
    "Visit.room": 1,
    "Visit.member": 1,  # the visit's detail when its answer embeds too little of the member
    "Visit.relatedWalkin": 1,
    "Intake.visit": 1,
    "Room.providers": 1,
    "Room.specialties": 1,
    "Room.consultations": 1,
    # Providers are fetched once per id per request, so slots share them: bound by a room's size.
    "Slot.providers": 10,
    "IntakePayload.intake": 1,
    "VisitPayload.visit": 1,
    "Mutation.createIntake": 1,
    "Mutation.updateIntake": 1,
    "Mutation.addWalkin": 1,
    "Mutation.addEconsult": 1,
    "Mutation.createAppointment": 1,
    "Mutation.updateAppointment": 1,
    "Mutation.closeVisit": 1,
}
# How many items a list field is assumed to hold, when no argument says.
LIST_SIZES: Mapping[str, int] = {
    "Query.rooms": 10,
    "Room.providers": 20,
    # Slot children that cost calls are deduplicated per request (see Slot.providers above).
    "Query.availability": 1,
    # The connection's lists are the page itself, already counted by `first` on Query.visits.
    "VisitConnection.nodes": 1,
    "VisitConnection.edges": 1,
}
DEFAULT_LIST_SIZE = 20
MAX_PAGE_GUESS = 100


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
        context: ValidationContext,
        fragments: dict[str, FragmentDefinitionNode],
        variable_defaults: dict[str, int],
    ) -> None:
        self.context = context
        self.fragments = fragments
        self.variable_defaults = variable_defaults
        self.aliases = 0
        self.max_depth = 0

    def selection(
        self,
        parent: Any,
        selections: SelectionSetNode | None,
        depth: int,
        seen: frozenset[str],
    ) -> int:
        """The cost of one resolution of ``selections`` on ``parent``; tracks depth and aliases."""
        if selections is None:
            return 0
        cost = 0
        for node in selections.selections:
            if isinstance(node, FieldNode):
                cost += self.field(parent, node, depth, seen)
            elif isinstance(node, InlineFragmentNode):
                target = parent
                if node.type_condition is not None:
                    target = self.context.schema.get_type(node.type_condition.name.value) or parent
                cost += self.selection(target, node.selection_set, depth, seen)
            elif isinstance(node, FragmentSpreadNode):
                name = node.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in seen:
                    continue  # unknown or cyclic spreads are reported by graphql's own rules
                target = self.context.schema.get_type(fragment.type_condition.name.value)
                cost += self.selection(target, fragment.selection_set, depth, seen | {name})
        return cost

    def field(self, parent: Any, node: FieldNode, depth: int, seen: frozenset[str]) -> int:
        name = node.name.value
        if node.alias is not None:
            self.aliases += 1
        if name.startswith("__"):
            return 0  # introspection is served from memory, and its depth is fixed by GraphiQL
        self.max_depth = max(self.max_depth, depth)
        if not isinstance(parent, GraphQLObjectType) or name not in parent.fields:
            return 0
        key = f"{parent.name}.{name}"
        child, is_list = _named(parent.fields[name].type)
        size = self._list_size(key, node) if is_list or key == "Query.visits" else 1
        inner = self.selection(child, node.selection_set, depth + 1, seen)
        return FIELD_CALLS.get(key, 0) + size * inner

    def _list_size(self, key: str, node: FieldNode) -> int:
        if key == "Query.visits":
            for argument in node.arguments or ():
                if argument.name.value == "first":
                    value = argument.value
                    if isinstance(value, IntValueNode):
                        return max(1, int(value.value))
                    if isinstance(value, VariableNode):
                        # Validation runs (and is cached) before variables are known: take the
                        # declared default, else the largest page a caller could ask for.
                        return self.variable_defaults.get(value.name.value, MAX_PAGE_GUESS)
            return 20
        return LIST_SIZES.get(key, DEFAULT_LIST_SIZE)


def limits_rule(limits: QueryLimits) -> type[ValidationRule]:
    """A graphql-core validation rule enforcing ``limits`` on every operation."""

    class QueryLimitsRule(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: object) -> None:
            context = self.context
            fragments = {
                d.name.value: d
                for d in context.document.definitions
                if isinstance(d, FragmentDefinitionNode)
            }
            root = context.schema.get_root_type(node.operation)
            defaults = {
                v.variable.name.value: max(1, int(v.default_value.value))
                for v in node.variable_definitions or ()
                if isinstance(v.default_value, IntValueNode)
            }
            measure = _Measure(context, fragments, defaults)
            cost = measure.selection(root, node.selection_set, 1, frozenset())
            checks = (
                (measure.max_depth, limits.max_depth, "QUERY_TOO_DEEP",
                 f"Query is {measure.max_depth} levels deep; at most {limits.max_depth}."),
                (measure.aliases, limits.max_aliases, "TOO_MANY_ALIASES",
                 f"Query uses {measure.aliases} aliases; at most {limits.max_aliases}."),
                (cost, limits.max_cost, "QUERY_TOO_COSTLY",
                 f"Query may cost {cost} upstream calls; at most {limits.max_cost}. "
                 "Ask for fewer items (first) or fewer nested objects."),
            )  # fmt: skip
            for value, limit, code, message in checks:
                if value > limit:
                    extensions: dict[str, object] = {"code": code, "limit": limit}
                    if code == "QUERY_TOO_COSTLY":
                        extensions["cost"] = cost
                    context.report_error(GraphQLError(message, node, extensions=extensions))

    return QueryLimitsRule
