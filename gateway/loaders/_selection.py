"""Which of VSee's keys a GraphQL selection needs, so an object lacking one is completed.

VSee answers the same object with different key sets: a ``GET /visits`` row has no ``intake_id``
or ``room_code``, a walk-in answer no meeting, ``POST /intakes`` only the id and the custom
fields, an embedded provider no ``short_bio``. A field whose key the answer did not carry is
not null, it is unknown: the object must be read through its detail loader. A key present
with ``null`` is a real null and costs nothing.

Each object type declares a ``Spec``: for every GraphQL field, the keys that answer it (any one
of them present is enough) and, for value objects VSee embeds (a visit's payment, post-visit,
...), the spec of that object. ``needs(info, spec)`` turns the field's selection into
requirements once per field and request; ``lacks(raw, requirements)`` checks one object.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast

import strawberry
from graphql.pyutils import Path
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField

# The schema's resolver info; typed loosely so that loaders never import the schema.
Info = strawberry.Info[Any, Any]


@dataclass(frozen=True, slots=True)
class Source:
    """The keys that answer one field; ``nested`` when the value is an embedded object."""

    keys: tuple[str, ...]
    nested: Spec | None = None


Spec = Mapping[str, Source]


def keys(*names: str, nested: Spec | None = None) -> Source:
    return Source(names, nested)


# No key needed: computed, constant, or answered by a relation's own loader.
FREE = Source(())


@dataclass(frozen=True, slots=True)
class Requirement:
    keys: tuple[str, ...]
    nested: tuple[Requirement, ...] = ()


Requirements = tuple[Requirement, ...]


def _fields(selections: Iterable[Any]) -> Iterable[SelectedField]:
    """Selected fields, with fragments (named or inline) flattened."""
    stack = list(selections)
    while stack:
        selection = stack.pop()
        if isinstance(selection, SelectedField):
            yield selection
        elif isinstance(selection, FragmentSpread | InlineFragment):
            stack.extend(selection.selections)


def requirements(selections: Iterable[Any], spec: Spec) -> Requirements:
    """What an object must carry to answer ``selections`` without another call."""
    found: dict[tuple[str, ...], set[Requirement]] = {}
    for field in _fields(selections):
        source = spec.get(field.name)
        if source is None or not source.keys:
            continue
        nested: set[Requirement] = found.setdefault(source.keys, set())
        if source.nested is not None and field.selections:
            nested.update(requirements(field.selections, source.nested))
    return tuple(
        Requirement(keys_, tuple(sorted(nested, key=repr))) for keys_, nested in found.items()
    )


def lacks(raw: Mapping[str, Any], needed: Requirements) -> bool:
    """Whether ``raw`` misses a key some selected field needs (a present null is an answer)."""
    for requirement in needed:
        key = next((k for k in requirement.keys if k in raw), None)
        if key is None:
            return True
        value = raw[key]
        if requirement.nested and isinstance(value, Mapping) and lacks(value, requirement.nested):
            return True
    return False


def _path_key(info: Info) -> tuple[str, ...]:
    """The field's place in the document, list indexes left out: one key for all rows."""
    path: Path | None = info.path
    parts: list[str] = []
    while path is not None:
        if isinstance(path.key, str):
            parts.append(path.key)
        path = path.prev
    return tuple(parts)


def needs(info: Info, spec: Spec, *paths: tuple[str, ...]) -> Requirements:
    """The requirements of the current field's selection, computed once per field and request.

    ``paths`` descend first through fields of the current one (e.g. a connection's ``nodes``
    and ``edges.node``), so a list field can judge its rows before building them.
    """
    memo: dict[Any, Any] = info.context.source_memo
    key = (_path_key(info), paths, id(spec))
    found = memo.get(key)
    if found is None:
        top = [inner for field in info.selected_fields for inner in field.selections]
        selections: list[Any] = [] if paths else top
        for path in paths:
            level = top
            for name in path:
                level = [
                    inner
                    for field in _fields(level)
                    if field.name == name
                    for inner in field.selections
                ]
            selections.extend(level)
        found = requirements(selections, spec)
        memo[key] = found
    return found


def selected_names(info: Info) -> frozenset[str]:
    """The names of the fields selected on the current field's value, once per field."""
    memo = info.context.source_memo
    key = (_path_key(info), "names")
    found = memo.get(key)
    if found is None:
        found = frozenset(
            f.name for field in info.selected_fields for f in _fields(field.selections)
        )
        memo[key] = found
    return cast(frozenset[str], found)
