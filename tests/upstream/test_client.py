"""The upstream client against httpx.MockTransport: what it sends and how it reads answers."""

from collections.abc import Callable

import httpx
import pytest

from gateway.upstream import (
    BadRequest,
    BreakerState,
    Conflict,
    Credentials,
    Forbidden,
    NotFound,
    OutcomeUnknown,
    Unauthenticated,
    UpstreamClient,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
)

CREDS = Credentials(token="tok-123", account_code="vclinic", api_key="key-9")
BASE = "https://vsee.test/vc/next/api_v3"
Handler = Callable[[httpx.Request], httpx.Response]


def client_for(handler: Handler) -> UpstreamClient:
    return UpstreamClient(BASE, transport=httpx.MockTransport(handler))


async def test_get_sends_credentials_and_returns_the_envelope() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"data": [{"id": "1"}], "total": 7})

    client = client_for(handler)
    envelope = await client.get(
        "/visits", CREDS, endpoint="GET /visits", params={"page": 2, "type": None}
    )
    await client.aclose()
    assert envelope.data == [{"id": "1"}]
    assert envelope.extra == {"total": 7}
    request = seen[0]
    assert str(request.url) == f"{BASE}/visits?page=2"
    assert request.headers["x-apitoken"] == "tok-123"
    assert request.headers["x-accountcode"] == "vclinic"
    assert request.headers["x-apikey"] == "key-9"
    assert "cookie" not in request.headers


async def test_form_posts_are_multipart_and_json_posts_are_json() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"data": {"id": "1"}})

    client = client_for(handler)
    await client.post("/visits/close", CREDS, endpoint="x", form=[("id", 14), ("reset", True)])
    await client.post("/visits/add_econsult", CREDS, endpoint="y", json={"intake_id": "abc"})
    await client.aclose()
    form, body = seen
    assert form.headers["content-type"].startswith("multipart/form-data; boundary=")
    text = form.content.decode()
    assert 'name="id"\r\n\r\n14\r\n' in text
    assert 'name="reset"\r\n\r\ntrue\r\n' in text
    assert "filename" not in text
    assert body.headers["content-type"] == "application/json"
    assert body.content == b'{"intake_id":"abc"}'


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, BadRequest),
        (401, Unauthenticated),
        (403, Forbidden),
        (404, NotFound),
        (409, Conflict),
        (422, BadRequest),
        (500, UpstreamUnavailable),
        (503, UpstreamUnavailable),
    ],
)
async def test_statuses_map_to_the_error_tree(status: int, error: type[Exception]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"code": status, "message": "VSee says no"})

    client = client_for(handler)
    with pytest.raises(error) as info:
        await client.get("/visits/1", CREDS, endpoint="GET /visits/{id}")
    await client.aclose()
    if status < 500:
        assert info.value.args[0] == "VSee says no"
    assert BASE not in str(info.value)


async def test_a_body_without_the_envelope_is_a_coded_upstream_failure(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = client_for(lambda request: httpx.Response(200, text="<html>gateway</html>"))
    with (
        caplog.at_level("WARNING", "gateway.upstream"),
        pytest.raises(UpstreamError, match="not its data") as info,
    ):
        await client.get("/visits", CREDS, endpoint="GET /visits")
    assert info.value.code == "UPSTREAM_BAD_RESPONSE"
    # Logged at warning (was debug) and counted as a failure, not a breaker success.
    assert any(r.levelname == "WARNING" and "data envelope" in r.message for r in caplog.records)
    assert client.bad_responses == 1
    # ANSWER failures need several scopes to open the shared breaker: one caller cannot.
    for _ in range(10):
        with pytest.raises(UpstreamError):
            await client.get("/visits", CREDS, endpoint="GET /visits")
    assert client.breaker.state is BreakerState.CLOSED
    other = Credentials(token="t2", account_code="other")
    with pytest.raises(UpstreamError):
        await client.get("/visits", other, endpoint="GET /visits")
    assert client.breaker.state is BreakerState.OPEN
    await client.aclose()


async def test_a_write_answered_with_html_is_an_unknown_outcome() -> None:
    client = client_for(lambda request: httpx.Response(200, text="<html>maintenance</html>"))
    with pytest.raises(OutcomeUnknown) as info:
        await client.post("/intakes", CREDS, endpoint="POST /intakes", form=[("a", 1)])
    assert info.value.code == "OUTCOME_UNKNOWN"
    await client.aclose()


async def test_timeouts_and_connection_errors() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    for handler, error in ((slow, UpstreamTimeout), (down, UpstreamUnavailable)):
        client = client_for(handler)
        with pytest.raises(error) as info:
            await client.get("/visits", CREDS, endpoint="GET /visits")
        assert "vsee.test" not in info.value.message
        await client.aclose()
