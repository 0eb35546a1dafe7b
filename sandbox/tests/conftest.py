"""Fixtures: a sandbox app at a fixed "now" and an httpx client speaking ASGI to it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from vsee_sandbox import SandboxConfig, create_app

from .helpers import NOW


@pytest.fixture
def app() -> Starlette:
    return create_app(SandboxConfig(seed=7, now=NOW))


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
        yield client
