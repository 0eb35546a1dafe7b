"""Two gateways on one upstream (compiled and graphql-core execution), compared answer by answer."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import pytest

from gateway.app import create_app
from gateway.execution import CompiledExecutor
from tests.conftest import gateway_settings
from tests.execution.mangler import Mangler
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
    # Comparisons whose VSee calls could not be compared (see ``same``).
    uncounted: int = 0

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
        assert compiled.status == reference.status, (query, variables)
        assert equivalent(compiled.body, reference.body), difference(
            query, compiled.body, reference.body
        )
        if propagated(reference.body):
            # A null that bubbled up cancels the failed field's pending siblings: how many VSee
            # calls they made first depends on timing, in graphql-core's executor as in ours.
            self.uncounted += 1
        else:
            assert compiled.calls == reference.calls, (query, variables)
        return reference


def _key(error: dict[str, Any]) -> bytes:
    return orjson.dumps(error, option=orjson.OPT_SORT_KEYS)


def nulled_at(body: dict[str, Any], path: list[str | int] | None) -> tuple[str | int, ...] | None:
    """The highest null on an error's path: where its null (or another's) replaced the data."""
    if path is None:
        return None
    value: Any = body.get("data")
    for depth, key in enumerate(path):
        if value is None:
            return tuple(path[:depth])
        value = value[key]
    return tuple(path)


def equivalent(compiled: dict[str, Any], reference: dict[str, Any]) -> bool:
    """The same answer as the GraphQL spec defines it, whatever the upstream timing.

    ``data`` must be identical. The order of ``errors`` is the order fields failed in, which
    for concurrent fields is network timing, so they are compared as a set. When a null
    propagated, an error under a position another error already nulled is dropped (spec,
    "Handling Field Errors"): which of those errors is kept is timing too, so then every
    nulled position must carry errors in both answers, and an error that did not propagate
    must be in both.
    """
    if set(compiled) != set(reference) or compiled.get("data") != reference.get("data"):
        return False
    mine = compiled.get("errors") or []
    theirs = reference.get("errors") or []
    if not (propagated(compiled) or propagated(reference)):
        return sorted(map(_key, mine)) == sorted(map(_key, theirs))

    def groups(body: dict[str, Any], errors: list[dict[str, Any]]) -> dict[Any, set[bytes]]:
        found: dict[Any, set[bytes]] = {}
        for error in errors:
            found.setdefault(nulled_at(body, error.get("path")), set()).add(_key(error))
        return found

    ours, others = groups(compiled, mine), groups(reference, theirs)
    if set(ours) != set(others):
        return False
    for position, errors in ours.items():
        own = [e for e in mine if nulled_at(compiled, e.get("path")) == position]
        alone = all(tuple(e.get("path") or ()) == position for e in own) and len(own) == 1
        if alone and errors != others[position]:
            return False
    return True


def difference(query: str, compiled: dict[str, Any], reference: dict[str, Any]) -> str:
    """What to print when two answers differ: the query and only the parts that differ."""
    mine = {_key(e) for e in compiled.get("errors") or []}
    theirs = {_key(e) for e in reference.get("errors") or []}
    return "\n".join(
        [
            query,
            f"data equal: {compiled.get('data') == reference.get('data')}",
            "only compiled: " + b", ".join(sorted(mine - theirs)).decode(),
            "only reference: " + b", ".join(sorted(theirs - mine)).decode(),
        ]
    )


def propagated(body: dict[str, Any]) -> bool:
    """Whether an error's null replaced an ancestor of its field (non-null propagation)."""
    for error in body.get("errors") or []:
        path = error.get("path")
        if not path:
            continue
        value: Any = body.get("data")
        for key in path:
            if value is None:
                return True
            value = value[key]
    return False


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


def _start_pair(
    api_url: str, log: Any, sandbox: Sandbox, **overrides: Any
) -> tuple[Pair, list[ServerThread]]:
    # Rate limits off: thousands of operations from one caller are the point here. No reuse of
    # availability answers: its expiry is a clock, and the two gateways ask at different times.
    settings = {"rate_limit": False, "availability_ttl": 0, **overrides}
    servers = [
        ServerThread(
            create_app(
                gateway_settings(sandbox, api_url=api_url, compiled_execution=compiled, **settings)
            )
        ).start()
        for compiled in (True, False)
    ]
    handles = [Gateway.of(server) for server in servers]
    for handle in handles:  # starts whatever the app starts on its first request
        handle.post("{ __typename }", token="warm-up")
    idle = (tasks(servers[0]), tasks(servers[1]))
    pair = Pair(
        handles[0],
        handles[1],
        sandbox,
        executor_of(servers[0]).counts,
        (servers[0], servers[1]),
        idle,
        log,
    )
    return pair, servers


def _stop(pair: Pair) -> None:
    for server, handle in zip(pair.servers, (pair.compiled, pair.reference), strict=True):
        handle.http.close()
        server.stop()


@pytest.fixture(scope="module")
def sandbox_thread() -> Iterator[tuple[ServerThread, Any]]:
    """A sandbox of this module's own, with its app (whose request log is read in process)."""
    from vsee_sandbox import SandboxConfig
    from vsee_sandbox import create_app as create_sandbox

    app: Any = create_sandbox(SandboxConfig(seed=7))
    server = ServerThread(app).start()
    yield server, app
    server.stop()


@pytest.fixture(scope="module")
def pair(sandbox_thread: tuple[ServerThread, Any]) -> Iterator[Pair]:
    server, app = sandbox_thread
    sandbox = Sandbox(server.url)
    pair, _ = _start_pair(sandbox.api_url, app.state.sandbox.log, sandbox)
    yield pair
    _stop(pair)
    sandbox.http.close()


@pytest.fixture(scope="module")
def mangler(sandbox_thread: tuple[ServerThread, Any]) -> Iterator[tuple[Mangler, ServerThread]]:
    mangler = Mangler(sandbox_thread[0].url)
    server = ServerThread(mangler.app).start()
    yield mangler, server
    server.stop()


@pytest.fixture(scope="module")
def faulty_pair(
    sandbox_thread: tuple[ServerThread, Any], mangler: tuple[Mangler, ServerThread]
) -> Iterator[Pair]:
    """Both gateways behind the mangling proxy; its log counts every call they make."""
    proxy, server = mangler
    sandbox = Sandbox(sandbox_thread[0].url)
    # No retries and a breaker that does not open: a failed call is one call, and the faults
    # (not the breaker's clock) decide every answer.
    pair, _ = _start_pair(
        f"{server.url}/vc/next/api_v3",
        proxy,
        sandbox,
        upstream_retries=0,
        breaker_threshold=1000,
    )
    yield pair
    _stop(pair)
    sandbox.http.close()
