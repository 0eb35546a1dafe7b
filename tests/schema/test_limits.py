"""Query limits: depth, aliases and upstream-call cost, measured through fragments."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from graphql import (
    FragmentDefinitionNode,
    OperationDefinitionNode,
    get_introspection_query,
    get_operation_ast,
    parse,
)

from gateway.schema import QueryLimits, build_schema, limits

LIMITS = QueryLimits(max_depth=6, max_aliases=2, max_cost=150)


async def codes(
    query: str, limits: QueryLimits = LIMITS, variables: dict[str, object] | None = None
) -> list[str]:
    result = await build_schema(limits=limits).execute(query, variable_values=variables)
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


async def test_page_sizes_are_the_callers_real_variables_not_declared_defaults() -> None:
    row = "nodes { intake { id } provider { id } room { code } }"
    query = f"query($n: Int = 1) {{ visits(first: $n) {{ {row} }} }}"
    # Sent with n=100 the page really holds 100 rows: 2 + 100 x 3 = 302 > 150.
    assert await codes(query, variables={"n": 100}) == ["QUERY_TOO_COSTLY"]
    assert "QUERY_TOO_COSTLY" not in await codes(query, variables={"n": 10})
    # Without a value the declared default is what runs.
    assert "QUERY_TOO_COSTLY" not in await codes(query)


async def test_page_sizes_are_bounded_by_the_configured_maximum() -> None:
    query = "query($n: Int!) { visits(first: $n) { nodes { intake { id } provider { id } } } }"
    small_pages = QueryLimits(max_depth=6, max_aliases=2, max_cost=150, max_page_size=50)
    # Pages over the maximum are refused by the resolver before any call: at most 50 rows.
    measured = limits.measure(
        build_schema()._schema, parse(query), _operation(query), {"n": 1000}, 50
    )
    assert measured.cost == 2 + 50 * 2
    assert "QUERY_TOO_COSTLY" not in await codes(query, small_pages, variables={"n": 1000})
    big_pages = QueryLimits(max_depth=6, max_aliases=2, max_cost=150, max_page_size=1000)
    assert await codes(query, big_pages, variables={"n": 1000}) == ["QUERY_TOO_COSTLY"]


def _operation(query: str) -> OperationDefinitionNode:
    operation = get_operation_ast(parse(query))
    assert operation is not None
    return operation


def _nested(repeats: int, levels: int) -> str:
    """``repeats`` copies of each field at every level, ``levels`` deep."""
    inner = "id " * repeats
    for _ in range(levels):
        inner = ("intake { visit { " + inner + "} } ") * repeats
    return "{ " + ("currentVisit { " + inner + "} ") * repeats + " }"


def test_the_apps_operations_and_introspection_repeat_nothing() -> None:
    schema = build_schema()._schema
    paths = sorted((Path(__file__).resolve().parents[2] / "operations").glob("*.graphql"))
    for query in [*(p.read_text() for p in paths), get_introspection_query(descriptions=True)]:
        measured = limits.measure(schema, parse(query), _operation(query), None)
        assert (measured.repeats, measured.comparisons) == (1, 0)


def _fan_out(levels: int, width: int = 10) -> str:
    """F0 holds one field; each F(n) spreads F(n-1) ``width`` times: width**levels fields."""
    lines = [
        f"query FanOut {{ ...F{levels} }}",
        "fragment F0 on Query { rooms { nodes { code } } }",
    ]
    for level in range(1, levels + 1):
        spreads = " ".join(f"...F{level - 1}" for _ in range(width))
        lines.append(f"fragment F{level} on Query {{ {spreads} }}")
    return "\n".join(lines)


def test_a_fragment_fan_out_is_walked_once_per_selection() -> None:
    """8 levels of ten spreads each name 10**8 fields; the walk visits each node once."""
    query = _fan_out(8)
    document = parse(query)
    nodes = sum(
        len(definition.selection_set.selections)
        for definition in document.definitions
        if isinstance(definition, (OperationDefinitionNode, FragmentDefinitionNode))
    )
    measured = limits.measure(build_schema()._schema, document, _operation(query), {})
    assert measured.visits <= nodes + 2  # + rooms' own `nodes { code }`
    # The real expansion (2 calls per `rooms`: a window may span two of VSee's pages),
    # computed without expanding it.
    assert measured.cost == 2 * 10**8
    # One level more doubles nothing but the document: work grows with its size, not 10x.
    deeper = _fan_out(9)
    deeper_measured = limits.measure(build_schema()._schema, parse(deeper), _operation(deeper), {})
    assert deeper_measured.visits == measured.visits + 10


async def test_a_fragment_fan_out_is_refused_before_graphql_cores_rules() -> None:
    # `rooms` is selected 10**8 times in the root selection set.
    assert "TOO_MANY_REPEATED_FIELDS" in await codes(_fan_out(8), QueryLimits())
    # Within the repeat limit, the same fan-out is still refused: by its real cost.
    wide = QueryLimits(max_repeated_fields=10**9, max_field_comparisons=10**30, max_fields=10**12)
    assert await codes(_fan_out(8), wide) == ["QUERY_TOO_COSTLY"]


@pytest.mark.parametrize(
    "query",
    [
        "{ " + "rooms { totalCount } " * 999 + "}",  # one field 999 times: seconds in graphql-core
        "{ " + "__schema { types { name } } " * 700 + "}",
        "{ " + " ".join("...on Query { rooms { nodes { code } } }" for _ in range(300)) + " }",
        " ".join(f"fragment R{i} on Query {{ rooms {{ nodes {{ code }} }} }}" for i in range(300))
        + " { "
        + " ".join(f"...R{i}" for i in range(300))
        + " }",
        # Few repeats, nested: graphql-core compares their subtrees pairwise (2 s for 12 kB).
        _nested(4, 3),
        _nested(3, 3),
    ],
)
def test_repeated_fields_are_refused_before_validation_runs(query: str) -> None:
    """graphql-core's OverlappingFieldsCanBeMerged is quadratic in repeats of one field."""
    validated: list[object] = []
    original = limits.ValidationCache.on_validate

    def spy(self: object) -> Iterator[None]:
        validated.append(self)
        yield from original(self)  # type: ignore[arg-type]

    limits.ValidationCache.on_validate = spy  # type: ignore[method-assign]
    try:
        result = build_schema().execute_sync(query)
    finally:
        limits.ValidationCache.on_validate = original  # type: ignore[method-assign]
    refused = {e.extensions["code"] for e in result.errors or [] if e.extensions}
    assert refused
    assert refused <= {"TOO_MANY_REPEATED_FIELDS", "QUERY_TOO_COMPLEX", "TOO_MANY_FIELDS"}
    assert validated == []  # graphql-core's rules never saw it


async def test_a_few_repeats_as_clients_write_them_are_fine() -> None:
    query = (
        "query { currentVisit { id __typename ...A ...B ...C } }"
        " fragment A on Visit { id __typename code } fragment B on Visit { id __typename status }"
        " fragment C on Visit { id __typename start }"
    )
    assert "TOO_MANY_REPEATED_FIELDS" not in await codes(query, QueryLimits())


async def test_aliases_inside_introspection_are_counted() -> None:
    inner = " ".join(f"a{i}: __schema {{ t{i}: types {{ n{i}: name }} }}" for i in range(40))
    result = await codes(f"{{ {inner} }}", QueryLimits())
    assert result == ["TOO_MANY_ALIASES"]
    nested = " ".join(f"t{i}: types {{ name }}" for i in range(31))
    assert await codes(f"{{ __schema {{ {nested} }} }}", QueryLimits()) == ["TOO_MANY_ALIASES"]


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


def _doubling_fragments(levels: int) -> str:
    """Each fragment spreads the next twice: a few hundred bytes selecting 2**levels fields."""
    parts = ["query Q { visits(first: 1) { nodes { ...F0 } } }"]
    parts += [f"fragment F{i} on Visit {{ id ...F{i + 1} ...F{i + 1} }}" for i in range(levels)]
    parts.append(f"fragment F{levels} on Visit {{ id }}")
    return "\n".join(parts)


def test_expanded_field_count_is_measured_in_linear_time() -> None:
    query = _doubling_fragments(40)
    measured = limits.measure(build_schema()._schema, parse(query), _operation(query), {})
    # 2**41 - 1 ids plus visits and nodes, counted from memoized fragment summaries...
    assert measured.fields == 2**41 - 1 + 2
    # ...while the walk touches each selection node of the document once.
    assert measured.visits == 2 + 1 + 3 * 40 + 1


async def test_fragment_fan_out_is_refused_before_execution() -> None:
    # Expanded, this document selects 2**19 fields: strawberry's selected_fields (used by the
    # resolvers to read their selection) would build them all. Refused in validation instead.
    assert "TOO_MANY_FIELDS" in await codes(_doubling_fragments(18))
    assert "TOO_MANY_FIELDS" not in await codes(_doubling_fragments(6))


async def test_a_document_of_many_operations_is_refused_before_validation() -> None:
    # graphql-core walks each operation's fragments: operations x fragment chain.
    operations = " ".join(f"query Q{i} {{ ...F0 }}" for i in range(300))
    chain = " ".join(f"fragment F{i} on Query {{ ...F{i + 1} }}" for i in range(150))
    query = f"{operations} {chain} fragment F150 on Query {{ __typename }}"
    result = await build_schema().execute(query, operation_name="Q1")
    assert [e.extensions["code"] for e in result.errors or [] if e.extensions] == [
        "TOO_MANY_OPERATIONS"
    ]


@pytest.mark.parametrize(
    "query",
    [
        "query($l: Int, $f: Int, $b: String) { rooms(last: $l, first: $f, before: $b) "
        "{ nodes { providers { id } } } }",
        "query($l: Int, $f: Int, $b: String) { rooms(first: $f, last: $l, before: $b) "
        "{ nodes { providers { id } } } }",
    ],
)
def test_a_null_first_does_not_hide_the_page_last_asks_for(query: str) -> None:
    # Review of issue 13: `first: null` read after `last: 100` reset the page to the default
    # 20, so a page of 100 rooms, each listing its providers, was charged as 20 of them.
    measured = limits.measure(
        build_schema()._schema, parse(query), _operation(query), {"l": 100, "f": None, "b": "x"}
    )
    assert measured.cost == 2 + 100 * 1
