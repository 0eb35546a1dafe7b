"""Compiled execution: a plan per validated query that runs it as graphql-core would, cheaper.

graphql-core's executor redoes per request (and per row) what only depends on the document:
it looks each field up in the schema, wraps its resolver, builds a ``GraphQLResolveInfo`` for
every field (an attribute read included), walks the selection again for every object and
dispatches every value through the generic ``complete_value``. A plan does that once per
(document, operation, values of the ``@skip``/``@include`` variables): each field becomes a
record holding its definition, resolver, constant arguments and a completion function built
for its exact type, so executing is a walk over those records.

The walk keeps graphql-core's order of resolver calls and its coroutine/gather structure
exactly (fields of an object in document order, list items in order, every level gathered
before the next starts). The request's DataLoaders therefore see the same ``load`` calls in
the same event-loop ticks, and batch and deduplicate as before. Errors go through the
executor's own ``handle_field_error`` and ``CollectedErrors``, so messages, paths, locations,
non-null propagation and the order of errors are graphql-core's. Whatever a plan does not
cover is left to graphql-core (see ``_unsupported``); tests/execution runs both executors on
the same answers and requires identical results.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator
from operator import attrgetter
from typing import Any, ClassVar, cast

from cachetools import LRUCache
from graphql import (
    DirectiveNode,
    FieldNode,
    GraphQLAbstractType,
    GraphQLField,
    GraphQLLeafType,
    GraphQLList,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    Node,
    OperationDefinitionNode,
    OperationType,
    VariableNode,
    get_named_type,
    is_abstract_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
)
from graphql.execution.collect_fields import (
    FieldDetailsList,
    GroupedFieldSet,
    collect_fields,
    collect_subfields,
)
from graphql.execution.executor import invalid_return_type_error
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path, Undefined, gather_with_cancel, inspect
from graphql.type.introspection import TypeNameMetaFieldDef
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.field import StrawberryField

# A completion: (executor, value, path, info or None) -> completed value or an awaitable of it.
Info = GraphQLResolveInfo[Any]
Complete = Callable[["CompiledExecutor", Any, Path, Info | None], Any]

_CONDITIONS = frozenset({"skip", "include"})
# Argument values shared by every request must not be mutable: a resolver could change them.
_IMMUTABLE = (str, int, float, bool, type(None))


class _Field:
    """One response key of one object type, with everything that only depends on the document."""

    __slots__ = (
        "args",
        "complete",
        "details",
        "field_def",
        "first_node",
        "fragment_variables",
        "getter",
        "name",
        "needs_info",
        "nodes",
        "parent_type",
        "resolve",
        "return_type",
        "typename",
    )

    def __init__(
        self,
        name: str,
        details: FieldDetailsList,
        parent_type: GraphQLObjectType,
        field_def: GraphQLField,
    ) -> None:
        self.name = name
        self.details = details
        self.nodes: list[FieldNode] = [each.node for each in details]
        self.first_node = details[0].node
        self.fragment_variables = details[0].fragment_variable_values
        self.parent_type = parent_type
        self.field_def = field_def
        self.return_type: GraphQLOutputType = field_def.type
        # ``__typename`` is answered by the plan itself: its value is the parent type's name.
        self.typename = field_def is TypeNameMetaFieldDef
        self.args: dict[str, Any] | None = None
        self.resolve: Callable[..., Any] = _unset
        # A plain attribute read, when the resolver is strawberry's for a field without one.
        self.getter: Callable[[Any], Any] | None = None
        self.needs_info = True
        self.complete: Complete = _unset_complete


def _unset(*_args: Any, **_kwargs: Any) -> Any:  # pragma: no cover - replaced when compiled
    raise AssertionError("field not compiled")


def _unset_complete(*_args: Any) -> Any:  # pragma: no cover - replaced when compiled
    raise AssertionError("field not compiled")


class _Object:
    """The fields an object type answers for one selection, in response order."""

    __slots__ = ("fields", "type_name")

    def __init__(self, type_name: str, fields: list[_Field]) -> None:
        self.type_name = type_name
        self.fields = fields


class _Plan:
    """A compiled operation: its root selection, sub-selections compiled on first use."""

    __slots__ = ("operation", "root")

    def __init__(self, operation: OperationDefinitionNode, root: _Object) -> None:
        # Held so the id() the plan is cached under cannot be reused by another operation.
        self.operation = operation
        self.root = root


class _Shape:
    """What a plan's cache key needs to know about an operation, found once per operation."""

    __slots__ = ("conditions", "operation", "unsupported")

    def __init__(
        self, operation: OperationDefinitionNode, conditions: tuple[str, ...], unsupported: str
    ) -> None:
        self.operation = operation
        self.conditions = conditions
        self.unsupported = unsupported


class CompiledExecutor(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor, running queries from cached plans; everything else as before.

    Use ``compiled_executor()`` to get a subclass with caches of its own (one per schema).
    """

    shapes: ClassVar[LRUCache[int, _Shape]]
    plans: ClassVar[LRUCache[tuple[Any, ...], _Plan]]
    # How many operations ran compiled and how many fell back, by reason (tests read these).
    counts: ClassVar[dict[str, int]]

    # -- entry point ------------------------------------------------------------------------

    def execute_root_grouped_field_set(
        self,
        root_type: GraphQLObjectType,
        root_value: Any,
        grouped_field_set: GroupedFieldSet,
        serially: bool,
        position_context: Any,
    ) -> Any:
        plan = self._plan(root_type, serially)
        if plan is None:
            return super().execute_root_grouped_field_set(
                root_type, root_value, grouped_field_set, serially, position_context
            )
        return self._fields(plan.root, root_value, None)

    def _plan(self, root_type: GraphQLObjectType, serially: bool) -> _Plan | None:
        operation = self.operation
        shape = self.shapes.get(id(operation))
        if shape is None or shape.operation is not operation:
            shape = _shape(operation, self)
            self.shapes[id(operation)] = shape
        reason = shape.unsupported or ("serial" if serially else "") or self._unsupported()
        if reason:
            self._count(reason)
            return None
        coerced = self.variable_values.coerced
        key = (id(operation), *(coerced.get(name, Undefined) for name in shape.conditions))
        plan = self.plans.get(key)
        if plan is None or plan.operation is not operation:
            plan = _Plan(operation, self._compile_object(root_type, root=True))
            self.plans[key] = plan
        self._count("compiled")
        return plan

    def _unsupported(self) -> str:
        """Why this execution must run on graphql-core's executor ('' when it need not)."""
        manager = self.middleware_manager
        if manager is not None and manager._middleware_resolvers is not None:
            return "middleware"
        if self.abort_signal is not None or self.hooks is not None:
            return "abort-signal-or-hooks"
        if self.enable_early_execution or not self.error_propagation:
            return "execution-options"
        return ""

    @classmethod
    def _count(cls, reason: str) -> None:
        cls.counts[reason] = cls.counts.get(reason, 0) + 1

    # -- compiling --------------------------------------------------------------------------

    def _compile_object(
        self,
        object_type: GraphQLObjectType,
        details: FieldDetailsList | None = None,
        *,
        root: bool = False,
    ) -> _Object:
        if root:
            grouped = collect_fields(
                self.schema,
                self.fragments,
                self.variable_values,
                object_type,
                self.operation,
                self.hide_suggestions,
            ).grouped_field_set
        else:
            grouped = collect_subfields(
                self.schema,
                self.fragments,
                self.variable_values,
                self.operation,
                object_type,
                cast(FieldDetailsList, details),
                self.hide_suggestions,
            ).grouped_field_set
        fields: list[_Field] = []
        for name, field_details in grouped.items():
            field_def = self.schema.get_field(object_type, field_details[0].node.name.value)
            if field_def is None:
                # graphql-core skips a field the type does not have (validation rules it out).
                continue
            fields.append(self._compile_field(name, field_details, object_type, field_def))
        return _Object(object_type.name, fields)

    def _compile_field(
        self,
        name: str,
        details: FieldDetailsList,
        parent_type: GraphQLObjectType,
        field_def: GraphQLField,
    ) -> _Field:
        field = _Field(name, details, parent_type, field_def)
        if field.typename:
            return field
        resolve = field_def.resolve or self.field_resolver
        basic = bool(getattr(resolve, "_is_default", False))
        field.resolve = resolve
        if basic and not field_def.args:
            field.getter = _attribute_getter(resolve)
        field.args = _constant_arguments(field_def, field.first_node)
        field.complete = self._completer(field.return_type, field)
        # Strawberry's resolver of a plain attribute ignores its info; completion needs one
        # only for abstract types and types with an is_type_of check.
        field.needs_info = not basic or _completion_needs_info(field.return_type)
        return field

    def _completer(self, return_type: GraphQLOutputType, field: _Field) -> Complete:
        if is_non_null_type(return_type):
            return _non_null(self._completer(return_type.of_type, field), field)
        if is_list_type(return_type):
            item_type = return_type.of_type
            return _list(
                return_type,
                item_type,
                self._completer(item_type, field),
                field,
            )
        if is_leaf_type(return_type):
            return _leaf(return_type)
        if is_abstract_type(return_type):
            return _abstract(return_type, field)
        if is_object_type(return_type):
            return _object(return_type, field)
        raise TypeError(f"Cannot compile output type {inspect(return_type)}.")  # pragma: no cover

    # -- running ----------------------------------------------------------------------------

    def _fields(self, obj: _Object, source: Any, path: Path | None) -> Any:
        """graphql-core's ``execute_fields`` over compiled fields."""
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        type_name = obj.type_name
        try:
            for field in obj.fields:
                name = field.name
                if field.typename:
                    results[name] = type_name
                    continue
                result = self._field(field, source, Path(path, name, type_name))
                results[name] = result
                if is_awaitable(result):
                    awaitable_fields.append(name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[name] for name in awaitable_fields])
            raise
        if not awaitable_fields:
            return results

        async def get_results() -> dict[str, Any]:
            if len(awaitable_fields) == 1:
                name = awaitable_fields[0]
                results[name] = await results[name]
            else:
                awaited = await gather_with_cancel(*(results[name] for name in awaitable_fields))
                results.update(zip(awaitable_fields, awaited, strict=True))
            return results

        return get_results()

    def _field(self, field: _Field, source: Any, path: Path) -> Any:
        """graphql-core's ``execute_field`` for one compiled field."""
        info = (
            self.build_resolve_info(field.field_def, field.nodes, field.parent_type, path)
            if field.needs_info
            else None
        )
        try:
            args = field.args
            if args is None:
                args = get_argument_values(
                    field.field_def,
                    field.first_node,
                    self.variable_values,
                    field.fragment_variables,
                    self.hide_suggestions,
                )
            getter = field.getter
            result = getter(source) if getter is not None else field.resolve(source, info, **args)
            if self.is_awaitable(result):
                return self._complete_awaitable(field, info, path, result)
            completed = field.complete(self, result, path, info)
            if self.is_awaitable(completed):
                return self._await_completed(field, completed, path)
        except Exception as raw_error:
            self.handle_field_error(raw_error, field.return_type, field.details, path)
            return None
        return completed

    async def _complete_awaitable(
        self, field: _Field, info: Info | None, path: Path, result: Any
    ) -> Any:
        try:
            completed = field.complete(self, await result, path, info)
            if self.is_awaitable(completed):
                completed = await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, field.return_type, field.details, path)
            completed = None
        return completed

    async def _await_completed(self, field: _Field, completed: Awaitable[Any], path: Path) -> Any:
        try:
            return await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, field.return_type, field.details, path)
            return None

    def info_at(self, field: _Field, path: Path) -> Info:
        """The info graphql-core gives ``field`` (its path is the field's, not an item's)."""
        while isinstance(path.key, int):
            path = cast(Path, path.prev)
        return self.build_resolve_info(field.field_def, field.nodes, field.parent_type, path)


# -- completions (graphql-core's complete_value, specialised per type at compile time) --------


def _non_null(inner: Complete, field: _Field) -> Complete:
    message = (
        f"Cannot return null for non-nullable field {field.parent_type}."
        f"{field.first_node.name.value}."
    )

    def complete_non_null(ex: CompiledExecutor, result: Any, path: Path, info: Info | None) -> Any:
        if isinstance(result, Exception):
            raise result
        completed = inner(ex, result, path, info)
        if completed is None:
            raise TypeError(message)
        return completed

    return complete_non_null


def _leaf(return_type: GraphQLLeafType) -> Complete:
    coerce = return_type.coerce_output_value

    def complete_leaf(ex: CompiledExecutor, result: Any, path: Path, info: Info | None) -> Any:
        if isinstance(result, Exception):
            raise result
        if result is None or result is Undefined:
            return None
        coerced = coerce(result)
        if coerced is Undefined or coerced is None:
            msg = (
                f"Expected `{inspect(return_type)}.coerce_output_value("
                f"{inspect(result)})` to return non-nullable value, returned:"
                f" {inspect(coerced)}"
            )
            raise TypeError(msg)
        return coerced

    return complete_leaf


def _list(
    return_type: GraphQLList[Any], item_type: GraphQLOutputType, item: Complete, field: _Field
) -> Complete:
    def complete_list(ex: CompiledExecutor, result: Any, path: Path, info: Info | None) -> Any:
        if isinstance(result, Exception):
            raise result
        if result is None or result is Undefined:
            return None
        if type(result) is not list:
            # Tuples, generators, async iterables, non-iterables: graphql-core's own path.
            return ex.complete_value(
                return_type,
                field.details,
                info if info is not None else ex.info_at(field, path),
                path,
                result,
                None,
            )
        is_awaitable = ex.is_awaitable
        completed_results: list[Any] = []
        append = completed_results.append
        awaitable_indices: list[int] = []
        iterator = iter(result)
        index = 0
        try:
            for value in iterator:
                item_path = path.add_key(index, None)
                if is_awaitable(value):
                    append(
                        _complete_awaitable_item(ex, item, item_type, field, info, item_path, value)
                    )
                    awaitable_indices.append(index)
                else:
                    try:
                        completed = item(ex, value, item_path, info)
                        if is_awaitable(completed):
                            append(_await_item(ex, completed, item_type, field, item_path))
                            awaitable_indices.append(index)
                        else:
                            append(completed)
                    except Exception as raw_error:
                        ex.handle_field_error(raw_error, item_type, field.details, item_path)
                        append(None)
                index += 1
        except Exception:
            pending = [completed_results[i] for i in awaitable_indices]
            pending.extend(_awaitables_left(iterator, is_awaitable))
            if pending:
                ex.settle_in_background(pending)
            raise
        if not awaitable_indices:
            return completed_results

        async def get_completed_results() -> list[Any]:
            if len(awaitable_indices) == 1:
                at = awaitable_indices[0]
                completed_results[at] = await completed_results[at]
            else:
                awaited = await gather_with_cancel(
                    *(completed_results[at] for at in awaitable_indices)
                )
                for at, value in zip(awaitable_indices, awaited, strict=True):
                    completed_results[at] = value
            return completed_results

        return get_completed_results()

    return complete_list


def _awaitables_left(iterator: Iterator[Any], is_awaitable: Callable[[Any], bool]) -> list[Any]:
    return [value for value in iterator if is_awaitable(value)]


async def _complete_awaitable_item(
    ex: CompiledExecutor,
    item: Complete,
    item_type: GraphQLOutputType,
    field: _Field,
    info: Info | None,
    item_path: Path,
    value: Awaitable[Any],
) -> Any:
    try:
        completed = item(ex, await value, item_path, info)
        if ex.is_awaitable(completed):
            completed = await completed
    except Exception as raw_error:
        ex.handle_field_error(raw_error, item_type, field.details, item_path)
        return None
    return completed


async def _await_item(
    ex: CompiledExecutor,
    completed: Awaitable[Any],
    item_type: GraphQLOutputType,
    field: _Field,
    item_path: Path,
) -> Any:
    try:
        return await completed
    except Exception as raw_error:
        ex.handle_field_error(raw_error, item_type, field.details, item_path)
        return None


def _object(object_type: GraphQLObjectType, field: _Field) -> Complete:
    is_type_of = object_type.is_type_of
    # Compiled on first use: a plan compiles only the selections its answers reach.
    compiled: list[_Object] = []

    def complete_object(ex: CompiledExecutor, result: Any, path: Path, info: Info | None) -> Any:
        if isinstance(result, Exception):
            raise result
        if result is None or result is Undefined:
            return None
        if not compiled:
            compiled.append(ex._compile_object(object_type, field.details))
        return _object_value(ex, object_type, is_type_of, compiled[0], field, result, path, info)

    return complete_object


def _abstract(abstract_type: GraphQLAbstractType, field: _Field) -> Complete:
    compiled: dict[str, _Object] = {}

    def for_type(ex: CompiledExecutor, runtime_type: GraphQLObjectType) -> _Object:
        found = compiled.get(runtime_type.name)
        if found is None:
            found = ex._compile_object(runtime_type, field.details)
            compiled[runtime_type.name] = found
        return found

    def complete_abstract(ex: CompiledExecutor, result: Any, path: Path, info: Info | None) -> Any:
        if isinstance(result, Exception):
            raise result
        if result is None or result is Undefined:
            return None
        if info is None:
            info = ex.info_at(field, path)
        resolve_type = abstract_type.resolve_type or ex.type_resolver
        runtime_name = resolve_type(result, info, abstract_type)
        if ex.is_awaitable(runtime_name):
            return _complete_later(
                ex, abstract_type, runtime_name, for_type, field, result, path, info
            )
        runtime_type = ex.ensure_valid_runtime_type(
            runtime_name, abstract_type, field.details, info, result
        )
        return _object_value(
            ex,
            runtime_type,
            runtime_type.is_type_of,
            for_type(ex, runtime_type),
            field,
            result,
            path,
            info,
        )

    return complete_abstract


async def _complete_later(
    ex: CompiledExecutor,
    abstract_type: GraphQLAbstractType,
    runtime_name: Awaitable[Any],
    for_type: Callable[[CompiledExecutor, GraphQLObjectType], _Object],
    field: _Field,
    result: Any,
    path: Path,
    info: Info,
) -> Any:
    runtime_type = ex.ensure_valid_runtime_type(
        await runtime_name, abstract_type, field.details, info, result
    )
    value = _object_value(
        ex,
        runtime_type,
        runtime_type.is_type_of,
        for_type(ex, runtime_type),
        field,
        result,
        path,
        info,
    )
    if ex.is_awaitable(value):
        return await value
    return value


def _object_value(
    ex: CompiledExecutor,
    object_type: GraphQLObjectType,
    is_type_of: Callable[..., Any] | None,
    obj: _Object,
    field: _Field,
    result: Any,
    path: Path,
    info: Info | None,
) -> Any:
    """graphql-core's ``complete_object_value`` with the sub-selection already compiled."""
    if is_type_of is not None:
        if info is None:
            info = ex.info_at(field, path)
        matches = is_type_of(result, info)
        if ex.is_awaitable(matches):
            return _object_value_later(ex, object_type, matches, obj, field, result, path)
        if not matches:
            raise invalid_return_type_error(object_type, result, field.details)
    return ex._fields(obj, result, path)


async def _object_value_later(
    ex: CompiledExecutor,
    object_type: GraphQLObjectType,
    matches: Awaitable[Any],
    obj: _Object,
    field: _Field,
    result: Any,
    path: Path,
) -> Any:
    if not await matches:
        raise invalid_return_type_error(object_type, result, field.details)
    value = ex._fields(obj, result, path)
    if ex.is_awaitable(value):
        return await value
    return value


# -- compile-time helpers ---------------------------------------------------------------------


def _attribute_getter(resolve: Callable[..., Any]) -> Callable[[Any], Any] | None:
    """``attrgetter(name)`` for strawberry's resolver of a field without a resolver of its own.

    That resolver (``_get_basic_result``) calls ``field.get_result(source, None, [], {})``,
    which for such a field is ``default_resolver(source, python_name)``; only when every piece
    is strawberry's own is the shortcut the same call.
    """
    for cell in getattr(resolve, "__closure__", None) or ():
        field = cell.cell_contents
        if isinstance(field, StrawberryField):
            if (
                type(field).get_result is StrawberryField.get_result
                and field.base_resolver is None
                and field.default_resolver is getattr
            ):
                return attrgetter(field.python_name)
            return None
    return None


def _completion_needs_info(return_type: GraphQLOutputType) -> bool:
    named = get_named_type(return_type)
    if is_abstract_type(named):
        return True
    return is_object_type(named) and named.is_type_of is not None


def _constant_arguments(field_def: GraphQLField, node: FieldNode) -> dict[str, Any] | None:
    """The field's arguments when no request can change them (no variables, immutable values).

    Computed by graphql-core's own ``get_argument_values`` (defaults included); ``None`` means
    "compute per request", as graphql-core always does.
    """
    if not field_def.args and not node.arguments:
        return {}
    if any(_has_variable(argument.value) for argument in node.arguments or ()):
        return None
    try:
        values = get_argument_values(field_def, node, None)
    except Exception:  # left to the request, which reports it as graphql-core does
        return None
    if not all(isinstance(value, _IMMUTABLE) for value in values.values()):
        return None
    return values


def _has_variable(node: Node) -> bool:
    if isinstance(node, VariableNode):
        return True
    for key in node.keys:
        value = getattr(node, key, None)
        if isinstance(value, Node) and _has_variable(value):
            return True
        if isinstance(value, tuple | list) and any(
            isinstance(each, Node) and _has_variable(each) for each in value
        ):
            return True
    return False


def _shape(operation: OperationDefinitionNode, ex: CompiledExecutor) -> _Shape:
    """The variables the selection depends on (@skip/@include), or why it is not compiled."""
    if operation.operation is not OperationType.QUERY:
        return _Shape(operation, (), operation.operation.value)
    if operation.directives:
        return _Shape(operation, (), "operation-directives")
    for details in ex.fragments.values():
        if details.variable_signatures:
            return _Shape(operation, (), "fragment-arguments")
    for selection in operation.selection_set.selections:
        if isinstance(selection, FieldNode) and selection.name.value in ("__schema", "__type"):
            return _Shape(operation, (), "introspection")
    names: list[str] = []
    roots: list[Node] = [operation.selection_set]
    roots.extend(each.definition.selection_set for each in ex.fragments.values())
    for root in roots:
        for directive in _directives(root):
            if directive.name.value not in _CONDITIONS:
                return _Shape(operation, (), "directives")
            for argument in directive.arguments or ():
                names.extend(_variables(argument.value))
    if any(
        isinstance(selection, FieldNode) and selection.name.value in ("__schema", "__type")
        for root in roots
        for selection in _selections(root)
    ):
        return _Shape(operation, (), "introspection")
    return _Shape(operation, tuple(sorted(set(names))), "")


def _directives(node: Node) -> Iterable[DirectiveNode]:
    for selection in _selections(node):
        yield from getattr(selection, "directives", None) or ()


def _selections(node: Node) -> Iterable[Node]:
    stack = list(getattr(node, "selections", None) or ())
    while stack:
        selection = stack.pop()
        yield selection
        inner = getattr(selection, "selection_set", None)
        if inner is not None:
            stack.extend(inner.selections)


def _variables(node: Node) -> Iterable[str]:
    if isinstance(node, VariableNode):
        yield node.name.value
        return
    for key in node.keys:
        value = getattr(node, key, None)
        if isinstance(value, Node):
            yield from _variables(value)
        elif isinstance(value, tuple | list):
            for each in value:
                if isinstance(each, Node):
                    yield from _variables(each)


def compiled_executor(max_plans: int = 512) -> type[CompiledExecutor]:
    """A ``CompiledExecutor`` class with caches of its own: one per schema.

    Plans are cached per operation node; the parser cache hands every request of the same
    document the same nodes, so a known document compiles once. The caches are bounded.
    """
    return cast(
        type[CompiledExecutor],
        type(
            "CompiledExecutor",
            (CompiledExecutor,),
            {
                "shapes": LRUCache(maxsize=max_plans),
                "plans": LRUCache(maxsize=max_plans),
                "counts": {},
            },
        ),
    )
