"""GraphiQL in a real headless Chromium, offline: the page runs a query against the gateway."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

from tests.http.conftest import node
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
