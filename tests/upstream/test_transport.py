"""The gateway's aiohttp transport under httpx's API, against a real HTTP server on loopback."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator

import orjson
import pytest
from aiohttp import web

from gateway.upstream import Credentials, UpstreamClient, UpstreamUnavailable

CREDS = Credentials(token="tok-1", account_code="vclinic")


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, list[web.Request], list[bytes]]]:
    seen: list[web.Request] = []
    bodies: list[bytes] = []

    async def answer(request: web.Request) -> web.Response:
        seen.append(request)
        bodies.append(await request.read())
        body = orjson.dumps({"data": {"path": request.path_qs}, "total": 3})
        # VSee may compress: httpx decodes Content-Encoding, whatever the transport.
        return web.Response(
            body=gzip.compress(body),
            headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
        )

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}/vc/next/api_v3", seen, bodies
    finally:
        await runner.cleanup()


async def test_calls_carry_the_callers_headers_and_answers_are_decoded(
    server: tuple[str, list[web.Request], list[bytes]],
) -> None:
    base, seen, bodies = server
    client = UpstreamClient(base)
    try:
        got = await client.get("/visits", CREDS, endpoint="GET /visits", params={"page": 2})
        again = await client.get("/visits", CREDS, endpoint="GET /visits", params={"page": 2})
        form = await client.post("/visits/close", CREDS, endpoint="x", form=[("id", 14)])
        body = await client.post("/intakes", CREDS, endpoint="y", json={"reason": "x"})
    finally:
        await client.aclose()
    assert got.data == again.data == {"path": "/vc/next/api_v3/visits?page=2"}
    assert got.extra == {"total": 3}
    assert form.data == {"path": "/vc/next/api_v3/visits/close"}
    assert body.data == {"path": "/vc/next/api_v3/intakes"}
    assert len(seen) == 4  # one HTTP request per call
    first = seen[0].headers
    assert first["X-ApiToken"] == "tok-1"
    assert first["X-AccountCode"] == "vclinic"
    assert first["Accept"] == "application/json"
    assert first["User-Agent"] == "vsee-graphql-gateway"
    assert "Cookie" not in first
    assert seen[2].headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert b'name="id"\r\n\r\n14\r\n' in bodies[2]
    assert seen[3].headers["Content-Type"] == "application/json"
    assert bodies[3] == b'{"reason":"x"}'


async def test_a_refused_connection_is_unavailable_not_a_timeout() -> None:
    client = UpstreamClient("http://127.0.0.1:9/vc/next/api_v3")
    try:
        with pytest.raises(UpstreamUnavailable) as info:
            await client.get("/visits", CREDS, endpoint="GET /visits")
    finally:
        await client.aclose()
    assert info.value.code == "UPSTREAM_UNAVAILABLE"
    assert "127.0.0.1" not in info.value.message
