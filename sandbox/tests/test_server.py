"""The sandbox served for real by uvicorn on a free loopback port, spoken to over HTTP."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from vsee_sandbox import SandboxConfig, create_app

from .helpers import MEMBER, NOW, PREFIX


@pytest.fixture
def base_url() -> Iterator[str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(SandboxConfig(now=NOW)), log_level="warning", access_log=False, lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


async def test_over_real_http(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        assert (await client.get("/_sandbox/health")).json() == {"ok": True}
        current = (await client.get(f"{PREFIX}/visits/current.json", headers=MEMBER)).json()["data"]
        assert current["status"] == 30
        files = {"id": (None, current["id"]), "reason": (None, "call_ended")}
        closed = await client.post(f"{PREFIX}/visits/close", files=files, headers=MEMBER)
        assert closed.json() == {"data": {"id": current["id"]}}
        assert (await client.get(f"{PREFIX}/visits/current", headers=MEMBER)).json() == {
            "data": None
        }
        unauthorized = await client.get(f"{PREFIX}/visits")
        assert unauthorized.status_code == 401
        assert unauthorized.headers["content-type"] == "application/json"
        log = (await client.get("/_sandbox/requests")).json()
        assert log["counts"] == {
            "GET /visits/current": 2,
            "POST /visits/close": 1,
            "GET /visits": 1,
        }
        assert log["entries"][1]["body"] == {"id": current["id"], "reason": "call_ended"}
        assert log["entries"][1]["content_type"] == "multipart/form-data"
