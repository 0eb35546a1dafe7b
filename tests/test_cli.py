"""The vsee-gateway command: the README's run command end to end, settings errors, the schema."""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import re
import socket
import subprocess

import httpx
import pytest

import gateway
from gateway.cli import build_parser
from gateway.schema import export_sdl
from gateway.settings import Settings
from tests.conftest import MEMBER
from tests.http.conftest import web_modules  # noqa: F401  (the fixture, for GraphiQL "on")
from tests.servers import free_port, gateway_command, wait_until_healthy


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        gateway_command(*args),
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_bad_setting_stops_start_up_with_one_line_naming_it() -> None:
    result = run_cli("serve", VSEE_GATEWAY_PORT="eighty")
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "VSEE_GATEWAY_PORT" in lines[0]
    assert "Traceback" not in result.stderr


def test_bad_flags_are_refused() -> None:
    result = run_cli("serve", "--workers", "many")
    assert result.returncode == 2
    assert "--workers" in result.stderr


def test_schema_prints_the_sdl() -> None:
    result = run_cli("schema")
    assert result.returncode == 0
    assert result.stdout == export_sdl()


def test_serve_with_the_embedded_sandbox_answers_queries() -> None:
    """What `make run` does on a fresh machine: gateway plus sandbox, demo tokens working."""
    port = free_port()
    process = subprocess.Popen(
        gateway_command("serve", "--sandbox", "--port", str(port)),
        env={**os.environ, "VSEE_LOG_LEVEL": "warning"},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, process)
        answer = httpx.post(
            f"{url}/graphql",
            json={"query": "{ currentVisit { id status provider { fullName } } }"},
            headers={"X-ApiToken": MEMBER, "X-AccountCode": "vclinic"},
            timeout=10,
        ).json()
        assert answer["data"]["currentVisit"]["status"] == "IN_PROGRESS"
        page = httpx.get(f"{url}/graphql", headers={"Accept": "text/html"}, timeout=10)
        assert "graphiql" in page.text.lower()
        # GraphiQL starts with the sandbox's demo member, read from the sandbox itself.
        assert MEMBER in page.text
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert process.stdout is not None
    printed = process.stdout.read()
    process.stdout.close()
    assert re.search(rf"http://localhost:{port}/graphql", printed)


def test_version_is_the_packages() -> None:
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"vsee-gateway {gateway.__version__}"
    assert importlib.metadata.version("vsee-gateway") == gateway.__version__


@pytest.mark.parametrize("command", [(), ("serve",), ("schema",)])
def test_help_is_plain_text(command: tuple[str, ...]) -> None:
    result = run_cli(*command, "--help")
    assert result.returncode == 0
    assert result.stdout.startswith("usage: vsee-gateway")
    for markup in ("``", ":class:", ":func:", ".. "):
        assert markup not in result.stdout, markup


def test_every_serve_flag_explains_itself_and_names_its_variable() -> None:
    serve = next(
        action
        for action in build_parser()._actions
        if isinstance(action, argparse._SubParsersAction)
    ).choices["serve"]
    settings = {f"VSEE_{name.upper()}" for name in Settings.model_fields}
    for action in serve._actions:
        if action.dest == "help":
            continue
        assert action.help, action.option_strings
        named = re.findall(r"\[env (VSEE_[A-Z_]+)|\[(no env)", action.help)
        assert named, f"{action.option_strings}: say its variable, or that it has none"
        variable = named[0][0]
        assert not variable or variable in settings, variable
    text = run_cli("serve", "--help").stdout
    # And every other setting is listed with its variable.
    assert settings <= set(re.findall(r"VSEE_[A-Z_]+", text))


def test_a_busy_port_is_one_line_and_no_banner() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for extra in ((), ("--sandbox",)):
            result = run_cli("serve", "--port", str(port), *extra)
            assert result.returncode == 1
            assert result.stdout == "", "no banner for a gateway that cannot start"
            lines = result.stderr.strip().splitlines()
            assert len(lines) == 1, result.stderr
            assert f"{port} is already in use" in lines[0]
            assert "--port" in lines[0]
            assert "VSEE_GATEWAY_PORT" in lines[0]


def banner_of(*args: str, **env: str) -> str:
    port = free_port()
    process = subprocess.Popen(
        gateway_command("serve", "--port", str(port), *args),
        env={**os.environ, "VSEE_LOG_LEVEL": "warning", **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}", process)
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert process.stdout is not None
    printed = process.stdout.read()
    process.stdout.close()
    return printed


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "GraphiQL: on, open http://localhost:"),
        ({"VSEE_GRAPHIQL": "false"}, "GraphiQL: off (VSEE_GRAPHIQL=false)"),
        ({"VSEE_WEB_DIR": "/nonexistent"}, "GraphiQL: off, its files are missing"),
    ],
)
@pytest.mark.usefixtures("web_modules")
def test_the_banner_tells_whether_graphiql_is_on(env: dict[str, str], expected: str) -> None:
    printed = banner_of(**env)
    assert expected in printed
    assert "README" not in printed
    assert "/healthz" in printed
    assert "/readyz" in printed
