"""Two gateways on one upstream (compiled and graphql-core execution), compared answer by answer."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from gateway.app import create_app
from gateway.execution import CompiledExecutor
from tests.conftest import gateway_settings
from tests.servers import Gateway, Sandbox, ServerThread


@dataclass
class Outcome:
    """What one gateway answered and what it asked VSee for it."""

    status: int
    body: dict[str, Any]
    calls: dict[str, int]


@dataclass
class Pair:
    """The same request to both gateways in turn, each with a clean upstream log."""

    compiled: Gateway
    reference: Gateway
    upstream: Sandbox
    # The compiled gateway's executor class: how many operations ran compiled, and why not.
    counts: dict[str, int]

    def run(
        self, query: str, variables: dict[str, Any] | None = None, **kwargs: Any
    ) -> tuple[Outcome, Outcome]:
        outcomes = []
        for gateway in (self.compiled, self.reference):
            self.upstream.clear_log()
            response = gateway.post(query, variables, **kwargs)
            outcomes.append(Outcome(response.status_code, response.json(), self.upstream.counts()))
        return outcomes[0], outcomes[1]

    def same(self, query: str, variables: dict[str, Any] | None = None, **kwargs: Any) -> Outcome:
        """Run on both; require identical status, data, errors and upstream calls."""
        compiled, reference = self.run(query, variables, **kwargs)
        assert compiled.body == reference.body, (query, variables)
        assert compiled.status == reference.status, (query, variables)
        assert compiled.calls == reference.calls, (query, variables)
        return reference


def executor_of(server: ServerThread) -> type[CompiledExecutor]:
    app: Any = server.server.config.app
    view = next(route.app for route in app.routes if getattr(route, "path", "") == "/graphql")
    executor: type[CompiledExecutor] = view.schema.execution_context_class
    assert issubclass(executor, CompiledExecutor)
    return executor


@pytest.fixture(scope="module")
def pair(sandbox: Sandbox) -> Iterator[Pair]:
    # Rate limits off: thousands of operations from one caller are the point here.
    servers = [
        ServerThread(
            create_app(gateway_settings(sandbox, compiled_execution=compiled, rate_limit=False))
        ).start()
        for compiled in (True, False)
    ]
    handles = [Gateway.of(server) for server in servers]
    sandbox.faults()
    yield Pair(handles[0], handles[1], sandbox, executor_of(servers[0]).counts)
    sandbox.faults()
    for server, handle in zip(servers, handles, strict=True):
        handle.http.close()
        server.stop()
