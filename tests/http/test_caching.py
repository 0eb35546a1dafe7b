"""Every route and method answers with caching headers no shared cache can misuse."""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from gateway.app import create_app
from gateway.settings import Settings

# What a shared cache must key on: every header that carries a credential, and Accept.
CREDENTIAL_HEADERS = ("X-ApiToken", "X-AccountCode", "X-ApiKey", "Authorization")
CREDENTIALS = {"X-ApiToken": "demo-member-token", "X-AccountCode": "vclinic"}
QUERY = "query Rooms { rooms { nodes { code } } }"
DIGEST = hashlib.sha256(QUERY.encode()).hexdigest()
APQ = json.dumps({"persistedQuery": {"version": 1, "sha256Hash": DIGEST}})


def _upstream(request: httpx.Request) -> httpx.Response:
    # Any answer will do: these tests look at the headers of what the gateway sends back.
    return httpx.Response(200, json={"data": []})


@contextlib.asynccontextmanager
async def _gateway(**overrides: object) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(api_url="http://upstream.invalid/api_v3", **overrides)  # type: ignore[arg-type]
    app = create_app(settings, upstream_transport=httpx.MockTransport(_upstream))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://gateway") as client,
    ):
        yield client


def _requests() -> list[tuple[str, str, dict[str, object]]]:
    """(method, url, httpx kwargs) for every route and kind of answer the public port gives."""
    return [
        ("POST", "/graphql", {"json": {"query": QUERY}}),
        ("GET", "/graphql", {"params": {"query": QUERY}}),
        ("POST", "/graphql", {"json": {"query": QUERY, "extensions": json.loads(APQ)}}),
        ("GET", "/graphql", {"params": {"extensions": APQ}}),
        ("POST", "/graphql", {"json": [{"query": QUERY}, {"query": "{ __typename }"}]}),
        ("POST", "/graphql", {"json": {"query": "{ nope }"}}),
        ("POST", "/graphql", {"content": b"{", "headers": {"content-type": "application/json"}}),
        ("PUT", "/graphql", {}),
        ("GET", "/graphql", {"params": {"query": QUERY}, "headers": {"accept": "text/csv"}}),
        ("POST", "/graphql", {"content": b"x" * 2_000_000}),
        ("GET", "/graphql", {"headers": {"accept": "text/html"}}),
        ("GET", "/graphiql/static/graphiql.min.css", {}),
        ("GET", "/graphiql/static/unknown.js", {}),
        ("GET", "/healthz", {}),
        ("GET", "/readyz", {}),
        ("GET", "/nowhere", {}),
    ]


def _assert_private(response: httpx.Response) -> None:
    assert response.headers["cache-control"] == "private, no-store", response.request.url
    vary = {part.strip().lower() for part in response.headers["vary"].split(",")}
    assert {"accept", *(name.lower() for name in CREDENTIAL_HEADERS)} <= vary


@pytest.mark.parametrize("credentialed", [True, False])
async def test_every_route_is_private_and_varies_on_credentials(
    web_modules: Path, credentialed: bool
) -> None:
    headers = CREDENTIALS if credentialed else {}
    async with _gateway() as client:
        for method, url, kwargs in _requests():
            extra = {**headers, **kwargs.pop("headers", {})}  # type: ignore[dict-item]
            response = await client.request(method, url, headers=extra, **kwargs)  # type: ignore[arg-type]
            vary = {part.strip().lower() for part in response.headers["vary"].split(",")}
            assert {"accept", *(name.lower() for name in CREDENTIAL_HEADERS)} <= vary, url
            if url.startswith("/graphiql/static/graphiql") and not credentialed:
                # GraphiQL's own files, the same for everyone: the one shared-cacheable answer.
                assert response.headers["cache-control"].startswith("public")
            else:
                _assert_private(response)


async def test_a_credentialed_apq_get_is_never_shared_cacheable() -> None:
    """The same APQ URL answers each tenant with its own rooms; no shared cache may keep it."""
    async with _gateway() as client:
        await client.post("/graphql", json={"query": QUERY, "extensions": json.loads(APQ)})
        response = await client.get("/graphql", params={"extensions": APQ}, headers=CREDENTIALS)
    assert response.status_code == 200
    _assert_private(response)
    assert "public" not in response.headers["cache-control"]
    assert "max-age" not in response.headers["cache-control"]


async def test_cors_vary_origin_is_kept_beside_the_credential_headers() -> None:
    async with _gateway(cors_origins=["https://app.example"]) as client:
        response = await client.post(
            "/graphql",
            json={"query": "{ __typename }"},
            headers={"Origin": "https://app.example"},
        )
    vary = {part.strip().lower() for part in response.headers["vary"].split(",")}
    assert "origin" in vary
    _assert_private(response)
