"""Fixtures for live updates: a sandbox of their own (tests here change visits) and gateways
with short poll intervals, so a test waits for counts, not for the clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from gateway.app import create_app
from tests.conftest import DEMO_HEADERS
from tests.http.conftest import (  # noqa: F401  (web/node_modules: graphql-ws, GraphiQL)
    chromium,
    web_modules,
)
from tests.servers import Gateway, Sandbox, ServerThread
from tests.tools.test_schema_tools import tools  # noqa: F401  (tools/node_modules: Apollo Client)


@pytest.fixture(scope="module")
def live_sandbox() -> Iterator[Sandbox]:
    from vsee_sandbox import SandboxConfig
    from vsee_sandbox import create_app as create_sandbox

    with ServerThread(create_sandbox(SandboxConfig(seed=7))) as server:
        handle = Sandbox(server.url)
        yield handle
        handle.http.close()


@pytest.fixture
def live_upstream(live_sandbox: Sandbox) -> Sandbox:
    live_sandbox.faults()
    live_sandbox.clear_log()
    return live_sandbox


# Fast polls: tests count polls and events, and wait for them with generous deadlines.
FAST = {
    "live_interval_active": 0.05,
    "live_interval_idle": 0.2,
    "live_jitter": 0.0,
    "rate_limit": False,
}


@pytest.fixture
def make_live_gateway(live_sandbox: Sandbox) -> Iterator[Callable[..., tuple[Gateway, Any]]]:
    """A gateway of its own on the live sandbox; returns its handle and its app."""
    from gateway.settings import Settings

    started: list[tuple[ServerThread, Gateway]] = []

    def make(**overrides: Any) -> tuple[Gateway, Any]:
        settings = Settings(
            **{
                "api_url": live_sandbox.api_url,
                "graphiql_headers": DEMO_HEADERS,
                **FAST,
                **overrides,
            }
        )
        app = create_app(settings)
        server = ServerThread(app).start()
        handle = Gateway.of(server)
        started.append((server, handle))
        return handle, app

    yield make
    for server, handle in started:
        handle.http.close()
        server.stop()
