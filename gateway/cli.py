"""The ``vsee-gateway`` command: serve the gateway (on VSee or the sandbox), print the schema."""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx

from gateway.settings import Settings, SettingsError, load_settings

SANDBOX_PREFIX = "/vc/next/api_v3"


def _free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


# The sandbox is its own distribution (it holds demo tokens and unauthenticated fault knobs,
# so it never ships in the production wheel or image); this is how to get it.
SANDBOX_MISSING = (
    "vsee-gateway: --sandbox needs the vsee-sandbox package, which is not installed; "
    "from a clone of the repository: pip install ./sandbox (make run does this)"
)


@contextlib.contextmanager
def _sandbox_process(seed: int) -> Iterator[str]:
    """The sandbox in a child process on a free loopback port; yields its API base URL."""
    if importlib.util.find_spec("vsee_sandbox") is None:
        raise SystemExit(SANDBOX_MISSING)
    port = _free_port()
    command = [sys.executable, "-m", "vsee_sandbox", "--port", str(port), "--seed", str(seed)]
    child = subprocess.Popen(command)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            if child.poll() is not None:
                raise SystemExit("the sandbox upstream exited during start-up")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/_sandbox/health", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise SystemExit("the sandbox upstream did not start within 20 s")
            time.sleep(0.1)
        yield base + SANDBOX_PREFIX
    finally:
        child.terminate()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()


def _serve(settings: Settings) -> None:
    import uvicorn

    from gateway.http import BoundedH11Protocol
    from gateway.observability import configure_logging

    configure_logging(settings.log_level, settings.log_format)

    host, port = settings.gateway_host, settings.gateway_port
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0", "::") else host
    print(f"VSee GraphQL gateway on http://{shown}:{port}/graphql", flush=True)
    print(f"  upstream: {settings.api_base}", flush=True)
    if settings.graphiql:
        print(f"  GraphiQL: open http://{shown}:{port}/graphql in a browser", flush=True)
    if settings.workers > 1:
        # Workers write metrics to files here, so /metrics on any of them shows all of them.
        metrics_dir = tempfile.mkdtemp(prefix="vsee-gateway-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
        # Each worker builds its own app (own client and caches) from VSEE_* settings.
        for key, value in settings.model_dump(mode="json").items():
            name = f"VSEE_{key.upper()}"
            if value is None:
                os.environ.pop(name, None)
            else:
                # pydantic-settings reads lists and booleans back from JSON.
                os.environ[name] = value if isinstance(value, str) else json.dumps(value)
        uvicorn.run(
            "gateway.app:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=settings.workers,
            log_level=settings.log_level,
            log_config=None,
            timeout_graceful_shutdown=20,
            # Request heads must arrive within VSEE_HEADER_TIMEOUT (slow-loris).
            http=BoundedH11Protocol,
        )
        shutil.rmtree(metrics_dir, ignore_errors=True)
        return
    from gateway.app import create_app

    BoundedH11Protocol.header_timeout = settings.header_timeout
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_level=settings.log_level,
        log_config=None,
        timeout_graceful_shutdown=20,
        http=BoundedH11Protocol,
    )


def cmd_serve(args: argparse.Namespace) -> None:
    overrides: dict[str, object] = {
        "gateway_host": args.host,
        "gateway_port": args.port,
        "workers": args.workers,
        "api_url": args.upstream_url,
    }
    settings = load_settings(**overrides)
    if not args.sandbox:
        _serve(settings)
        return
    # uvicorn re-raises SIGTERM/SIGINT once it has shut down; turning that into SystemExit lets
    # the sandbox child be stopped too instead of outliving us.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _exit_on_signal)
    with _sandbox_process(args.seed) as base:
        print("  (embedded sandbox upstream; demo tokens are listed in README.md)", flush=True)
        _serve(load_settings(**{**overrides, "api_url": base}))


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(0)


def cmd_schema(args: argparse.Namespace) -> None:
    from gateway.schema import export_sdl

    sys.stdout.write(export_sdl())


def cmd_manifest(args: argparse.Namespace) -> None:
    from gateway.http import ManifestError, manifest_text

    try:
        text = manifest_text(args.operations)
    except ManifestError as exc:
        raise SystemExit(f"vsee-gateway: {exc}") from None
    if args.output is None:
        sys.stdout.write(text)
        return
    output = Path(args.output)
    if args.check:
        if not output.is_file() or output.read_text(encoding="utf-8") != text:
            raise SystemExit(f"vsee-gateway: {output} is out of date; run without --check")
        return
    output.write_text(text, encoding="utf-8")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vsee-gateway", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the GraphQL gateway")
    serve.add_argument("--host", help="bind address (VSEE_GATEWAY_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (VSEE_GATEWAY_PORT, default 8000)")
    serve.add_argument("--workers", type=int, help="worker processes (VSEE_WORKERS, default 1)")
    serve.add_argument("--upstream-url", help="VSee api_v3 base URL (VSEE_API_URL)")
    serve.add_argument(
        "--sandbox", action="store_true", help="start the sandbox upstream and use it"
    )
    serve.add_argument("--seed", type=int, default=7, help="sandbox data seed (with --sandbox)")
    serve.set_defaults(func=cmd_serve)

    schema = sub.add_parser("schema", help="print the GraphQL schema (SDL)")
    schema.set_defaults(func=cmd_schema)

    manifest = sub.add_parser(
        "manifest", help="build the trusted-documents manifest from operations/*.graphql"
    )
    manifest.add_argument("--operations", default="operations", help="folder of .graphql files")
    manifest.add_argument("--output", help="manifest file to write (default: print it)")
    manifest.add_argument(
        "--check", action="store_true", help="fail if --output is not what would be written"
    )
    manifest.set_defaults(func=cmd_manifest)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except SettingsError as exc:
        raise SystemExit(f"vsee-gateway: {exc}") from None
    except KeyboardInterrupt:
        pass
