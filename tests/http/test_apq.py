"""Automatic persisted queries: hash lookup, registration, and refusals."""

import hashlib

import pytest

from gateway.cache import MemoryCache
from gateway.http._apq import PersistedQueries, PersistedQueryError

QUERY = "{ currentVisit { id } }"
DIGEST = hashlib.sha256(QUERY.encode()).hexdigest()


def ext(digest: str = DIGEST, version: object = 1) -> dict[str, object]:
    return {"persistedQuery": {"version": version, "sha256Hash": digest}}


async def test_unknown_hash_then_register_then_hash_alone() -> None:
    apq = PersistedQueries(MemoryCache())
    with pytest.raises(PersistedQueryError) as info:
        await apq.resolve(None, ext())
    assert info.value.code == "PERSISTED_QUERY_NOT_FOUND"
    assert info.value.status == 200
    assert await apq.resolve(QUERY, ext()) == QUERY
    assert await apq.resolve(None, ext()) == QUERY


async def test_plain_requests_pass_through() -> None:
    apq = PersistedQueries(MemoryCache())
    assert await apq.resolve(QUERY, None) == QUERY
    assert await apq.resolve(QUERY, {"other": 1}) == QUERY


@pytest.mark.parametrize(
    ("query", "extensions"),
    [
        (QUERY, ext("0" * 64)),
        (None, ext("not-hex")),
        (None, ext(version=2)),
        (None, {"persistedQuery": "yes"}),
    ],
)
async def test_refusals(query: str | None, extensions: dict[str, object]) -> None:
    apq = PersistedQueries(MemoryCache())
    with pytest.raises(PersistedQueryError) as info:
        await apq.resolve(query, extensions)
    assert info.value.status == 400


async def test_a_mismatched_hash_registers_nothing() -> None:
    apq = PersistedQueries(MemoryCache())
    with pytest.raises(PersistedQueryError):
        await apq.resolve("{ rooms { code } }", ext())
    with pytest.raises(PersistedQueryError):
        await apq.resolve(None, ext())
