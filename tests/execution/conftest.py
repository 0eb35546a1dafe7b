"""Two gateways on one upstream (compiled and graphql-core execution), compared answer by answer."""

from __future__ import annotations

import asyncio
import time
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

    servers: tuple[ServerThread, ServerThread]
    idle: tuple[set[asyncio.Task[Any]], set[asyncio.Task[Any]]]
    # The sandbox's own request log, read in process once both gateways are quiet.
    log: Any

    def run(
        self, query: str, variables: dict[str, Any] | None = None, **kwargs: Any
    ) -> tuple[Outcome, Outcome]:
        outcomes = []
        for gateway, server, idle in zip(
            (self.compiled, self.reference), self.servers, self.idle, strict=True
        ):
            self.log.clear()
            response = gateway.post(query, variables, **kwargs)
            # graphql-core settles a failed field's siblings in the background (and so does
            # the compiled plan): their VSee calls may land after the answer. Count them too.
            settle(server, idle)
            outcomes.append(Outcome(response.status_code, response.json(), dict(self.log.counts)))
        return outcomes[0], outcomes[1]

    def same(self, query: str, variables: dict[str, Any] | None = None, **kwargs: Any) -> Outcome:
        """Run on both; require identical status, data, errors and upstream calls."""
        compiled, reference = self.run(query, variables, **kwargs)
        assert compiled.body == reference.body, (query, variables)
        assert compiled.status == reference.status, (query, variables)
        assert compiled.calls == reference.calls, (query, variables)
        return reference


def _loop(server: ServerThread) -> asyncio.AbstractEventLoop:
    loop: asyncio.AbstractEventLoop = server.server.servers[0].get_loop()
    return loop


def tasks(server: ServerThread) -> set[asyncio.Task[Any]]:
    """The unfinished tasks of the server's loop (read on that loop)."""

    async def read() -> set[asyncio.Task[Any]]:
        current = asyncio.current_task()
        return {task for task in asyncio.all_tasks() if task is not current and not task.done()}

    return asyncio.run_coroutine_threadsafe(read(), _loop(server)).result(timeout=30)


def settle(server: ServerThread, idle: set[asyncio.Task[Any]]) -> None:
    """Wait until the server runs no task it did not run when idle (deadline: 30 s)."""
    deadline = time.monotonic() + 30
    while tasks(server) - idle:
        assert time.monotonic() < deadline, "the gateway kept working after its answer"
        time.sleep(0.002)


def executor_of(server: ServerThread) -> type[CompiledExecutor]:
    app: Any = server.server.config.app
    view = next(route.app for route in app.routes if getattr(route, "path", "") == "/graphql")
    executor: type[CompiledExecutor] = view.schema.execution_context_class
    assert issubclass(executor, CompiledExecutor)
    return executor


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    from vsee_sandbox import SandboxConfig
    from vsee_sandbox import create_app as create_sandbox

    # A sandbox of its own, whose request log this module reads without HTTP.
    sandbox_app: Any = create_sandbox(SandboxConfig(seed=7))
    upstream = ServerThread(sandbox_app).start()
    sandbox = Sandbox(upstream.url)
    # Rate limits off: thousands of operations from one caller are the point here.
    servers = [
        ServerThread(
            create_app(gateway_settings(sandbox, compiled_execution=compiled, rate_limit=False))
        ).start()
        for compiled in (True, False)
    ]
    handles = [Gateway.of(server) for server in servers]
    sandbox.faults()
    for handle in handles:  # starts whatever the app starts on its first request
        handle.post("{ __typename }", token="warm-up")
    idle = (tasks(servers[0]), tasks(servers[1]))
    yield Pair(
        handles[0],
        handles[1],
        sandbox,
        executor_of(servers[0]).counts,
        (servers[0], servers[1]),
        idle,
        sandbox_app.state.sandbox.log,
    )
    sandbox.faults()
    for server, handle in zip(servers, handles, strict=True):
        handle.http.close()
        server.stop()
    sandbox.http.close()
    upstream.stop()
