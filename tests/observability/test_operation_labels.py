"""Operation-name metric labels: trusted and validated names only, never a stranger's words."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from gateway.app import create_app
from gateway.settings import Settings
from gateway.upstream import Credentials
from tests.conftest import MEMBER
from tests.servers import Gateway, Sandbox


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
        # As if VSee had answered this member before (this app's upstream refuses every call).
        app.state.client.accepted_scopes.add(
            Credentials(token="demo-member-token", account_code="vclinic").scope
        )
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


def test_made_up_credentials_cannot_fill_the_operation_name_labels(
    make_gateway: Callable[..., Gateway], upstream: Sandbox
) -> None:
    """Before: any X-ApiToken counted as credentials, so 250 valid documents sent with
    made-up tokens took every operation-name slot and MobileHome was counted as "other"."""
    gateway = make_gateway(rate_limit=False)
    for i in range(250):
        answer = gateway.post(f"query Junk{i} {{ currentVisit {{ id }} }}", token=f"made-up-{i}")
        assert answer.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    # A real member: the first request is VSee's proof that the token is real.
    home = "query MobileHome { currentVisit { id } }"
    assert "errors" not in gateway.post(home, token=MEMBER).json()
    text = gateway.metrics()
    assert 'operation="MobileHome"' in text
    assert "Junk" not in text
