"""The vsee-gateway command: serve the gateway (on VSee or the sandbox), print the schema."""

from __future__ import annotations

import argparse
import contextlib
import errno
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
from typing import Any

import httpx

from gateway import __version__
from gateway.settings import Settings, SettingsError, load_settings

SANDBOX_PREFIX = "/vc/next/api_v3"
# uvicorn's h11 protocol with a bound on the time to send request heads (slow-loris).
BOUNDED_PROTOCOL = "gateway.http._server:BoundedH11Protocol"
# The same bounds over httptools' C parser, used when httptools is installed: it parses a
# request for a fraction of h11's CPU (benchmarks/server_options.py).
BOUNDED_HTTPTOOLS = "gateway.http._server:BoundedHttpToolsProtocol"


def bounded_protocol() -> str:
    """The bounded HTTP protocol `serve` runs: httptools' when installed, else h11's."""
    return BOUNDED_HTTPTOOLS if importlib.util.find_spec("httptools") else BOUNDED_PROTOCOL


DESCRIPTION = (
    "VSee GraphQL gateway: one GraphQL endpoint in front of VSee Clinic's REST API (api_v3)."
)


def _free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


# The sandbox is its own distribution (it holds demo tokens and unauthenticated fault knobs,
# so it never ships in the production wheel or image); this is how to get it.
SANDBOX_MISSING = (
    "vsee-gateway: --sandbox needs the vsee-sandbox package, which is not installed. "
    "From a clone of the repository: pip install ./sandbox (make run does this); "
    "or run the sandbox anywhere and pass --upstream-url http://HOST:PORT/vc/next/api_v3"
)


def _check_port_free(host: str, port: int) -> None:
    """Exit with one line if nothing can listen on host:port, before any banner is printed.

    uvicorn binds the same way (SO_REUSEADDR), so a port this check could bind, it can too.
    """
    if port == 0:
        return
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise SystemExit(f"vsee-gateway: cannot listen on {host}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                reason = (
                    f"port {port} is already in use; stop what uses it or choose another port "
                    "with --port or VSEE_GATEWAY_PORT"
                )
            else:
                reason = exc.strerror or str(exc)
            raise SystemExit(f"vsee-gateway: cannot listen on {host}:{port}: {reason}") from None


def _graphiql_status(settings: Settings) -> tuple[bool, str]:
    """(on, why): GraphiQL is on when enabled and this installation has its files."""
    if not settings.graphiql:
        return False, "off (VSEE_GRAPHIQL=false)"
    from gateway.web_assets import locate_assets

    files = locate_assets(settings.web_dir)
    if files.missing():
        return False, f"off, its files are missing. {files.hint}"
    return True, "on"


def _demo_headers(base: str) -> dict[str, str] | None:
    """The sandbox's demo member credentials, as it lists them, for GraphiQL's Headers pane."""
    with contextlib.suppress(httpx.HTTPError, ValueError, KeyError, TypeError):
        listed: Any = httpx.get(f"{base}/_sandbox/users", timeout=5).json()
        for account in listed["accounts"]:
            for user in account["users"]:
                if user["type_name"] == "member":
                    return {"X-ApiToken": user["token"], "X-AccountCode": account["code"]}
    return None


@contextlib.contextmanager
def _sandbox_process(seed: int) -> Iterator[str]:
    """The sandbox in a child process on a free loopback port; yields its root URL."""
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
        yield base
    finally:
        child.terminate()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()


def _serve(settings: Settings, extra_lines: Sequence[str] = ()) -> None:
    import uvicorn

    from gateway.observability import configure_logging

    configure_logging(settings.log_level, settings.log_format)

    host, port = settings.gateway_host, settings.gateway_port
    _check_port_free(host, port)
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0", "::") else host
    url = f"http://{shown}:{port}"
    graphiql_on, graphiql = _graphiql_status(settings)
    if graphiql_on:
        graphiql += f", open {url}/graphql in a browser"
    lines = [
        f"VSee GraphQL gateway {__version__} on {url}/graphql",
        f"  upstream: {settings.api_base}",
        f"  GraphiQL: {graphiql}",
        f"  health: {url}/healthz (alive), {url}/readyz (this process can serve)",
        *extra_lines,
    ]
    print("\n".join(lines), flush=True)
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
            # The gateway logs each request itself; uvicorn's access logger is disabled, but
            # with access_log on uvicorn still formats its arguments on every request.
            access_log=False,
            timeout_graceful_shutdown=20,
            # Request heads must arrive within VSEE_HEADER_TIMEOUT (slow-loris). By name, not
            # class: workers unpickle their config before they answer uvicorn's health pings,
            # and importing the gateway there could miss the ping and get the worker killed.
            http=bounded_protocol(),
            # Subscriptions: pings find dead peers (a peer silent as long again is dropped).
            ws_ping_interval=settings.ws_ping_interval,
            ws_ping_timeout=settings.ws_ping_interval,
            # A WebSocket message is bounded as a request body is (uvicorn's own: 16 MiB).
            ws_max_size=settings.max_body_bytes,
        )
        shutil.rmtree(metrics_dir, ignore_errors=True)
        return
    from gateway.app import create_app
    from gateway.http import set_header_timeout

    set_header_timeout(settings.header_timeout)
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_level=settings.log_level,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=20,
        http=bounded_protocol(),
        ws_ping_interval=settings.ws_ping_interval,
        ws_ping_timeout=settings.ws_ping_interval,
        ws_max_size=settings.max_body_bytes,
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
    # Refused before the sandbox starts: its start-up would only delay the same one-line error.
    _check_port_free(settings.gateway_host, settings.gateway_port)
    if importlib.util.find_spec("vsee_sandbox") is None:
        raise SystemExit(SANDBOX_MISSING)
    # uvicorn re-raises SIGTERM/SIGINT once it has shut down; turning that into SystemExit lets
    # the sandbox child be stopped too instead of outliving us.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _exit_on_signal)
    with _sandbox_process(args.seed) as base:
        sandbox_overrides: dict[str, object] = {**overrides, "api_url": base + SANDBOX_PREFIX}
        # GraphiQL starts with the demo member's headers, unless the caller chose others.
        if "VSEE_GRAPHIQL_HEADERS" not in os.environ:
            sandbox_overrides["graphiql_headers"] = _demo_headers(base)
        note = (
            f"  sandbox: demo data on {base}; every user and token: {base}/_sandbox/users"
            " (GraphiQL starts with the demo member's headers)"
        )
        _serve(load_settings(**sandbox_overrides), [note])


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


def _settings_epilog() -> str:
    """Every setting as its environment variable and default, for `serve --help`."""
    rows = []
    for name, info in Settings.model_fields.items():
        default = info.get_default(call_default_factory=True)
        shown = "unset" if default is None else json.dumps(default, default=str)
        rows.append(f"  VSEE_{name.upper():<30} default {shown}")
    return (
        "Every setting is also an environment variable (a flag wins over its variable):\n"
        + "\n".join(rows)
        + "\n\nHealth: GET /healthz answers while the process runs; GET /readyz answers 200 "
        "while this process can serve (VSee's and Redis's health are in its body)."
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vsee-gateway",
        description=DESCRIPTION,
        epilog="Run 'vsee-gateway COMMAND --help' for a command's flags.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser(
        "serve",
        help="run the GraphQL gateway",
        description="Serve GraphQL on /graphql (and GraphiQL for browsers when enabled),\n"
        "in front of VSee's api_v3 or, with --sandbox, of a local sandbox with demo data.",
        epilog=_settings_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument(
        "--host", metavar="ADDRESS", help="bind address [env VSEE_GATEWAY_HOST, default 127.0.0.1]"
    )
    serve.add_argument(
        "--port", type=int, help="port to listen on [env VSEE_GATEWAY_PORT, default 8000]"
    )
    serve.add_argument("--workers", type=int, help="worker processes [env VSEE_WORKERS, default 1]")
    serve.add_argument(
        "--upstream-url",
        metavar="URL",
        help="VSee api_v3 base URL, everything before /visits "
        "[env VSEE_API_URL, default VSee's preview api_v3]",
    )
    serve.add_argument(
        "--sandbox",
        action="store_true",
        help="start the sandbox upstream (the separate vsee-sandbox package) on a free "
        "loopback port and use it instead of VSee [no env]",
    )
    serve.add_argument(
        "--seed",
        type=int,
        default=7,
        help="seed of the sandbox's demo data, with --sandbox [no env, default 7]",
    )
    serve.set_defaults(func=cmd_serve)

    schema = sub.add_parser(
        "schema",
        help="print the GraphQL schema (SDL) to stdout",
        description="Print the GraphQL schema the gateway serves, in SDL, to stdout.",
    )
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
