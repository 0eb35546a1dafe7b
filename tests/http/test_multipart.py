"""Apollo's multipart HTTP subscriptions on a real uvicorn (whole stack), and Apollo Client 4."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.http.stream_schema import GENERATORS
from tests.http.streams import MEMBER, MULTIPART, multipart_parts, serve_streams, wait_for
from tests.tools.test_schema_tools import TOOLS
from tests.tools.test_schema_tools import tools as tools

COUNT = "subscription Count { count(to: 3) { n account } }"
# What Apollo Client 4's HttpLink sends for a subscription.
APOLLO_ACCEPT = {
    "Accept": "multipart/mixed;boundary=graphql;subscriptionSpec=1.0,"
    "application/graphql-response+json,application/json;q=0.9"
}


def test_a_subscription_streams_payload_parts_between_heartbeats() -> None:
    with serve_streams() as gateway, gateway.stream(COUNT, accept=MULTIPART) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == (
            'multipart/mixed; boundary="graphql"; subscriptionSpec="1.0"'
        )
        assert response.headers["cache-control"] == "private, no-store"
        parts = list(multipart_parts(response))
    assert parts[0] == {}  # a heartbeat at once
    assert [part for part in parts[1:] if part != {}] == [
        {"payload": {"data": {"count": {"n": n, "account": "vclinic"}}}} for n in range(3)
    ] + ["--"]


def test_heartbeats_keep_an_idle_stream_alive() -> None:
    with (
        serve_streams(stream_heartbeat=0.2) as gateway,
        gateway.stream("subscription { ticks { n } }", accept=MULTIPART) as response,
    ):
        parts = multipart_parts(response)
        assert next(parts) == {}
        assert next(parts) == {"payload": {"data": {"ticks": {"n": 0}}}}
        assert [next(parts) for _ in range(3)] == [{}, {}, {}]


def test_errors_before_and_during_the_stream() -> None:
    with serve_streams() as gateway:
        # No credentials: the plain GraphQL answer a query gets, nothing subscribed.
        started = GENERATORS.started
        for accept, status in ((MULTIPART, 200), (APOLLO_ACCEPT, 400)):
            response = gateway.http.post(gateway.url, json={"query": COUNT}, headers=accept)
            assert response.status_code == status
            [error] = response.json()["errors"]
            assert error["extensions"]["code"] == "UNAUTHENTICATED"
        assert GENERATORS.started == started
        # Validation: the stream's one payload carries the coded error.
        with gateway.stream("subscription { nope }", accept=MULTIPART) as response:
            parts = [part for part in multipart_parts(response) if part != {}]
        assert parts[0]["payload"]["errors"][0]["extensions"]["code"] == (
            "GRAPHQL_VALIDATION_FAILED"
        )
        assert parts[1:] == ["--"]
        # A query with a multipart Accept is answered as usual.
        response = gateway.http.post(
            gateway.url, json={"query": "{ hello }"}, headers={**MULTIPART, **MEMBER}
        )
        assert response.json() == {"data": {"hello": "world"}}


def apollo(url: str, query: str, headers: dict[str, str], take: int = 0) -> dict[str, Any]:
    """Run ``query`` through Apollo Client 4's HttpLink (tools/apollo-subscribe.mjs)."""
    args = [url, query, json.dumps(headers)] + ([str(take)] if take else [])
    done = subprocess.run(
        ["node", "--conditions=development", "apollo-subscribe.mjs", *args],
        cwd=TOOLS,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def test_apollo_client_subscribes_over_multipart(tools: Path) -> None:
    with serve_streams() as gateway:
        report = apollo(gateway.url, COUNT, MEMBER)
        assert report["ending"] == "complete", report
        assert report["warnings"] == []
        assert [result["data"]["count"]["n"] for result in report["results"]] == [0, 1, 2]
        assert all(result["error"] is None for result in report["results"])
        # A coded error in a payload reaches the app as the result's GraphQL errors.
        report = apollo(gateway.url, "subscription { failing { n } }", MEMBER)
        assert report["results"][0]["data"] == {"failing": {"__typename": "Tick", "n": 0}}
        [error] = report["results"][1]["error"]["errors"]
        assert error["extensions"]["code"] == "UPSTREAM_UNAVAILABLE"
        # No credentials: refused before anything is subscribed, with its code.
        report = apollo(gateway.url, COUNT, {})
        errors = (report.get("error") or report["results"][0]["error"])["errors"]
        assert errors[0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_apollo_client_unsubscribing_closes_the_generator(tools: Path) -> None:
    with serve_streams() as gateway:
        closed = GENERATORS.closed
        report = apollo(gateway.url, "subscription { ticks(first: 2) { n } }", MEMBER, take=2)
        assert report["ending"] == "unsubscribed", report
        assert [result["data"]["ticks"]["n"] for result in report["results"]] == [0, 1]
        wait_for(lambda: GENERATORS.closed == closed + 1, "the generator to close")
        wait_for(lambda: gateway.streams.open == 0, "the stream to end")
