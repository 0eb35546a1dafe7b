"""Load probe for the sandbox upstream: requests/s and server CPU per request on simple GETs.

    .venv/bin/python benchmarks/sandbox_load.py [--seconds 5] [--clients 16] [--path /rooms]

Starts the sandbox under uvicorn in a subprocess on a free 127.0.0.1 port, then hammers
GET /rooms and GET /visits/{id} (demo member token) from concurrent keep-alive clients for
a bounded time. Prints the figures; asserts nothing. Uses aiohttp when installed (cheaper
per request on the client side, which shares the machine) and httpx otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
PREFIX = "/vc/next/api_v3"
HEADERS = {"X-AccountCode": "vclinic", "X-ApiToken": "demo-member-token"}
SERVER = """
import sys, uvicorn
from vsee_sandbox import SandboxConfig, create_app
uvicorn.run(create_app(SandboxConfig(seed=7)), host="127.0.0.1", port=int(sys.argv[1]),
            log_level="warning", access_log=False)
"""

Get = Callable[[str], Awaitable[int]]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_until_up(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("the sandbox exited during start-up")
        try:
            if httpx.get(f"{base}/_sandbox/health", timeout=0.5).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    raise SystemExit("the sandbox did not start within 15 s")


async def hammer(base: str, paths: list[str], clients: int, seconds: float) -> tuple[int, int]:
    """Returns (requests answered 200, other answers)."""
    stop = time.monotonic() + seconds
    ok = failed = 0

    async def worker(get: Get, offset: int) -> None:
        nonlocal ok, failed
        n = offset
        while time.monotonic() < stop:
            status = await get(base + paths[n % len(paths)])
            n += 1
            if status == 200:
                ok += 1
            else:
                failed += 1

    if importlib.util.find_spec("aiohttp") is not None:  # it comes with httpx-aiohttp
        import aiohttp

        connector = aiohttp.TCPConnector(limit=clients)
        async with aiohttp.ClientSession(headers=HEADERS, connector=connector) as session:

            async def get(url: str) -> int:
                async with session.get(url) as response:
                    await response.read()
                    return response.status

            await asyncio.gather(*(worker(get, i) for i in range(clients)))
    else:
        limits = httpx.Limits(max_connections=clients)
        async with httpx.AsyncClient(headers=HEADERS, limits=limits) as client:

            async def get(url: str) -> int:
                return (await client.get(url)).status_code

            await asyncio.gather(*(worker(get, i) for i in range(clients)))
    return ok, failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--path", action="append", help="API path(s) to GET instead")
    args = parser.parse_args()

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = subprocess.Popen([sys.executable, "-c", SERVER, str(port)], cwd=ROOT)
    try:
        wait_until_up(base, process)
        current = httpx.get(f"{base}{PREFIX}/visits/current", headers=HEADERS).json()["data"]
        paths = args.path or ["/rooms", f"/visits/{current['id']}"]
        urls = [PREFIX + path for path in paths]
        asyncio.run(hammer(base, urls, args.clients, 0.5))  # warm-up
        cpu_before, started = cpu_seconds(process.pid), time.perf_counter()
        ok, failed = asyncio.run(hammer(base, urls, args.clients, args.seconds))
        elapsed = time.perf_counter() - started
        cpu = cpu_seconds(process.pid) - cpu_before
    finally:
        process.terminate()
        process.wait(timeout=10)
    total = ok + failed
    print(f"paths: {', '.join(paths)} ({args.clients} concurrent clients, {args.seconds:g} s)")
    print(f"requests: {total} ({failed} not 200)")
    print(f"throughput: {total / elapsed:,.0f} requests/s")
    print(f"sandbox CPU: {cpu:.2f} s = {cpu / max(total, 1) * 1e6:,.0f} µs per request")
    print(f"sandbox CPU use: {cpu / elapsed:.0%} of one core")


if __name__ == "__main__":
    main()
