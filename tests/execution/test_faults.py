"""Broken VSee answers (missing keys, wrong types, nulls, failed rows, 4xx/5xx) answer the same
compiled and uncompiled: the same partial data, null propagation, errors and VSee calls."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ADMIN, MEMBER, PROVIDER
from tests.execution.conftest import Pair
from tests.execution.mangler import Mangler
from tests.execution.test_operations import QUERIES, week
from tests.servers import ServerThread

MODES = [
    "drop",
    "retype",
    "nulls",
    "rows",
    "status:400",
    "status:401",
    "status:403",
    "status:404",
    "status:429",
    "status:500",
    "status:503",
]


@pytest.fixture
def proxy(mangler: tuple[Mangler, ServerThread]) -> Iterator[Mangler]:
    yield mangler[0]
    mangler[0].mode = ""


def _variables(text: str, visit_id: str) -> dict[str, Any]:
    variables: dict[str, Any] = {}
    if "$start" in text:
        variables.update(week())
    if "$id" in text:
        variables["id"] = visit_id
    return variables


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("token", [MEMBER, PROVIDER, ADMIN])
def test_example_operations_on_broken_answers(
    faulty_pair: Pair, proxy: Mangler, mode: str, token: str
) -> None:
    found = faulty_pair.same("{ visits(first: 1) { nodes { id } } }", token=token).body
    visit_id = found["data"]["visits"]["nodes"][0]["id"]
    proxy.mode = mode
    errors = 0
    for path in QUERIES:
        text = Path(path).read_text()
        outcome = faulty_pair.same(text, _variables(text, visit_id), token=token)
        errors += len(outcome.body.get("errors") or [])
    # The faults reached the answers (a test that cannot fail would prove nothing).
    if mode.startswith("status:") or mode == "rows":
        assert errors
