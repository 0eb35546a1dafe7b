"""GraphiQL from the gateway itself: the page, its example tabs, its assets, and switching off."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from gateway.http import STATIC_PATH, GraphiQL, GraphQLView, graphql_routes
from gateway.http._graphiql import ASSETS, DEMO_HEADERS, _script_json, example_tabs
from gateway.schema import build_schema
from gateway.settings import Settings
from tests.conftest import MEMBER
from tests.servers import Gateway

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
MakeClient = Callable[..., Awaitable[httpx.AsyncClient]]


def page_config(html: str) -> dict[str, Any]:
    found = re.search(r'<script id="graphiql-config" type="application/json">(.*?)</script>', html)
    assert found, html
    config: dict[str, Any] = json.loads(found.group(1))
    return config


def operation_name(query: str) -> str:
    found = re.search(r"query (\w+)", query)
    assert found, query
    return found.group(1)


def graphiql_app(graphiql: GraphiQL) -> httpx.AsyncClient:
    """Just the view and the asset route: enough for pages, which never touch services."""
    view = GraphQLView(build_schema(), graphiql=graphiql)
    app = Starlette(routes=[Route("/graphql", view), *graphiql.routes()])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://gateway")


async def test_the_page_loads_everything_from_the_gateway(
    web_modules: Path, client: httpx.AsyncClient
) -> None:
    response = await client.get("/graphql", headers={"accept": BROWSER})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "private, no-store"
    sources = re.findall(r'(?:src|href)="([^"]+)"', response.text)
    assert sources, response.text
    for source in sources:
        assert source.startswith(f"{STATIC_PATH}/") or source == "data:,", source
    # Nothing from a CDN: clinics' networks cannot reach one.
    assert "https://" not in response.text.replace("https://github.com", "")
    for name in ASSETS:
        assert f"{STATIC_PATH}/{name}?v=" in response.text


async def test_the_page_preloads_the_screens_and_demo_credentials(
    web_modules: Path, client: httpx.AsyncClient
) -> None:
    response = await client.get("/graphql", headers={"accept": BROWSER})
    config = page_config(response.text)
    assert config["endpoint"] == "/graphql"
    assert json.loads(config["headers"]) == DEMO_HEADERS
    names = [operation_name(tab["query"]) for tab in config["tabs"]]
    assert names == ["MobileHome", "VisitDetail", "Dashboard"]
    for tab in config["tabs"]:
        assert json.loads(tab["headers"]) == DEMO_HEADERS
        json.loads(tab["variables"])


def test_mobile_home_asks_for_the_next_seven_days() -> None:
    now = datetime(2026, 3, 1, 12, 30, 15, 999, tzinfo=UTC)
    home = example_tabs(now)[0]
    assert "currentVisit" in home["query"]
    assert "visits(first: 5, filter: {upcoming: true})" in home["query"]
    assert "provider {" in home["query"]
    assert "intake {" in home["query"]
    assert json.loads(home["variables"]) == {
        "start": "2026-03-01T12:30:15Z",
        "end": "2026-03-08T12:30:15Z",
    }


@pytest.mark.parametrize("root_path", ["", "/api"])
async def test_page_urls_follow_the_mount_point(web_modules: Path, root_path: str) -> None:
    app = Starlette(routes=graphql_routes(build_schema(), Settings()))
    transport = httpx.ASGITransport(app, root_path=root_path)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        response = await client.get(f"{root_path}/graphql", headers={"accept": BROWSER})
    config = page_config(response.text)
    assert config["endpoint"] == f"{root_path}/graphql"
    assert f'src="{root_path}{STATIC_PATH}/graphiql.min.js?v=' in response.text


def test_config_cannot_close_its_script_element() -> None:
    text = _script_json({"query": "</script><script>alert(1)</script> <!-- x"})
    assert "<" not in text
    assert json.loads(text) == {"query": "</script><script>alert(1)</script> <!-- x"}


async def test_missing_assets_are_explained_not_a_blank_page(tmp_path: Path) -> None:
    async with graphiql_app(GraphiQL(tmp_path / "node_modules")) as client:
        response = await client.get("/graphql", headers={"accept": BROWSER})
        assert response.status_code == 503
        assert response.headers["content-type"].startswith("text/html")
        assert "GraphiQL is not installed" in response.text
        assert "npm ci" in response.text
        for path in ASSETS.values():
            assert f"node_modules/{path}" in response.text
        asset = await client.get(f"{STATIC_PATH}/graphiql.min.js")
        assert asset.status_code == 404
        assert "npm ci" in asset.text


async def test_the_page_itself_reports_scripts_that_did_not_load(
    web_modules: Path, client: httpx.AsyncClient
) -> None:
    # If the scripts vanish after the page was served, the page says so instead of staying blank.
    response = await client.get("/graphql", headers={"accept": BROWSER})
    assert "!window.React || !window.ReactDOM || !window.GraphiQL" in response.text
    assert "GraphiQL could not start" in response.text


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("graphiql.min.js", "text/javascript"),
        ("graphiql.min.css", "text/css"),
        ("react.production.min.js", "text/javascript"),
        ("react-dom.production.min.js", "text/javascript"),
    ],
)
async def test_assets_are_served(
    web_modules: Path, client: httpx.AsyncClient, name: str, content_type: str
) -> None:
    response = await client.get(f"{STATIC_PATH}/{name}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(content_type)
    assert response.headers["cache-control"] == "public, max-age=86400"
    assert response.content == (web_modules / ASSETS[name]).read_bytes()
    head = await client.head(f"{STATIC_PATH}/{name}")
    assert head.status_code == 200


@pytest.mark.parametrize(
    "name",
    [
        "package.json",
        "graphiql.js",
        "..%2Fpackage.json",
        "..%2F..%2Fpyproject.toml",
        "graphiql%2Fpackage.json",
    ],
)
async def test_only_allow_listed_files_are_served(
    web_modules: Path, client: httpx.AsyncClient, name: str
) -> None:
    response = await client.get(f"{STATIC_PATH}/{name}")
    assert response.status_code == 404


async def test_graphiql_off_serves_no_page_and_no_assets(
    web_modules: Path, make_client: MakeClient
) -> None:
    client = await make_client(graphiql=False)
    response = await client.get("/graphql", headers={"accept": BROWSER})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    assert (await client.get(f"{STATIC_PATH}/graphiql.min.js")).status_code == 404


def test_example_tabs_run_against_the_sandbox(gateway: Gateway) -> None:
    tabs = example_tabs(datetime.now(UTC))
    results: dict[str, dict[str, Any]] = {}
    visit_id = None
    for tab in [tabs[0], tabs[2], tabs[1]]:
        variables = json.loads(tab["variables"])
        if "id" in variables:
            assert visit_id, "the dashboard tab found no visit"
            variables["id"] = visit_id
        response = gateway.http.post(
            f"{gateway.url}/graphql",
            json={"query": tab["query"], "variables": variables},
            headers=json.loads(tab["headers"]),
        )
        body = response.json()
        assert response.status_code == 200, body
        assert "errors" not in body, body
        name = operation_name(tab["query"])
        results[name] = body["data"]
        if name == "Dashboard":
            visit_id = body["data"]["visits"]["edges"][0]["node"]["id"]
    assert results["MobileHome"]["availability"], "a week with no open slot"
    assert results["VisitDetail"]["visit"]["id"] == visit_id
    assert DEMO_HEADERS["X-ApiToken"] == MEMBER
