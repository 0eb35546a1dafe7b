"""The gateway's fixed cost per request over real HTTP, by uvicorn option (issue 16, item 2).

Starts the gateway (the real app, as ``vsee-gateway serve`` builds it) once per variant (event
loop: asyncio or uvloop, when installed; HTTP parser: the gateway's bounded h11 protocol or the
bounded httptools one, which sends a response's head and body in one write; log level info or
warning) and sends it `{ __typename }` from 8 keep-alive
connections; the server's CPU per request is read from /proc. Variants are measured in
interleaved rounds and the median is reported, with each variant's ratio to the first.

    .venv/bin/python benchmarks/server_options.py                        # about 1 minute
    .venv/bin/python benchmarks/server_options.py --seconds 5 --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import statistics
import sys
import time
from dataclasses import dataclass

import aiohttp
from _harness import LOOPBACK, Children, cpu_seconds, free_port

BODY = b'{"query":"{ __typename }"}'
HEADERS = {
    "accept": "application/graphql-response+json, application/json",
    "content-type": "application/json",
    "x-apitoken": "0123456789abcdef0123456789abcdef",
    "x-accountcode": "vclinic",
}

SERVER = """
import sys, uvicorn
from gateway.app import create_app
from gateway.cli import BOUNDED_PROTOCOL, BOUNDED_HTTPTOOLS
from gateway.observability import configure_logging
from gateway.settings import load_settings
port, loop, http, level = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
if http == "httptools-uncorked":
    from gateway.http import BoundedHttpToolsProtocol
    BoundedHttpToolsProtocol.cork_responses = False
    http = "httptools"
settings = load_settings(
    api_url="http://127.0.0.1:9/vc/next/api_v3", log_level=level, metrics=False,
    rate_limit_per_second=1e9, rate_limit_burst=1e9,
    rate_limit_account_per_second=1e9, rate_limit_account_burst=1e9,
)
configure_logging(settings.log_level, settings.log_format)
uvicorn.run(
    create_app(settings), host="127.0.0.1", port=int(port), log_level=level, log_config=None,
    access_log=False,
    loop=loop, http={"h11": BOUNDED_PROTOCOL, "httptools": BOUNDED_HTTPTOOLS}[http],
)
"""


@dataclass(frozen=True)
class Variant:
    name: str
    loop: str
    http: str
    log_level: str = "info"


VARIANTS = [
    Variant("asyncio + h11 (before)", "asyncio", "h11"),
    Variant("asyncio + httptools, head and body in two writes", "asyncio", "httptools-uncorked"),
    Variant("asyncio + httptools (as shipped)", "asyncio", "httptools"),
    Variant("uvloop + h11", "uvloop", "h11"),
    Variant("uvloop + httptools", "uvloop", "httptools"),
    Variant("asyncio + httptools, log level warning", "asyncio", "httptools", "warning"),
]


async def hammer(url: str, seconds: float, connections: int) -> int:
    done = 0
    stop = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal done
            while time.monotonic() < stop:
                async with session.post(url, data=BODY, headers=HEADERS) as response:
                    body = await response.read()
                    if response.status != 200 or b'"Query"' not in body:
                        raise RuntimeError(f"{response.status}: {body[:200]!r}")
                done += 1

        await asyncio.gather(*(worker() for _ in range(connections)))
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="measured seconds per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    variants = [v for v in VARIANTS if v.loop != "uvloop" or importlib.util.find_spec("uvloop")]
    per: dict[str, list[float]] = {v.name: [] for v in variants}
    rates: dict[str, list[float]] = {v.name: [] for v in variants}
    with Children() as children:
        servers = {}
        for v in variants:
            port = free_port()
            servers[v.name] = children.spawn(
                v.name,
                [sys.executable, "-c", SERVER, str(port), v.loop, v.http, v.log_level],
                url=f"http://{LOOPBACK}:{port}",
                health="/healthz",
                timeout=60,
            )
        for _ in range(args.rounds):
            for v in variants:
                server = servers[v.name]
                url = server.url + "/graphql"
                asyncio.run(hammer(url, 0.5, args.connections))  # warm-up
                before = cpu_seconds(server.pid)
                n = asyncio.run(hammer(url, args.seconds, args.connections))
                per[v.name].append((cpu_seconds(server.pid) - before) / n * 1e6)
                rates[v.name].append(n / args.seconds)
    base = statistics.median(per[variants[0].name])
    width = max(len(v.name) for v in variants)
    print(f"server CPU µs per `{{ __typename }}`, median of {args.rounds} interleaved rounds")
    for v in variants:
        cpu = statistics.median(per[v.name])
        rps = statistics.median(rates[v.name])
        print(f"{v.name:<{width}}  {cpu:7.0f} µs  {cpu / base:5.2f}×  {rps:7.0f} req/s")


if __name__ == "__main__":
    main()
