"""CPU per request of the gateway's own thread, compiled execution against graphql-core's.

    .venv/bin/python -m benchmarks.execution [--rounds 5] [--requests 30]

The sandbox runs in its own process (its CPU is not counted); two gateways (compiled on and
off) run in this process, each in its own uvicorn thread, and the CPU each one's thread spends
is read from /proc per request of each example operation, with every cache warm. Rounds are
interleaved (compiled, reference, compiled, ...) and the median per request is printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from benchmarks._harness import Children, start_sandbox
from gateway.app import create_app
from gateway.settings import Settings
from tests.servers import ServerThread

ROOT = Path(__file__).resolve().parent.parent
HEADERS = {"X-ApiToken": "demo-provider-token", "X-AccountCode": "vclinic"}
_TICKS = os.sysconf("SC_CLK_TCK")


def thread_cpu(native_id: int) -> float:
    fields = Path(f"/proc/self/task/{native_id}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--only", default="")
    parser.add_argument(
        "--in-memory",
        action="store_true",
        help="time execution alone: one request context reused, so every upstream answer is "
        "already in its loaders (no HTTP in or out)",
    )
    args = parser.parse_args()
    os.environ.setdefault("VSEE_METRICS_PORT", "0")
    with Children() as children:
        sandbox = start_sandbox(children)
        api = f"{sandbox.url}/vc/next/api_v3"
        servers = {
            name: ServerThread(
                create_app(Settings(api_url=api, compiled_execution=compiled, rate_limit=False))
            ).start()
            for name, compiled in (("compiled", True), ("reference", False))
        }
        client = httpx.Client(timeout=60, headers=HEADERS)
        start = datetime.now(tz=UTC).replace(minute=0, second=0, microsecond=0)
        week = {"start": start.isoformat(), "end": (start + timedelta(days=7)).isoformat()}
        first = client.post(
            f"{servers['reference'].url}/graphql",
            json={"query": "{ visits(first: 1) { nodes { id } } }"},
        ).json()
        visit_id = first["data"]["visits"]["nodes"][0]["id"]
        operations: dict[str, dict[str, Any]] = {}
        for path in sorted((ROOT / "operations").glob("*.graphql")):
            text = path.read_text()
            if "mutation " in text or (args.only and args.only not in path.stem):
                continue
            variables: dict[str, Any] = {}
            if "$start" in text:
                variables.update(week)
            if "$id" in text:
                variables["id"] = visit_id
            operations[path.stem] = {"query": text, "variables": variables}
        operations["typename"] = {"query": "{ __typename }"}
        samples: dict[tuple[str, str], list[float]] = {}
        if args.in_memory:
            in_memory(servers, operations, samples, args.rounds, args.requests)
        for _ in range(0 if args.in_memory else args.rounds):
            for op, payload in operations.items():
                for name, server in servers.items():
                    url = f"{server.url}/graphql"
                    for _ in range(3):  # warm: caches, plans
                        client.post(url, json=payload).raise_for_status()
                    tid = server.thread.native_id
                    assert tid is not None
                    before = thread_cpu(tid)
                    for _ in range(args.requests):
                        body = client.post(url, json=payload).json()
                        assert "errors" not in body, body
                    spent = (thread_cpu(tid) - before) / args.requests
                    samples.setdefault((op, name), []).append(spent * 1000)
        client.close()
        print(f"{'operation':<22}{'compiled ms':>14}{'reference ms':>14}{'ratio':>8}")
        for op in operations:
            c = statistics.median(samples[(op, "compiled")])
            r = statistics.median(samples[(op, "reference")])
            print(f"{op:<22}{c:>14.2f}{r:>14.2f}{c / r if r else 0:>8.2f}")
        for server in servers.values():
            server.stop()
    sys.exit(0)


def in_memory(
    servers: dict[str, ServerThread],
    operations: dict[str, dict[str, Any]],
    samples: dict[tuple[str, str], list[float]],
    rounds: int,
    requests: int,
) -> None:
    import asyncio
    import time

    from gateway.schema import GatewayContext
    from gateway.upstream import Credentials

    async def run(server: ServerThread, payload: dict[str, Any]) -> float:
        app: Any = server.server.config.app
        view = next(route.app for route in app.routes if getattr(route, "path", "") == "/graphql")
        context = GatewayContext(
            services=app.state.services,
            credentials=Credentials.from_headers({k.lower(): v for k, v in HEADERS.items()}),
        )
        execute = view.schema.execute
        query, variables = payload["query"], payload.get("variables")
        for _ in range(2):  # fills the context's loaders
            result = await execute(query, variables, context)
            assert not result.errors, result.errors
        profile = None
        if os.environ.get("PROFILE"):
            import cProfile

            profile = cProfile.Profile()
            profile.enable()
        started = time.thread_time()
        for _ in range(requests):
            await execute(query, variables, context)
        spent = (time.thread_time() - started) / requests
        if profile is not None:
            profile.disable()
            profile.dump_stats(os.environ["PROFILE"] + f".{server.port}.{len(query)}")
        return spent

    for _ in range(rounds):
        for op, payload in operations.items():
            for name, server in servers.items():
                loop = server.server.servers[0].get_loop()
                spent = asyncio.run_coroutine_threadsafe(run(server, payload), loop).result()
                samples.setdefault((op, name), []).append(spent * 1000)


if __name__ == "__main__":
    main()
