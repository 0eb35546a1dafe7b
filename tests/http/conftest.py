"""Fixtures for the HTTP surface: an in-process gateway, and the npm and Chromium it needs."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.app import create_app
from gateway.http import WEB_DIR
from gateway.settings import Settings

CHROMIUM = Path("/usr/bin/chromium")

# What the tests run from web/node_modules; the GraphiQL assets are checked by the page itself.
NODE_PACKAGES = (
    "graphql-http",
    "graphql-ws",
    "playwright-core",
    "graphiql",
    "react",
    "react-dom",
    "graphql-sse",
)


def _refuse_upstream(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"unexpected upstream call: {request.method} {request.url}")


@pytest.fixture
async def make_client() -> AsyncIterator[Callable[..., Awaitable[httpx.AsyncClient]]]:
    """The real app in process (lifespan run), with an upstream that must never be called."""
    async with contextlib.AsyncExitStack() as stack:

        async def make(**overrides: Any) -> httpx.AsyncClient:
            settings = Settings(api_url="http://upstream.invalid/api_v3", **overrides)
            app = create_app(settings, upstream_transport=httpx.MockTransport(_refuse_upstream))
            await stack.enter_async_context(app.router.lifespan_context(app))
            return await stack.enter_async_context(
                httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://gateway")
            )

        yield make


@pytest.fixture
async def client(make_client: Callable[..., Awaitable[httpx.AsyncClient]]) -> httpx.AsyncClient:
    return await make_client()


def _run(command: list[str], *, cwd: Path | None = None, timeout: float) -> None:
    done = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        pytest.fail(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-4000:]}")


@pytest.fixture(scope="session")
def web_modules() -> Path:
    """web/node_modules as web/package-lock.json pins it, installed with `npm ci` if stale."""
    modules = WEB_DIR / "node_modules"
    installed_lock = modules / ".package-lock.json"
    fresh = installed_lock.is_file() and (
        installed_lock.stat().st_mtime >= (WEB_DIR / "package-lock.json").stat().st_mtime
    )
    if not fresh or not all((modules / name / "package.json").is_file() for name in NODE_PACKAGES):
        if shutil.which("npm") is None:
            pytest.fail("npm is needed to install web/ (apt-get install -y nodejs npm)")
        _run(["npm", "ci", "--no-audit", "--no-fund"], cwd=WEB_DIR, timeout=900)
    return modules


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium, installed with apt-get once per machine when it is missing."""
    if not CHROMIUM.exists():
        if os.geteuid() != 0:
            pytest.fail(f"{CHROMIUM} is missing; as root: apt-get install -y chromium")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for command in (["apt-get", "update"], ["apt-get", "install", "-y", "chromium"]):
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=1200, env=env, check=False
            )
            if done.returncode != 0:
                pytest.fail(f"{' '.join(command)} failed:\n{done.stderr[-4000:]}")
    return CHROMIUM


def node(script: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run one of web/'s Node scripts; its stdout is JSON."""
    done = subprocess.run(
        ["node", str(WEB_DIR / script), *args],
        cwd=WEB_DIR,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, (
        f"node {script} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    )
    return done
