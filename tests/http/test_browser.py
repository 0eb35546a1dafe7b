"""GraphiQL in a real headless Chromium, offline: the page runs a query against the gateway."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

from tests.http.conftest import node
from tests.http.stream_schema import GENERATORS
from tests.http.streams import MEMBER, serve_streams, wait_for
from tests.servers import Gateway


def test_graphiql_runs_a_query_in_chromium(
    web_modules: Path, chromium: Path, gateway: Gateway, tmp_path: Path
) -> None:
    screenshot = tmp_path / "graphiql.png"
    run = node(
        "browser.mjs",
        f"{gateway.url}/graphql",
        "{ rooms { nodes { code name } } }",
        str(screenshot),
    )
    report = json.loads(run.stdout)
    assert report["status"] == 200
    # The prefilled demo credentials reached the sandbox: these are vclinic's rooms.
    result = json.loads(report["result"])
    assert "errors" not in result, result
    rooms = {room["code"]: room["name"] for room in result["data"]["rooms"]["nodes"]}
    assert rooms["vclinicroom"] == "VClinic UAT"
    assert any("demo-member-token" in text for text in report["tools"])
    assert {"VisitDetail", "Dashboard"} <= {tab.split()[0] for tab in report["tabs"]}
    # Everything came from the gateway itself; nothing was fetched from anywhere else.
    origin = urlsplit(gateway.url).netloc
    assert report["requests"]
    assert {urlsplit(url).netloc for url in report["requests"]} == {origin}
    assert report["problems"] == []
    assert screenshot.stat().st_size > 0


def test_graphiql_runs_a_subscription_in_chromium(web_modules: Path, chromium: Path) -> None:
    subscription = "subscription Count { count(to: 3) { n account } }"
    with serve_streams(graphiql_headers=MEMBER) as gateway:
        started, closed = GENERATORS.started, GENERATORS.closed
        # The results replace each other in the pane; the last one is n = 2.
        run = node("browser.mjs", gateway.url, subscription, "-", '"n": 2')
        report = json.loads(run.stdout)
        assert report["problems"] == []
        result = json.loads(report["result"])
        assert result == {"data": {"count": {"n": 2, "account": "vclinic"}}}
        # It streamed over SSE from the page's own files, nothing from elsewhere.
        origin = urlsplit(gateway.url).netloc
        assert {urlsplit(url).netloc for url in report["requests"]} == {origin}
        assert any("graphql-sse.min.js" in url for url in report["requests"])
        assert GENERATORS.started == started + 1
        wait_for(lambda: GENERATORS.closed == closed + 1, "the subscription to end")
        wait_for(lambda: gateway.streams.open == 0, "the stream to end")
