"""Request ids, body limits and the access log, on a tiny app built inline."""

import asyncio
import logging

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gateway.observability import RequestContextMiddleware
from gateway.upstream import remaining, request_id


async def echo(request: Request) -> JSONResponse:
    body = await request.body()
    return JSONResponse({"request_id": request_id.get(), "budget": remaining(), "size": len(body)})


def app(max_body: int = 100) -> Starlette:
    # Placed as the gateway places it: inside Starlette's error middleware.
    return Starlette(
        routes=[Route("/", echo, methods=["GET", "POST"])],
        middleware=[Middleware(RequestContextMiddleware, deadline=5.0, max_body_bytes=max_body)],
    )


def client(max_body: int = 100) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app(max_body)), base_url="http://t")


async def test_generates_a_request_id_and_returns_it() -> None:
    async with client() as c:
        response = await c.get("/")
    rid = response.headers["x-request-id"]
    assert len(rid) == 32
    assert response.json()["request_id"] == rid
    assert 0 < response.json()["budget"] <= 5.0


async def test_accepts_a_sane_request_id_and_refuses_a_weird_one() -> None:
    async with client() as c:
        kept = await c.get("/", headers={"X-Request-ID": "abc-123"})
        replaced = await c.get("/", headers={"X-Request-ID": "bad id\twith spaces"})
    assert kept.headers["x-request-id"] == "abc-123"
    assert replaced.headers["x-request-id"] != "bad id\twith spaces"


async def test_bodies_over_the_limit_are_refused_by_length_and_by_stream() -> None:
    async with client(max_body=100) as c:
        declared = await c.post("/", content=b"x" * 101)

        async def chunks():  # type: ignore[no-untyped-def]
            for _ in range(5):
                yield b"y" * 50

        streamed = await c.post("/", content=chunks())
        fine = await c.post("/", content=b"z" * 100)
    for refused in (declared, streamed):
        assert refused.status_code == 413
        assert refused.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    assert fine.json()["size"] == 100


async def test_one_access_line_per_request(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="gateway.access")
    async with client() as c:
        await c.get("/?token=secret-query-value")
    lines = [r for r in caplog.records if r.name == "gateway.access"]
    assert len(lines) == 1
    assert lines[0].__dict__["status"] == 200
    assert "secret-query-value" not in lines[0].getMessage()


async def stuck(request: Request) -> JSONResponse:
    await asyncio.sleep(30)
    return JSONResponse({})


async def test_a_stuck_request_is_cut_at_the_deadline() -> None:
    app = Starlette(
        routes=[Route("/", stuck)],
        middleware=[
            Middleware(
                RequestContextMiddleware,
                deadline=0.05,
                max_body_bytes=100,
                hard_stop_margin=0.05,
            )
        ],
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        response = await asyncio.wait_for(c.get("/"), timeout=5)
    assert response.status_code == 504
    assert response.json()["errors"][0]["extensions"]["code"] == "UPSTREAM_TIMEOUT"
