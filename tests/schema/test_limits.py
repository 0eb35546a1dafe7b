"""Query limits: depth, aliases and upstream-call cost, measured through fragments."""

import pytest
from graphql import get_introspection_query

from gateway.schema import QueryLimits, build_schema

LIMITS = QueryLimits(max_depth=6, max_aliases=2, max_cost=150)


async def codes(query: str, limits: QueryLimits = LIMITS) -> list[str]:
    result = await build_schema(limits=limits).execute(query)
    return [error.extensions["code"] for error in result.errors or [] if error.extensions]


async def test_cost_counts_list_sizes_times_lookups_through_fragments() -> None:
    query = """
      query { visits(first: 80) { nodes { ...Row } } }
      fragment Row on Visit { intake { id } provider { id } }
    """
    # 2 calls for the page (it may span two) + 80 rows x 2 lookups = 162 > 150.
    assert await codes(query) == ["QUERY_TOO_COSTLY"]
    small = (
        "query { visits(first: 10) { nodes { ...Row } } } fragment Row on Visit { intake { id } }"
    )
    assert "QUERY_TOO_COSTLY" not in await codes(small)


async def test_variable_page_sizes_use_their_default_or_the_maximum() -> None:
    row = "nodes { intake { id } provider { id } room { code } }"
    with_default = f"query($n: Int = 5) {{ visits(first: $n) {{ {row} }} }}"
    without = f"query($n: Int) {{ visits(first: $n) {{ {row} }} }}"
    assert "QUERY_TOO_COSTLY" not in await codes(with_default)
    assert "QUERY_TOO_COSTLY" in await codes(without)


async def test_depth_and_aliases() -> None:
    deep = "{ visit(id: 1) { intake { visit { intake { visit { intake { visit { id } } } } } } } }"
    assert "QUERY_TOO_DEEP" in await codes(deep)
    aliased = "{ a: currentVisit { id } b: currentVisit { id } c: currentVisit { id } }"
    assert "TOO_MANY_ALIASES" in await codes(aliased)


async def test_cyclic_fragments_do_not_hang_the_measure() -> None:
    query = """
      query { currentVisit { ...A } }
      fragment A on Visit { intake { visit { ...B } } }
      fragment B on Visit { intake { visit { ...A } } }
    """
    result = await build_schema(limits=LIMITS).execute(query)
    assert result.errors  # graphql-core's own rule reports the cycle


@pytest.mark.parametrize("limits", [QueryLimits()])
async def test_graphiqls_introspection_passes_the_default_limits(limits: QueryLimits) -> None:
    assert await codes(get_introspection_query(descriptions=True), limits) == []
