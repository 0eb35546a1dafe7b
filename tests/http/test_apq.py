"""Persisted queries: hash lookup, registration only of valid documents, byte budgets, Redis."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Awaitable, Callable

import httpx
import pytest
import redis

from gateway.app import create_app
from gateway.http._apq import (
    REDIS_PREFIX,
    MemoryDocuments,
    PersistedQueries,
    PersistedQueryError,
    RedisDocuments,
)
from gateway.redis_policy import RedisPolicyError, check_redis_policy
from gateway.settings import Settings
from tests.redis_server import RedisServer

MakeClient = Callable[..., Awaitable[httpx.AsyncClient]]
QUERY = "{ __typename }"
DIGEST = hashlib.sha256(QUERY.encode()).hexdigest()


def ext(digest: str = DIGEST, version: object = 1) -> dict[str, object]:
    return {"persistedQuery": {"version": version, "sha256Hash": digest}}


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


async def test_unknown_hash_then_register_then_hash_alone() -> None:
    apq = PersistedQueries()
    with pytest.raises(PersistedQueryError) as info:
        await apq.resolve(None, ext())
    assert info.value.code == "PERSISTED_QUERY_NOT_FOUND"
    assert info.value.status == 200
    resolved = await apq.resolve(QUERY, ext())
    assert (resolved.query, resolved.register) == (QUERY, DIGEST)
    # Resolving alone stores nothing: only the view registers, once the document ran.
    with pytest.raises(PersistedQueryError):
        await apq.resolve(None, ext())
    await apq.register(DIGEST, QUERY)
    assert (await apq.resolve(None, ext())).query == QUERY


async def test_plain_requests_pass_through() -> None:
    apq = PersistedQueries()
    assert (await apq.resolve(QUERY, None)).query == QUERY
    assert (await apq.resolve(QUERY, {"other": 1})).query == QUERY


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
    apq = PersistedQueries()
    with pytest.raises(PersistedQueryError) as info:
        await apq.resolve(query, extensions)
    assert info.value.status == 400


async def test_register_refuses_a_mismatched_or_oversized_document() -> None:
    apq = PersistedQueries(max_query_bytes=300)
    await apq.register(DIGEST, "{ rooms { nodes { code } } }")
    big = "{ __typename }" + " " * 400
    await apq.register(sha(big), big)
    for digest in (DIGEST, sha(big)):
        with pytest.raises(PersistedQueryError):
            await apq.resolve(None, ext(digest))


async def test_the_memory_store_is_bounded_by_bytes() -> None:
    store = MemoryDocuments(max_bytes=10_000, ttl=60)
    for i in range(50):
        text = f"# {i}\n" + "{ __typename }" + " " * 1000
        await store.put(sha(text), text)
    assert store.bytes <= 10_000
    assert len(store) < 10


async def test_junk_with_a_matching_hash_is_never_registered(client: httpx.AsyncClient) -> None:
    """Before: any text whose hash matched was stored before parsing or validation."""
    for junk in ("x" * 20_000, "{ nope }", "query { " + "a: __typename " * 40 + "}"):
        answer = await client.post("/graphql", json={"query": junk, "extensions": ext(sha(junk))})
        assert answer.json()["errors"][0]["extensions"]["code"] != "INTERNAL_SERVER_ERROR"
        again = await client.get("/graphql", params={"extensions": json.dumps(ext(sha(junk)))})
        assert again.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    registered = await client.post("/graphql", json={"query": QUERY, "extensions": ext()})
    assert registered.json() == {"data": {"__typename": "Query"}}
    by_hash = await client.get("/graphql", params={"extensions": json.dumps(ext())})
    assert by_hash.json() == {"data": {"__typename": "Query"}}


async def test_queries_over_the_byte_limit_are_413(make_client: MakeClient) -> None:
    client = await make_client(max_query_bytes=1024)
    long = "{ __typename }" + " " * 2000
    answer = await client.post("/graphql", json={"query": long})
    assert answer.status_code == 413
    assert answer.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_LARGE"


async def test_redis_documents_have_their_own_namespace_and_byte_budget(
    redis_server: RedisServer,
) -> None:
    redis_server.flush()
    store = RedisDocuments(redis_server.url, max_bytes=20_000, ttl=3600)
    try:
        for i in range(100):
            text = f"# {i}\n" + "{ __typename }" + " " * 1000
            await store.put(sha(text), text)
        raw = redis.Redis(port=redis_server.port)
        try:
            keys = {key.decode() for key in raw.keys("*")}
            assert keys
            assert all(key.startswith(REDIS_PREFIX) for key in keys)
            docs = raw.hgetall(f"{REDIS_PREFIX}{{docs}}:docs")
            assert sum(len(body) for body in docs.values()) <= 20_000
            assert int(raw.get(f"{REDIS_PREFIX}{{docs}}:bytes") or 0) == sum(
                len(body) for body in docs.values()
            )
        finally:
            raw.close()
        latest = "# 99\n" + "{ __typename }" + " " * 1000
        assert await store.get(sha(latest)) == latest
        assert await store.get(sha("# 0\n{ __typename }" + " " * 1000)) is None
    finally:
        await store.aclose()


async def test_redis_down_reads_as_a_miss() -> None:
    errors: list[str] = []
    store = RedisDocuments(
        "redis://127.0.0.1:1/0", max_bytes=10_000, ttl=60, on_error=errors.append
    )
    try:
        await store.put(DIGEST, QUERY)
        assert await store.get(DIGEST) is None
    finally:
        await store.aclose()
    assert errors == ["persisted_put", "persisted_get"]


async def test_an_evicting_redis_is_refused_at_start_up(redis_server: RedisServer) -> None:
    raw = redis.Redis(port=redis_server.port)
    try:
        assert await check_redis_policy(redis_server.url) == "noeviction"
        raw.config_set("maxmemory-policy", "allkeys-lru")
        with pytest.raises(RedisPolicyError, match="noeviction"):
            await check_redis_policy(redis_server.url)
        # The gateway itself does not start on it.
        app = create_app(
            Settings(api_url="http://upstream.invalid/api_v3", cache_url=redis_server.url)
        )
        with pytest.raises(RedisPolicyError):
            async with app.router.lifespan_context(app):
                pass
        raw.config_set("maxmemory-policy", "volatile-lru")
        assert await check_redis_policy(redis_server.url) == "volatile-lru"
    finally:
        raw.config_set("maxmemory-policy", "noeviction")
        raw.close()
    assert await check_redis_policy("redis://127.0.0.1:1/0") is None


async def test_a_redis_that_persists_nothing_is_warned_about(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Before: nothing said that a Redis restart forgets every Idempotency-Key, after which a
    retry runs its mutation a second time (seen: two intakes for one key)."""
    raw = redis.Redis(port=redis_server.port)
    try:
        with caplog.at_level(logging.WARNING, logger="gateway.redis"):
            await check_redis_policy(redis_server.url)  # the test server: --save "" --appendonly no
        assert "persists nothing" in caplog.text
        caplog.clear()
        raw.config_set("appendonly", "yes")
        with caplog.at_level(logging.WARNING, logger="gateway.redis"):
            await check_redis_policy(redis_server.url)
        assert "persists nothing" not in caplog.text
    finally:
        raw.config_set("appendonly", "no")
        raw.close()
