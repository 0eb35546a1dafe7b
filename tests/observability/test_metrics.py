"""Metrics: bounded labels, every family exposed."""

from gateway.observability import Metrics
from gateway.observability._metrics import MAX_OPERATION_NAMES
from gateway.upstream import BreakerState


def test_families_are_exposed() -> None:
    metrics = Metrics()
    metrics.operation("MobileHome", "ok", 0.01)
    metrics.upstream_call("GET /visits", "200", 0.02)
    metrics.cache_lookup("availability", "hit")
    metrics.breaker_changed(BreakerState.OPEN)
    text = metrics.render().decode()
    assert 'gateway_graphql_requests_total{operation="MobileHome",outcome="ok"} 1.0' in text
    assert 'gateway_upstream_calls_total{endpoint="GET /visits",outcome="200"} 1.0' in text
    assert 'gateway_cache_lookups_total{cache="availability",result="hit"} 1.0' in text
    assert "gateway_upstream_breaker_state 2.0" in text
    assert "gateway_upstream_call_seconds_bucket" in text


def test_operation_names_cannot_explode_cardinality() -> None:
    metrics = Metrics()
    for i in range(MAX_OPERATION_NAMES + 50):
        metrics.operation(f"Op{i}", "ok", 0.001)
    metrics.operation("has spaces!", "ok", 0.001)
    metrics.operation(None, "error", 0.001)
    text = metrics.render().decode()
    assert 'operation="other"' in text
    assert 'operation="anonymous"' in text
    assert text.count("gateway_graphql_requests_total{") == MAX_OPERATION_NAMES + 2


def test_two_apps_in_one_process_do_not_collide() -> None:
    Metrics()
    Metrics()
