"""Operation-name metric labels: trusted and validated names only, never a stranger's words."""

from __future__ import annotations

import httpx

from gateway.app import create_app
from gateway.settings import Settings


def _refuse(request: httpx.Request) -> httpx.Response:
    raise AssertionError("no upstream call expected")


async def test_strangers_cannot_fill_the_operation_name_labels() -> None:
    """Before: 200 junk names without credentials pushed MobileHome into "other"."""
    app = create_app(
        Settings(api_url="http://upstream.invalid/api_v3"),
        upstream_transport=httpx.MockTransport(_refuse),
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://g") as client,
    ):
        for i in range(250):
            await client.post("/graphql", json={"query": f"query Junk{i} {{ __typename }}"})
            await client.post("/graphql", json={"query": f"query Broken{i} {{ nope }}"})
        member = {"X-ApiToken": "demo-member-token", "X-AccountCode": "vclinic"}
        answer = await client.post(
            "/graphql", json={"query": "query MobileHome { __typename }"}, headers=member
        )
        assert answer.json() == {"data": {"__typename": "Query"}}
    text = app.state.metrics.render().decode()
    assert 'operation="MobileHome"' in text
    assert "Junk" not in text
    assert "Broken" not in text
    assert 'gateway_graphql_requests_total{operation="invalid",outcome="error"} 250.0' in text
    assert 'gateway_graphql_requests_total{operation="other",outcome="ok"} 250.0' in text
