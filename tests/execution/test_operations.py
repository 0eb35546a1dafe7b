"""Every example operation (operations/*.graphql) answers the same compiled and uncompiled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ADMIN, MEMBER, PROVIDER
from tests.execution.conftest import Pair

OPERATIONS = Path(__file__).resolve().parents[2] / "operations"
QUERIES = sorted(path for path in OPERATIONS.glob("*.graphql") if "query " in path.read_text())


def week() -> dict[str, str]:
    start = datetime.now(tz=UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
    return {"start": start.isoformat(), "end": (start + timedelta(days=7)).isoformat()}


def _variables(pair: Pair, text: str, token: str) -> dict[str, Any]:
    variables: dict[str, Any] = {}
    if "$start" in text:
        variables.update(week())
    if "$id" in text:
        # Through both gateways, so both hold the same caches afterwards.
        found = pair.same("{ visits(first: 1) { nodes { id } } }", token=token).body
        variables["id"] = found["data"]["visits"]["nodes"][0]["id"]
    return variables


@pytest.mark.parametrize("path", QUERIES, ids=lambda path: path.stem)
@pytest.mark.parametrize("token", [MEMBER, PROVIDER, ADMIN])
def test_example_operation(pair: Pair, path: Path, token: str) -> None:
    text = path.read_text()
    variables = _variables(pair, text, token)
    compiled = pair.counts.get("compiled", 0)
    outcome = pair.same(text, variables, token=token)
    assert outcome.body.get("data"), outcome.body
    assert pair.counts["compiled"] == compiled + 1


def test_mutations_run_on_graphql_cores_executor(pair: Pair) -> None:
    fallbacks = pair.counts.get("mutation", 0)
    pair.same("mutation Probe { __typename }", token=MEMBER)
    assert pair.counts["mutation"] == fallbacks + 1


def test_introspection_runs_on_graphql_cores_executor(pair: Pair) -> None:
    fallbacks = pair.counts.get("introspection", 0)
    pair.same("query Types { __schema { queryType { name } } __typename }", token=MEMBER)
    assert pair.counts["introspection"] == fallbacks + 1


SEMANTICS = [
    # @skip/@include with variables: one plan per set of condition values.
    (
        """query Conditional($withMember: Boolean!, $skipProvider: Boolean!) {
             visits(first: 5) { nodes { id
               member @include(if: $withMember) { id fullName }
               provider @skip(if: $skipProvider) { id fullName }
               ... @include(if: $withMember) { code } } } }""",
        [
            {"withMember": True, "skipProvider": False},
            {"withMember": False, "skipProvider": True},
            {"withMember": True, "skipProvider": True},
        ],
    ),
    # Fragments on the Node interface, __typename, aliases and merged selections.
    (
        """query Nodes($id: ID!) {
             first: node(id: $id) { __typename id ...VisitBits ... on Visit { code status } }
             again: node(id: $id) { ... on Node { id } ... on Visit { member { id } } }
             visit(id: $id) { id provider { id } provider { fullName } } }
           fragment VisitBits on Visit { start end provider { __typename id title } }""",
        [{}],
    ),
    # A broken id: a coded error at its path, null data there, siblings kept.
    (
        """query Broken { visit(id: "bm90LWFuLWlk") { id } visits(first: 2) { totalCount } }""",
        [{}],
    ),
]


@pytest.mark.parametrize(("query", "variable_sets"), SEMANTICS)
def test_semantics(pair: Pair, query: str, variable_sets: list[dict[str, Any]]) -> None:
    found = pair.same("{ visits(first: 1) { nodes { id } } }", token=PROVIDER).body
    visit_id = found["data"]["visits"]["nodes"][0]["id"]
    for variables in variable_sets:
        compiled = pair.counts.get("compiled", 0)
        outcome = pair.same(
            query, {**variables, "id": visit_id} if "$id" in query else variables, token=PROVIDER
        )
        assert "data" in outcome.body
        assert pair.counts["compiled"] == compiled + 1
