"""Upstream client transports as the gateway uses them: requests/s and client CPU per call.

Serves the sandbox's own visit-detail answer (GET /visits/{id}, ~10 KB of JSON) from a
minimal server on loopback, or the sandbox itself (--target sandbox), and calls it with:

- ``UpstreamClient(transport="httpx")`` and ``UpstreamClient(transport="aiohttp")``: the
  gateway's client exactly as resolvers use it (credentials, envelope decoding, breaker),
- plain httpx (default transport), httpx over ``httpx_aiohttp.AiohttpTransport``, and raw
  aiohttp, for reference: the gap to them is what the wrapper and the transport cost.

Each client makes --requests calls with --concurrency in flight; rounds interleave the clients
so a noisy neighbour hurts them alike, and the median round is reported. Client CPU is this
process's CPU time (user + system) divided by the calls made.

    .venv/bin/python benchmarks/transport.py [--requests 2000] [--rounds 3] [--markdown FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import httpx
import orjson
from _harness import (
    API_PREFIX,
    LOOPBACK,
    Children,
    command_line,
    exit_on_sigterm,
    free_port,
    machine_lines,
    markdown_table,
    replace_block,
    start_sandbox,
    text_table,
)
from httpx_aiohttp import AiohttpTransport

from gateway.upstream import Credentials, UpstreamClient

MEMBER = Credentials(token="demo-member-token", account_code="vclinic")

# A raw ASGI app answering every request with one fixed body: the cheapest server uvicorn
# can run, so the client side dominates what is measured.
STATIC_SERVER = """
import sys, uvicorn
body = open(sys.argv[1], "rb").read()
headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning", access_log=False)
"""

Call = Callable[[], Awaitable[object]]


@dataclass
class Client:
    name: str
    note: str
    rates: list[float] = field(default_factory=list)
    cpu_us: list[float] = field(default_factory=list)


async def measure(call: Call, requests: int, concurrency: int) -> tuple[float, float]:
    """(requests/s, client CPU µs per request) for ``requests`` calls, ``concurrency`` at once."""
    for _ in range(min(50, requests)):
        await call()
    remaining = requests

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await call()

    cpu0, t0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return requests / wall, cpu / requests * 1e6


async def visit_detail_body() -> tuple[bytes, str]:
    """The sandbox's GET /visits/{id} answer for a completed visit of the demo member."""
    from vsee_sandbox import SandboxConfig, create_app

    headers = {"X-ApiToken": MEMBER.token, "X-AccountCode": MEMBER.account_code}
    transport = httpx.ASGITransport(app=create_app(SandboxConfig(seed=7)))
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
        listing = await client.get(
            f"{API_PREFIX}/visits", params={"status": 40, "limit": 1}, headers=headers
        )
        visit_id = listing.json()["data"][0]["id"]
        detail = await client.get(f"{API_PREFIX}/visits/{visit_id}", headers=headers)
        detail.raise_for_status()
        return detail.content, str(visit_id)


async def run(args: argparse.Namespace, base_url: str, path: str) -> list[Client]:
    url = base_url + path
    headers = MEMBER.headers()
    clients: dict[str, Call] = {}
    notes: dict[str, str] = {}
    async with AsyncExitStack() as stack:
        for transport in ("httpx", "aiohttp"):
            upstream = UpstreamClient(base_url, transport=transport)
            stack.push_async_callback(upstream.aclose)

            async def via_gateway_client(upstream: UpstreamClient = upstream) -> object:
                return (await upstream.get(path, MEMBER, endpoint="GET /visits/{id}")).data

            name = f"UpstreamClient(transport={transport!r})"
            clients[name] = via_gateway_client
            notes[name] = "the gateway's client" + (" (default)" if transport == "aiohttp" else "")

        plain = await stack.enter_async_context(httpx.AsyncClient())
        over_aiohttp = await stack.enter_async_context(
            httpx.AsyncClient(transport=AiohttpTransport())
        )
        session = await stack.enter_async_context(aiohttp.ClientSession())

        async def httpx_plain() -> object:
            return orjson.loads((await plain.get(url, headers=headers)).content)

        async def httpx_aiohttp() -> object:
            return orjson.loads((await over_aiohttp.get(url, headers=headers)).content)

        async def raw_aiohttp() -> object:
            async with session.get(url, headers=headers) as response:
                return orjson.loads(await response.read())

        clients["httpx.AsyncClient()"] = httpx_plain
        notes["httpx.AsyncClient()"] = "reference: httpx's own transport"
        clients["httpx + AiohttpTransport"] = httpx_aiohttp
        notes["httpx + AiohttpTransport"] = "reference: same transport, no wrapper"
        clients["aiohttp.ClientSession"] = raw_aiohttp
        notes["aiohttp.ClientSession"] = "reference: floor for a Python client"

        results = {name: Client(name, notes[name]) for name in clients}
        for round_no in range(1, args.rounds + 1):
            for name, call in clients.items():
                rate, cpu = await measure(call, args.requests, args.concurrency)
                results[name].rates.append(rate)
                results[name].cpu_us.append(cpu)
                print(
                    f"  round {round_no}: {name:36s} {rate:7.0f} req/s {cpu:7.0f} µs CPU/call",
                    file=sys.stderr,
                    flush=True,
                )
    return list(results.values())


def report(args: argparse.Namespace, results: list[Client], body_size: int) -> str:
    baseline = next(c for c in results if c.name == "UpstreamClient(transport='httpx')")
    base_cpu = statistics.median(baseline.cpu_us)
    header = ["client", "requests/s", "client CPU µs/call", "CPU vs httpx transport", "what"]
    rows = [
        [
            c.name,
            f"{statistics.median(c.rates):,.0f}",
            f"{statistics.median(c.cpu_us):,.0f}",
            f"{statistics.median(c.cpu_us) / base_cpu:.2f}×",
            c.note,
        ]
        for c in results
    ]
    setup = (
        f"{args.requests} GETs per client and round, {args.concurrency} in flight, "
        f"median of {args.rounds} interleaved rounds; {body_size / 1024:.1f} KiB JSON body "
        f"(the sandbox's visit detail) from the {args.target} server on loopback."
    )
    print()
    print(text_table(header, rows, left=(0, 4)))
    print(setup)
    return "\n".join(
        [
            *machine_lines(),
            f"- Command: `{command_line()}`",
            f"- {setup}",
            "",
            markdown_table(header, rows, left=(0, 4)),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="calls per client and round")
    parser.add_argument("--concurrency", type=int, default=10, help="calls in flight")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median kept)")
    parser.add_argument(
        "--target",
        choices=["static", "sandbox"],
        default="static",
        help="static: a minimal server returning the visit body; sandbox: the sandbox itself",
    )
    parser.add_argument("--quick", action="store_true", help="300 calls, 1 round")
    parser.add_argument("--markdown", type=Path, help="update the transport block of this file")
    args = parser.parse_args()
    if args.quick:
        args.requests, args.rounds = 300, 1
    if not (1 <= args.requests <= 100_000 and 1 <= args.concurrency <= 100 and args.rounds <= 10):
        parser.error("--requests 1..100000, --concurrency 1..100, --rounds 1..10")
    exit_on_sigterm()
    body, visit_id = asyncio.run(visit_detail_body())
    with Children() as children, tempfile.TemporaryDirectory() as tmp:
        if args.target == "sandbox":
            server = start_sandbox(children)
            base_url, path = server.url + API_PREFIX, f"/visits/{visit_id}"
        else:
            body_file = Path(tmp) / "visit.json"
            body_file.write_bytes(body)
            port = free_port()
            server = children.spawn(
                "static",
                [sys.executable, "-c", STATIC_SERVER, str(body_file), str(port)],
                url=f"http://{LOOPBACK}:{port}",
                health="/",
            )
            base_url, path = server.url, "/visits/1"
        results = asyncio.run(run(args, base_url, path))
    text = report(args, results, len(body))
    if args.markdown is not None:
        replace_block(args.markdown, "transport", text)
        print(f"updated {args.markdown}")


if __name__ == "__main__":
    main()
