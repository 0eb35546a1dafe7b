"""What each layer of one upstream call costs in CPU (issue 16, item 5).

One static server on loopback answers every GET with the sandbox's visit detail (~10 KB of
JSON, as transport.py does); this process calls it through a stack of clients that add one
layer at a time, from a bare aiohttp session to the gateway's ``UpstreamClient`` as it runs in
production (metrics observer, the request's deadline and id in scope, logging configured at the
shipped level). Rounds interleave the clients and the median CPU per call is reported, with the
step each layer adds.

    .venv/bin/python benchmarks/upstream_layers.py                  # about 1 minute
    .venv/bin/python benchmarks/upstream_layers.py --requests 5000 --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path

import aiohttp
import httpx
import orjson
from _harness import LOOPBACK, Children, free_port
from httpx_aiohttp import AiohttpTransport
from transport import MEMBER, STATIC_SERVER, visit_detail_body

from gateway.observability import Metrics, configure_logging
from gateway.upstream import UpstreamClient, deadline_scope, request_id

Call = Callable[[], Awaitable[object]]
PATH = "/visits/1"


async def measure(call: Call, requests: int, concurrency: int) -> float:
    """Client CPU µs per call for ``requests`` calls, ``concurrency`` in flight."""
    for _ in range(50):
        await call()
    left = requests

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await call()

    cpu0 = time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return (time.process_time() - cpu0) / requests * 1e6


def in_request(call: Call, deadline: float = 30.0) -> Call:
    """``call`` as a resolver makes it: inside a request's deadline and with its request id."""

    async def wrapped() -> object:
        token = request_id.set("0123456789abcdef0123456789abcdef")
        try:
            with deadline_scope(deadline):
                return await call()
        finally:
            request_id.reset(token)

    return wrapped


async def run(args: argparse.Namespace, base_url: str) -> dict[str, list[float]]:
    url = base_url + PATH
    headers = MEMBER.headers()
    async with AsyncExitStack() as stack:
        session = await stack.enter_async_context(aiohttp.ClientSession())
        over_aiohttp = await stack.enter_async_context(
            httpx.AsyncClient(base_url=base_url, transport=AiohttpTransport())
        )
        bare = UpstreamClient(base_url)
        observed = UpstreamClient(base_url, observer=Metrics())
        for client in (bare, observed):
            stack.push_async_callback(client.aclose)

        async def raw_aiohttp() -> object:
            async with session.get(url, headers=headers) as response:
                return orjson.loads(await response.read())["data"]

        async def httpx_api() -> object:
            response = await over_aiohttp.get(PATH, headers=headers)
            return orjson.loads(response.content)["data"]

        def gateway_client(client: UpstreamClient) -> Call:
            async def call() -> object:
                return (await client.get(PATH, MEMBER, endpoint="GET /visits/{id}")).data

            return call

        clients: dict[str, Call] = {
            "aiohttp.ClientSession + orjson (floor)": raw_aiohttp,
            "httpx API over AiohttpTransport + orjson": httpx_api,
            "UpstreamClient (breaker, bulkhead, envelope)": gateway_client(bare),
            "  + metrics observer": gateway_client(observed),
            "  + in a request (deadline, request id)": in_request(gateway_client(observed)),
        }
        logged = "  + logging at the shipped level (info)"
        clients[logged] = clients["  + in a request (deadline, request id)"]
        per: dict[str, list[float]] = {name: [] for name in clients}
        root = logging.getLogger()
        # The lines go nowhere: what is measured is producing them, not the disk.
        devnull = stack.enter_context(open(os.devnull, "w"))  # noqa: ASYNC230, SIM115
        for _ in range(args.rounds):
            for name, call in clients.items():
                if name == logged:
                    configure_logging("info", "json")
                    handler = root.handlers[0]
                    assert isinstance(handler, logging.StreamHandler)
                    handler.setStream(devnull)
                per[name].append(await measure(call, args.requests, args.concurrency))
                if name == logged:
                    root.handlers[:] = []
                    root.setLevel(logging.WARNING)
    return per


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="calls per client and round")
    parser.add_argument("--concurrency", type=int, default=10, help="calls in flight")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    args = parser.parse_args()
    body, _ = asyncio.run(visit_detail_body())
    logging.getLogger().setLevel(logging.WARNING)
    with Children() as children, tempfile.TemporaryDirectory() as tmp:
        body_file = Path(tmp) / "visit.json"
        body_file.write_bytes(body)
        port = free_port()
        server = children.spawn(
            "static",
            [sys.executable, "-c", STATIC_SERVER, str(body_file), str(port)],
            url=f"http://{LOOPBACK}:{port}",
            health="/",
        )
        if args.loop == "uvloop":
            import uvloop

            per = uvloop.run(run(args, server.url))
        else:
            per = asyncio.run(run(args, server.url))
    print(
        f"client CPU µs per call, median of {args.rounds} interleaved rounds of "
        f"{args.requests} calls ({args.concurrency} in flight), {len(body) / 1024:.1f} KiB body, "
        f"{args.loop} event loop"
    )
    width = max(map(len, per))
    previous = None
    floor = statistics.median(next(iter(per.values())))
    for name, values in per.items():
        value = statistics.median(values)
        step = "" if previous is None else f"{value - previous:+7.0f}"
        print(f"{name:<{width}}  {value:7.0f}  {value / floor:5.2f}× floor  {step}")
        previous = value


if __name__ == "__main__":
    main()
