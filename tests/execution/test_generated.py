"""Generated operations (hypothesis-graphql) answer the same compiled and uncompiled.

Every query hypothesis-graphql builds from the schema runs on both gateways against the same
sandbox; the answers (data, errors, status) and the upstream calls must be identical. Ids are
drawn from the sandbox's real ones (and a few broken ones), times from a window with data, so
most operations reach VSee rather than stopping at argument checks. The example count is fixed
(the ``differential`` profile) and derandomized so CI runs the same operations every time.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import graphql
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import nodes, queries

from gateway.schema import export_sdl
from tests.conftest import ADMIN, MEMBER, PROVIDER
from tests.execution.conftest import Pair

# CI runs EXAMPLES operations (under a minute on 2 cores); VSEE_DIFFERENTIAL_EXAMPLES=20000
# runs more.
EXAMPLES = int(os.environ.get("VSEE_DIFFERENTIAL_EXAMPLES", "700"))
settings.register_profile(
    "differential",
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

SCHEMA = graphql.build_schema(export_sdl())
# Query.nodes gathers its loads without cancelling the rest when one fails: those keep calling
# VSee after the answer is sent, so the calls counted for it depend on timing, not on the
# executor (the answers themselves are compared in test_semantics.py).
ROOT_FIELDS = sorted(set(SCHEMA.query_type.fields) - {"nodes"})  # type: ignore[union-attr]


def _times() -> st.SearchStrategy[graphql.ValueNode]:
    now = datetime.now(tz=UTC).replace(minute=0, second=0, microsecond=0)
    instants = [
        now + timedelta(days=days, hours=hours) for days in (-30, 0, 1, 3, 8) for hours in (0, 9)
    ]
    texts = [each.isoformat() for each in instants] + ["2026-13-40T00:00:00Z", "yesterday", ""]
    return st.sampled_from(texts).map(nodes.String)


@pytest.fixture(scope="module")
def ids(pair: Pair) -> list[str]:
    found: set[str] = set()
    # Through both gateways: whatever a request leaves in a gateway's caches, both must hold.
    body = pair.same(
        """query Ids { visits(first: 30) { nodes { id memberId providerId intakeId
             provider { id } room { id } intake { id } } }
           rooms(first: 100) { nodes { id } } }""",
        token=ADMIN,
    ).body
    data = body.get("data") or {}
    for visit in (data.get("visits") or {}).get("nodes") or []:
        for key in ("id", "memberId", "providerId", "intakeId"):
            if visit.get(key):
                found.add(visit[key])
        for related in ("provider", "room", "intake"):
            if visit.get(related):
                found.add(visit[related]["id"])
    for room in (data.get("rooms") or {}).get("nodes") or []:
        found.add(room["id"])
    return sorted(found)


def test_generated_queries(pair: Pair, ids: list[str]) -> None:
    assert ids
    id_values = st.sampled_from([*ids, "bm90LWFuLWlk", "Visit:1", "", "0"]).map(nodes.String)
    codes = st.sampled_from(["vclinicroom", "sunroom", "", "no-such-room"]).map(nodes.String)
    strategy = queries(
        SCHEMA,
        fields=ROOT_FIELDS,
        custom_scalars={
            "ID": id_values,
            "DateTime": _times(),
            "Date": st.sampled_from(["1990-01-01", "2026-02-30", "x"]).map(nodes.String),
            "Decimal": st.sampled_from(["25.00", "-1", "abc"]).map(nodes.String),
            "JSON": st.sampled_from(["{}", "[]", "1"]).map(nodes.String),
            "String": codes,
        },
    )
    compiled_before = pair.counts.get("compiled", 0)
    runs = 0

    @settings(settings.get_profile("differential"))
    @given(query=strategy, token=st.sampled_from([MEMBER, PROVIDER, ADMIN]))
    def check(query: str, token: str) -> None:
        nonlocal runs
        runs += 1
        pair.same(query, token=token)

    check()
    assert runs >= EXAMPLES
    # Most generated queries pass validation and the limits, and so ran compiled.
    assert pair.counts["compiled"] - compiled_before > runs // 2
