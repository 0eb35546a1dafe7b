"""Shared fixtures: a real sandbox upstream and a real gateway on loopback."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from gateway.app import create_app
from gateway.settings import Settings
from tests.redis_server import RedisServer
from tests.servers import Gateway, Sandbox, ServerThread

# Every app a test builds gets its metrics listener on a free port, not the fixed default.
os.environ.setdefault("VSEE_METRICS_PORT", "0")

MEMBER = "demo-member-token"
PROVIDER = "demo-provider-token"
ADMIN = "demo-admin-token"
SUN_MEMBER = "sun-member-token"


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    from vsee_sandbox import SandboxConfig
    from vsee_sandbox import create_app as create_sandbox

    with ServerThread(create_sandbox(SandboxConfig(seed=7))) as server:
        handle = Sandbox(server.url)
        yield handle
        handle.http.close()


def gateway_settings(sandbox: Sandbox, **overrides: Any) -> Settings:
    return Settings(api_url=sandbox.api_url, **overrides)


@pytest.fixture(scope="session")
def gateway(sandbox: Sandbox) -> Iterator[Gateway]:
    with ServerThread(create_app(gateway_settings(sandbox))) as server:
        handle = Gateway.of(server)
        yield handle
        handle.http.close()


@pytest.fixture
def make_gateway(sandbox: Sandbox) -> Iterator[Callable[..., Gateway]]:
    """A gateway of its own (own caches), for tests that need fresh or different settings."""
    started: list[tuple[ServerThread, Gateway]] = []

    def make(**overrides: Any) -> Gateway:
        server = ServerThread(create_app(gateway_settings(sandbox, **overrides))).start()
        handle = Gateway.of(server)
        started.append((server, handle))
        return handle

    yield make
    for server, handle in started:
        handle.http.close()
        server.stop()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture
def upstream(sandbox: Sandbox) -> Sandbox:
    """The sandbox with an empty request log and no faults, so a test counts only its calls."""
    sandbox.faults()
    sandbox.clear_log()
    return sandbox
