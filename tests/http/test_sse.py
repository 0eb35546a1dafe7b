"""GraphQL over SSE (graphql-sse, distinct connections mode) on a real uvicorn, whole stack."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from gateway.http import document_hash
from gateway.schema import QueryLimits
from tests.http.conftest import node
from tests.http.stream_schema import GENERATORS
from tests.http.streams import MEMBER, SSE, serve_streams, sse_events, wait_for
from tests.servers import Gateway

COUNT = "subscription Count($to: Int!) { count(to: $to) { n account } }"


def events(response: httpx.Response) -> list[tuple[str, Any]]:
    """Every event of a stream that ends, keep-alives left out."""
    return [(event, data) for event, data in sse_events(response) if event]


def test_a_subscription_streams_next_events_then_complete() -> None:
    started = GENERATORS.started
    with serve_streams() as gateway, gateway.stream(COUNT, variables={"to": 3}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
        # Computed with the caller's credentials: never stored by a shared cache.
        assert response.headers["cache-control"] == "private, no-store"
        assert "X-ApiToken" in response.headers["vary"]
        assert response.headers["x-accel-buffering"] == "no"
        got = events(response)
    assert got == [
        ("next", {"data": {"count": {"n": n, "account": "vclinic"}}}) for n in range(3)
    ] + [("complete", None)]
    assert GENERATORS.started == started + 1
    wait_for(lambda: gateway.streams.open == 0, "the stream to be forgotten")
    assert gateway.streams.by_caller == {}


def test_get_streams_a_subscription_and_a_query_is_one_event() -> None:
    with serve_streams() as gateway:
        params = {"query": "subscription { count(to: 2) { n } }"}
        with gateway.http.stream(
            "GET", gateway.url, params=params, headers={**SSE, **MEMBER}
        ) as response:
            got = events(response)
        assert got == [
            ("next", {"data": {"count": {"n": 0}}}),
            ("next", {"data": {"count": {"n": 1}}}),
            ("complete", None),
        ]
        with gateway.stream("{ hello }") as response:
            assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
            assert events(response) == [("next", {"data": {"hello": "world"}}), ("complete", None)]


def test_no_credentials_is_unauthenticated_before_anything_runs() -> None:
    started = GENERATORS.started
    with serve_streams() as gateway:
        with gateway.stream("subscription { count { n } }", headers={}) as response:
            assert response.status_code == 200
            got = events(response)
        # The same coded answer a query gets, as the stream's one event.
        query = gateway.http.post(gateway.url, json={"query": "{ hello }"})
        assert query.status_code == 200
    assert got[-1] == ("complete", None)
    [(kind, body)] = got[:-1]
    assert kind == "next"
    assert "data" not in body
    [error] = body["errors"]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert "X-ApiToken" in error["message"]
    assert GENERATORS.started == started


def test_over_plain_http_a_subscription_is_refused_with_what_to_send() -> None:
    with serve_streams() as gateway:
        for accept in ("application/json", "application/graphql-response+json", "*/*"):
            response = gateway.http.post(
                gateway.url,
                json={"query": "subscription { count { n } }"},
                headers={**MEMBER, "Accept": accept},
            )
            assert response.status_code == 406, accept
            [error] = response.json()["errors"]
            assert error["extensions"]["code"] == "STREAM_REQUIRED"
            assert "text/event-stream" in error["message"]
            assert "multipart/mixed" in error["message"]


def test_the_query_limits_apply_before_the_subscription_starts() -> None:
    started = GENERATORS.started
    deep = "subscription { count { again { again { again { again { n } } } } } }"
    with serve_streams(QueryLimits(max_depth=4)) as gateway, gateway.stream(deep) as response:
        got = events(response)
    assert got[-1] == ("complete", None)
    [error] = got[0][1]["errors"]
    assert error["extensions"]["code"] == "QUERY_TOO_DEEP"
    assert GENERATORS.started == started


def test_an_invalid_subscription_is_a_coded_next_event() -> None:
    with serve_streams() as gateway, gateway.stream("subscription { nope }") as response:
        got = events(response)
    [error] = got[0][1]["errors"]
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert got[1] == ("complete", None)


def test_an_upstream_failure_mid_stream_is_a_coded_error_event() -> None:
    with serve_streams() as gateway, gateway.stream("subscription { failing { n } }") as response:
        got = events(response)
    assert got[0] == ("next", {"data": {"failing": {"n": 0}}})
    [error] = got[1][1]["errors"]
    assert error["extensions"]["code"] == "UPSTREAM_UNAVAILABLE"
    assert error["message"] == "VSee is unavailable"
    assert got[2] == ("complete", None)


def test_the_rate_limit_applies_to_subscribing() -> None:
    with serve_streams(rate_limit_burst=2, rate_limit_per_second=0.001) as gateway:
        codes = []
        for _ in range(3):
            with gateway.stream("subscription { count(to: 1) { n } }") as response:
                body = events(response)[0][1]
                codes.append([e["extensions"]["code"] for e in body.get("errors", [])])
    assert codes[:2] == [[], []]
    assert codes[2] == ["RATE_LIMITED"]


def test_batches_are_not_streamed() -> None:
    with serve_streams() as gateway:
        response = gateway.http.post(
            gateway.url,
            json=[{"query": "{ hello }"}, {"query": "{ hello }"}],
            headers={**SSE, **MEMBER},
        )
    assert response.status_code == 400
    assert "one operation" in json.dumps(response.json())


def sse_client(url: str, query: str, headers: dict[str, str], take: int = 0) -> dict[str, Any]:
    """Run ``query`` through the npm graphql-sse client (web/sse.mjs)."""
    args = [url, query, json.dumps(headers)] + ([str(take)] if take else [])
    report: dict[str, Any] = json.loads(node("sse.mjs", *args).stdout)
    return report


def test_the_graphql_sse_client_subscribes_and_sees_the_end(web_modules: Path) -> None:
    with serve_streams() as gateway:
        report = sse_client(gateway.url, "subscription { count(to: 3) { n account } }", MEMBER)
        assert report["ending"] == "complete", report
        assert report["results"] == [
            {"data": {"count": {"n": n, "account": "vclinic"}}} for n in range(3)
        ]
        # Queries run over the same transport: one result, then complete.
        report = sse_client(gateway.url, "{ hello }", MEMBER)
        assert report == {
            "results": [{"data": {"hello": "world"}}],
            "ending": "complete",
            "error": None,
        }
        # Refusals reach the client as results with coded errors, not as network failures.
        report = sse_client(gateway.url, "subscription { count { n } }", {})
        assert report["ending"] == "complete"
        [result] = report["results"]
        assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_a_graphql_sse_client_that_unsubscribes_closes_the_generator(web_modules: Path) -> None:
    with serve_streams() as gateway:
        closed = GENERATORS.closed
        report = sse_client(gateway.url, "subscription { ticks(first: 2) { n } }", MEMBER, take=2)
        assert report["ending"] == "unsubscribed", report
        assert report["results"] == [{"data": {"ticks": {"n": n}}} for n in range(2)]
        wait_for(lambda: GENERATORS.closed == closed + 1, "the generator to close")
        wait_for(lambda: gateway.streams.open == 0, "the stream to end")


def test_trusted_documents_apply_to_subscriptions(tmp_path: Path) -> None:
    trusted = "subscription Count { count(to: 2) { n } }"
    digest = document_hash(trusted)
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({digest: trusted}))  # Relay's {hash: text} format
    persisted = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    with serve_streams(trusted_documents=str(manifest), trusted_documents_only=True) as gateway:
        with gateway.stream("", extensions=persisted) as response:
            got = events(response)
        assert [data for _, data in got] == [
            {"data": {"count": {"n": 0}}},
            {"data": {"count": {"n": 1}}},
            None,
        ]
        with gateway.stream("subscription { count { n } }") as response:
            [(kind, body), end] = events(response)
        assert (kind, end) == ("next", ("complete", None))
        assert body["errors"][0]["extensions"]["code"] == "TRUSTED_DOCUMENT_REQUIRED"


def test_an_automatic_persisted_subscription_is_registered_once_it_ran() -> None:
    query = "subscription Twice { count(to: 2) { n } }"
    persisted = {"persistedQuery": {"version": 1, "sha256Hash": document_hash(query)}}
    with serve_streams() as gateway:
        with gateway.stream("", extensions=persisted) as response:
            [(_, body), _end] = events(response)
        assert body["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
        with gateway.stream(query, extensions=persisted) as response:
            assert len(events(response)) == 3
        with gateway.stream("", extensions=persisted) as response:
            assert [data for _, data in events(response)][:2] == [
                {"data": {"count": {"n": 0}}},
                {"data": {"count": {"n": 1}}},
            ]


def test_http_level_mistakes_are_plain_http_answers() -> None:
    with serve_streams() as gateway:
        # A mutation over GET: 405, as without SSE (a client must not retry it as is).
        response = gateway.http.get(
            gateway.url, params={"query": "mutation { x }"}, headers={**SSE, **MEMBER}
        )
        assert response.status_code == 405
        assert response.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"
        response = gateway.http.post(
            gateway.url,
            content=b"{not json",
            headers={**SSE, **MEMBER, "Content-Type": "application/json"},
        )
        assert response.status_code == 400
        assert response.headers["content-type"].startswith("application/json")


def test_the_gateways_own_schema_answers_a_coded_event(gateway: Gateway) -> None:
    with gateway.http.stream(
        "POST",
        f"{gateway.url}/graphql",
        json={"query": "subscription { noSuchField }"},
        headers={**SSE, **MEMBER},
    ) as response:
        got = events(response)
    [(kind, body), end] = got
    assert (kind, end) == ("next", ("complete", None))
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
