"""The ``vsee-sandbox`` command: run the sandbox VSee upstream on a local port."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Sequence

API_PREFIX = "/vc/next/api_v3"


def _rate(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return value


def _non_negative(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vsee-sandbox",
        description=(
            "Run the sandbox VSee Clinic api_v3 upstream (a development stand-in for VSee: "
            "seeded demo data, demo tokens, and unauthenticated fault knobs under /_sandbox/). "
            "Never expose it beyond your machine."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8900, help="port (default 8900)")
    parser.add_argument(
        "--latency-ms",
        type=_non_negative,
        default=0.0,
        help="latency added to every API call, in milliseconds (default 0)",
    )
    parser.add_argument(
        "--jitter-ms",
        type=_non_negative,
        default=0.0,
        help="random extra latency of up to this many milliseconds (default 0)",
    )
    parser.add_argument(
        "--error-rate",
        type=_rate,
        default=0.0,
        help="share of API calls answered with a 500, between 0 and 1 (default 0)",
    )
    parser.add_argument(
        "--seed", type=int, default=7, help="seed of the generated demo data (default 7)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    import uvicorn

    from ._app import create_app
    from ._config import SandboxConfig

    config = SandboxConfig(
        seed=args.seed,
        latency_ms=args.latency_ms,
        jitter_ms=args.jitter_ms,
        error_rate=args.error_rate,
    )
    print(f"VSee sandbox upstream on http://{args.host}:{args.port}{API_PREFIX}", flush=True)
    app = create_app(config)
    with contextlib.suppress(KeyboardInterrupt):
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)
