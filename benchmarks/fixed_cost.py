"""What an empty query (`{ __typename }`) costs in the gateway, layer by layer (issue 16, item 2).

Drives the real ASGI app in process (no sockets, no load generator sharing the CPU) with the
headers a mobile client sends, and measures CPU per request of each layer on its own: the whole
app as uvicorn calls it, then each middleware around a do-nothing app, the view's context
creation, and ``schema.execute`` alone. Rounds are interleaved and the median is reported, so a
noisy neighbour hits every layer alike. No upstream is called (``__typename`` needs none).

    .venv/bin/python benchmarks/fixed_cost.py                  # about 20 s
    .venv/bin/python benchmarks/fixed_cost.py --requests 5000 --rounds 7
    .venv/bin/python benchmarks/fixed_cost.py --profile        # + the top of a cProfile
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import logging
import pstats
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from gateway.app import AdmissionMiddleware, create_app
from gateway.http import CachingHeadersMiddleware
from gateway.observability import Metrics, RequestContextMiddleware, configure_logging
from gateway.settings import load_settings

BODY = b'{"query":"{ __typename }"}'
HEADERS = [
    (b"host", b"127.0.0.1:8000"),
    (b"user-agent", b"okhttp/4.12.0"),
    (b"accept", b"application/graphql-response+json, application/json"),
    (b"content-type", b"application/json"),
    (b"content-length", str(len(BODY)).encode()),
    (b"x-apitoken", b"0123456789abcdef0123456789abcdef"),
    (b"x-accountcode", b"vclinic"),
]

Step = Callable[[], Awaitable[None]]


def _scope(app: Any) -> Scope:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
        "scheme": "http",
        "method": "POST",
        "root_path": "",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "headers": list(HEADERS),
        "state": {},
        "app": app,
    }


async def _receive() -> Message:
    return {"type": "http.request", "body": BODY, "more_body": False}


def _sink() -> tuple[Send, list[Message]]:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    return send, sent


def asgi_step(app: Any, owner: Any, check: bool = False) -> Step:
    """One request through ``app`` exactly as uvicorn would make it."""

    async def step() -> None:
        send, sent = _sink()
        await app(_scope(owner), _receive, send)
        if check and (sent[0]["status"] != 200 or b'"Query"' not in sent[-1]["body"]):
            raise RuntimeError(f"unexpected answer: {sent}")

    return step


async def _nothing(scope: Scope, receive: Receive, send: Send) -> None:
    await receive()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


async def measure(steps: dict[str, Step], requests: int, rounds: int) -> dict[str, float]:
    """Median CPU µs per call of each step, over interleaved rounds."""
    per: dict[str, list[float]] = {name: [] for name in steps}
    for step in steps.values():  # warm caches (parser, validation) and imports
        for _ in range(50):
            await step()
    for _ in range(rounds):
        for name, step in steps.items():
            started = time.process_time()
            for _ in range(requests):
                await step()
            per[name].append((time.process_time() - started) / requests * 1e6)
    return {name: statistics.median(values) for name, values in per.items()}


async def main_async(args: argparse.Namespace) -> None:
    # The rate limiter stays on (its cost is part of every request) with room for the probe.
    settings = load_settings(
        api_url="http://127.0.0.1:9/vc/next/api_v3",
        log_level=args.log_level,
        metrics=False,
        rate_limit_per_second=1e9,
        rate_limit_burst=1e9,
        rate_limit_account_per_second=1e9,
        rate_limit_account_burst=1e9,
    )
    configure_logging(settings.log_level, settings.log_format)
    if args.quiet_access:
        logging.getLogger("gateway.access").setLevel(logging.WARNING)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        view = next(r for r in app.routes if getattr(r, "path", "") == "/graphql").app
        stack = app.build_middleware_stack()
        metrics = Metrics()

        async def context_only() -> None:
            request = Request(_scope(app), _receive)
            await view.get_context(request, Response())

        async def execute_only() -> None:
            request = Request(_scope(app), _receive)
            context = await view.get_context(request, Response())
            await view.schema.execute("{ __typename }", context_value=context)

        steps: dict[str, Step] = {
            "whole app (as uvicorn calls it)": asgi_step(app, app, check=True),
            "  middleware stack around a no-op app": asgi_step(
                CachingHeadersMiddleware(
                    RequestContextMiddleware(
                        AdmissionMiddleware(_nothing, limit=64, max_queue=256, metrics=metrics),
                        deadline=settings.request_deadline,
                        max_body_bytes=settings.max_body_bytes,
                        max_pending_body_bytes=settings.max_pending_body_bytes,
                    )
                ),
                app,
            ),
            "    CachingHeadersMiddleware": asgi_step(CachingHeadersMiddleware(_nothing), app),
            "    RequestContextMiddleware": asgi_step(
                RequestContextMiddleware(
                    _nothing,
                    deadline=settings.request_deadline,
                    max_body_bytes=settings.max_body_bytes,
                    max_pending_body_bytes=settings.max_pending_body_bytes,
                ),
                app,
            ),
            "    AdmissionMiddleware": asgi_step(
                AdmissionMiddleware(_nothing, limit=64, max_queue=256, metrics=metrics), app
            ),
            "  Starlette app + router + view": asgi_step(stack, app, check=True),
            "  view alone (no middleware)": asgi_step(view, app, check=True),
            "    context creation": context_only,
            "    schema.execute + context": execute_only,
            "  no-op ASGI app (the probe's own cost)": asgi_step(_nothing, app),
        }
        # Starlette's own stack includes our middleware; "router + view" is the app minus them.
        steps["  Starlette app + router + view"] = asgi_step(app.router, app, check=True)
        results = await measure(steps, args.requests, args.rounds)
        width = max(map(len, results))
        print(f"CPU µs per request, median of {args.rounds} interleaved rounds of {args.requests}")
        print(f"(log level {args.log_level}{', access log off' if args.quiet_access else ''})")
        for name, value in results.items():
            print(f"{name:<{width}}  {value:8.1f}")
        if args.profile:
            profiler = cProfile.Profile()
            step = steps["whole app (as uvicorn calls it)"]
            profiler.enable()
            for _ in range(args.requests):
                await step()
            profiler.disable()
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats(args.sort).print_stats(args.top)
            print(out.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per round and layer")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning"])
    parser.add_argument("--quiet-access", action="store_true", help="access log off")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the app")
    parser.add_argument("--sort", default="tottime", help="cProfile order (tottime, cumtime)")
    parser.add_argument("--top", type=int, default=30, help="cProfile rows")
    args = parser.parse_args()
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
