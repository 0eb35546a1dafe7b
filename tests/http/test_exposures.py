"""The rest of the HTTP surface: CORS for Apollo clients, GraphiQL's headers, no server paths,
and /metrics only on its own listener."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.routing import Route

from gateway.app import create_app
from gateway.http import WEB_DIR, GraphiQL, GraphQLView
from gateway.schema import build_schema
from gateway.settings import Settings

MakeClient = Callable[..., Awaitable[httpx.AsyncClient]]
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


async def test_cors_lets_apollo_clients_name_themselves(make_client: MakeClient) -> None:
    client = await make_client(cors_origins=["https://app.example"])
    preflight = await client.options(
        "/graphql",
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": (
                "content-type,x-apitoken,apollographql-client-name,apollographql-client-version"
            ),
        },
    )
    assert preflight.status_code == 200, preflight.text
    allowed = preflight.headers["access-control-allow-headers"].lower()
    assert "apollographql-client-name" in allowed
    assert "apollographql-client-version" in allowed


async def test_the_graphiql_page_has_security_headers(
    web_modules: Path, client: httpx.AsyncClient
) -> None:
    page = await client.get("/graphql", headers={"accept": BROWSER})
    assert page.status_code == 200
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["referrer-policy"] == "no-referrer"
    csp = dict(
        part.strip().split(" ", 1) for part in page.headers["content-security-policy"].split(";")
    )
    assert csp["default-src"] == "'none'"
    assert csp["frame-ancestors"] == "'none'"
    assert csp["connect-src"] == "'self'"
    # Scripts: the gateway's own files, plus the page's one inline script by its hash.
    inline = re.findall(r"<script>(.*?)</script>", page.text, re.S)
    assert len(inline) == 1
    digest = base64.b64encode(hashlib.sha256(inline[0].encode()).digest()).decode()
    assert csp["script-src"] == f"'self' 'sha256-{digest}'"


async def test_no_server_path_in_the_page_or_the_not_installed_answers(
    web_modules: Path, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    page = await client.get("/graphql", headers={"accept": BROWSER})
    assert str(WEB_DIR) not in page.text
    assert str(WEB_DIR.parent) not in page.text
    missing = GraphiQL(tmp_path / "somewhere" / "node_modules")
    view = GraphQLView(build_schema(), graphiql=missing)
    app = Starlette(routes=[Route("/graphql", view), *missing.routes()])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app), base_url="http://gateway"
    ) as bare:
        for response in (
            await bare.get("/graphql", headers={"accept": BROWSER}),
            await bare.get("/graphiql/static/graphiql.min.js"),
        ):
            assert response.status_code in (404, 503)
            assert "npm ci" in response.text
            assert str(tmp_path) not in response.text
            assert "/tmp" not in response.text


@contextlib.asynccontextmanager
async def _app(**overrides: object) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    settings = Settings(api_url="http://upstream.invalid/api_v3", **overrides)  # type: ignore[arg-type]
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://g") as client,
    ):
        yield app, client


async def test_metrics_are_served_only_on_their_own_port() -> None:
    async with _app() as (app, client):
        public = await client.get("/metrics")
        assert public.status_code == 404  # before: the world could scrape it
        await client.post("/graphql", json={"query": "{ __typename }"})
        async with httpx.AsyncClient() as scraper:
            url = f"http://127.0.0.1:{app.state.metrics_port}"
            metrics = await scraper.get(f"{url}/metrics")
            assert metrics.status_code == 200
            assert "gateway_graphql_requests_total" in metrics.text
            assert metrics.headers["cache-control"] == "no-store"
            assert (await scraper.get(f"{url}/graphql")).status_code == 404
            assert (await scraper.post(f"{url}/metrics")).status_code == 405


async def test_replicas_of_one_host_share_the_metrics_port() -> None:
    from tests.servers import free_port

    port = free_port()
    async with _app(metrics_port=port) as (first, _), _app(metrics_port=port) as (second, _):
        assert first.state.metrics_port == second.state.metrics_port == port


async def test_metrics_off_means_no_listener() -> None:
    async with _app(metrics=False) as (app, client):
        assert not hasattr(app.state, "metrics_port")
        assert (await client.get("/metrics")).status_code == 404
