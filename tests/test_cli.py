"""The vsee-gateway command: the README's run command end to end, settings errors, the schema."""

from __future__ import annotations

import os
import re
import subprocess

import httpx

from gateway.schema import export_sdl
from tests.conftest import MEMBER
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
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert process.stdout is not None
    printed = process.stdout.read()
    process.stdout.close()
    assert re.search(rf"http://localhost:{port}/graphql", printed)
