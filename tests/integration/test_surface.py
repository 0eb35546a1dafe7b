"""The production surface around GraphQL: health, metrics, request ids, limits, CORS, tracing."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from gateway.app import create_app
from tests.conftest import MEMBER, gateway_settings
from tests.servers import Gateway, Sandbox, ServerThread


def test_health_and_readiness(gateway: Gateway) -> None:
    assert gateway.http.get(f"{gateway.url}/healthz").json() == {"status": "ok"}
    ready = gateway.http.get(f"{gateway.url}/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["upstream"] == "ok"


def test_readiness_reports_a_gone_upstream_but_stays_ready(sandbox: Sandbox) -> None:
    from tests.servers import free_port

    settings = gateway_settings(sandbox).model_copy(
        update={"api_url": f"http://127.0.0.1:{free_port()}/vc/next/api_v3"}
    )
    app = create_app(settings)
    with ServerThread(app) as server:
        # This process can serve (coded errors for VSee's absence), so it stays in rotation:
        # a VSee blip must not take every replica out of the load balancer at once.
        assert httpx.get(f"{server.url}/readyz").status_code == 200
        headers = {"X-ApiToken": MEMBER, "X-AccountCode": "vclinic"}
        for _ in range(3):
            body = httpx.post(
                f"{server.url}/graphql",
                json={"query": "{ rooms { nodes { code } } }"},
                headers=headers,
            ).json()
            assert body["errors"][0]["extensions"]["code"] == "UPSTREAM_UNAVAILABLE"
        response = httpx.get(f"{server.url}/readyz")
        metrics = Gateway.of(server).metrics()
    assert response.status_code == 200
    assert response.json()["checks"]["upstream"] == "unavailable"
    assert 'gateway_dependency_up{dependency="upstream"} 0.0' in metrics


def test_metrics_count_operations_and_upstream_calls(gateway: Gateway, upstream: Sandbox) -> None:
    gateway.query("query MobileHome { currentVisit { id } }", token=MEMBER)
    text = gateway.metrics()
    assert 'gateway_graphql_requests_total{operation="MobileHome",outcome="ok"}' in text
    assert 'gateway_upstream_calls_total{endpoint="GET /visits/current",outcome="200"}' in text
    assert MEMBER not in text


def test_request_id_is_returned_and_forwarded(gateway: Gateway, upstream: Sandbox) -> None:
    response = gateway.post(
        "{ currentVisit { id } }", token=MEMBER, headers={"X-Request-ID": "trace-me-42"}
    )
    assert response.headers["x-request-id"] == "trace-me-42"
    assert upstream.log()["entries"][0]["headers"]["x-request-id"] == "trace-me-42"


@pytest.mark.parametrize(
    ("query", "code"),
    [
        (
            "{ visit(id: 1) { intake { visit { intake { visit { intake { id } } } } } } }",
            "QUERY_TOO_DEEP",
        ),
        (
            "{ " + " ".join(f"a{i}: currentVisit {{ id }}" for i in range(5)) + " }",
            "TOO_MANY_ALIASES",
        ),
        (
            "{ visits(first: 100) { nodes { intake { id } provider { id } room { code } } } }",
            "QUERY_TOO_COSTLY",
        ),
        ("{ " + "currentVisit { id } " * 200 + "}", "TOO_MANY_TOKENS"),
    ],
)
def test_limits_refuse_with_a_code_and_no_upstream_call(
    make_gateway: Callable[..., Gateway], upstream: Sandbox, query: str, code: str
) -> None:
    gateway = make_gateway(max_depth=5, max_aliases=3, max_cost=100, max_tokens=500)
    response = gateway.post(query, token=MEMBER)
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == code
    assert body.get("data") is None
    assert upstream.total() == 0


def test_default_limits_admit_the_dashboard_page(gateway: Gateway, upstream: Sandbox) -> None:
    body = gateway.query(
        """query Dashboard($first: Int = 100) { visits(first: $first) { nodes {
             id member { id fullName } provider { id fullName }
             intake { id reasonForVisit } } } }""",
        token=MEMBER,
    )
    assert "errors" not in body, body


def test_oversized_bodies_are_refused_before_parsing(
    make_gateway: Callable[..., Gateway], upstream: Sandbox
) -> None:
    gateway = make_gateway(max_body_bytes=2048)
    response = gateway.post("{ currentVisit { id } }" + " " * 4096, token=MEMBER)
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    assert upstream.total() == 0


def test_introspection_can_be_switched_off(
    make_gateway: Callable[..., Gateway], upstream: Sandbox
) -> None:
    gateway = make_gateway(introspection=False)
    body = gateway.post("{ __schema { types { name } } }", token=MEMBER).json()
    assert body["errors"]
    assert "data" not in body or body["data"] is None


def test_cors_allows_only_configured_origins(
    make_gateway: Callable[..., Gateway], upstream: Sandbox
) -> None:
    gateway = make_gateway(cors_origins=["https://dash.example"])
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-apitoken,x-accountcode",
    }
    ok = gateway.http.options(
        f"{gateway.url}/graphql", headers={"Origin": "https://dash.example", **preflight}
    )
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == "https://dash.example"
    denied = gateway.http.options(
        f"{gateway.url}/graphql", headers={"Origin": "https://evil.example", **preflight}
    )
    assert "access-control-allow-origin" not in denied.headers


def test_tracing_spans_per_request_and_per_upstream_call(sandbox: Sandbox) -> None:
    exporter = InMemorySpanExporter()
    app = create_app(gateway_settings(sandbox), span_exporter=exporter)
    with ServerThread(app) as server:
        handle = Gateway(server.url)
        handle.query("{ currentVisit { id } }", token=MEMBER)
        handle.http.close()
    names = [span.name for span in exporter.get_finished_spans()]
    assert "POST /graphql" in names
    assert "VSee GET /visits/current" in names
    # No per-field spans: they would multiply execution time.
    assert len(names) == 2


def test_automatic_persisted_queries_by_post_and_get(gateway: Gateway, upstream: Sandbox) -> None:
    import hashlib
    import json

    query = "query PersistedHome { currentVisit { id status } }"
    digest = hashlib.sha256(query.encode()).hexdigest()
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    headers = {"X-ApiToken": MEMBER, "X-AccountCode": "vclinic"}
    unknown = gateway.http.post(
        f"{gateway.url}/graphql", json={"extensions": extensions}, headers=headers
    )
    assert unknown.status_code == 200
    assert unknown.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert upstream.total() == 0
    registered = gateway.http.post(
        f"{gateway.url}/graphql", json={"query": query, "extensions": extensions}, headers=headers
    )
    assert registered.json()["data"]["currentVisit"]["id"]
    by_get = gateway.http.get(
        f"{gateway.url}/graphql",
        params={"extensions": json.dumps(extensions)},
        headers={**headers, "Accept": "application/graphql-response+json"},
    )
    assert by_get.status_code == 200
    assert by_get.json() == registered.json()
    mismatch = gateway.http.post(
        f"{gateway.url}/graphql",
        json={"query": "{ rooms { nodes { code } } }", "extensions": extensions},
        headers=headers,
    )
    assert mismatch.status_code == 400


def test_batches_up_to_the_limit(make_gateway: Callable[..., Gateway], upstream: Sandbox) -> None:
    gateway = make_gateway(max_batch_size=2)
    headers = {"X-ApiToken": MEMBER, "X-AccountCode": "vclinic"}
    ops = [{"query": "{ currentVisit { id } }"}, {"query": "{ rooms { nodes { code } } }"}]
    answer = gateway.http.post(f"{gateway.url}/graphql", json=ops, headers=headers)
    assert answer.status_code == 200
    first, second = answer.json()
    assert first["data"]["currentVisit"]["id"]
    assert second["data"]["rooms"]["nodes"]
    upstream.clear_log()
    too_many = gateway.http.post(f"{gateway.url}/graphql", json=ops * 2, headers=headers)
    assert too_many.status_code == 400
    assert too_many.json()["errors"][0]["extensions"]["code"] == "BATCH_TOO_LARGE"
    assert upstream.total() == 0
