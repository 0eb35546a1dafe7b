"""Status meanings VSee's docs never state are described as inferred, never as VSee facts."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import GraphQLEnumType, build_schema

# schema.graphql is the served schema (tests/schema/test_sdl.py keeps them in sync).
SDL = Path(__file__).resolve().parents[2] / "schema.graphql"


@pytest.mark.parametrize("name", ["VisitStatus", "VisitStatusInput"])
def test_every_visit_status_meaning_says_it_is_inferred(name: str) -> None:
    enum = build_schema(SDL.read_text()).type_map[name]
    assert isinstance(enum, GraphQLEnumType)
    undisclosed = [
        key
        for key, value in enum.values.items()
        if key != "UNKNOWN" and "inferred" not in (value.description or "")
    ]
    assert undisclosed == []
