"""The vsee-sandbox command: flags are checked, the server starts and answers its health check."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import httpx


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_bad_flags_are_refused_naming_the_flag() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "vsee_sandbox", "--error-rate", "3"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--error-rate" in result.stderr


def test_help_describes_every_flag() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "vsee_sandbox", "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    text = " ".join(result.stdout.split("options:", 1)[1].split())
    for flag in ("--host", "--port", "--latency-ms", "--jitter-ms", "--error-rate", "--seed"):
        # Every flag is followed by its own explanation, which names its default.
        explanation = text.split(f"{flag} ", 1)[1].split(" --", 1)[0]
        assert "default" in explanation, flag


def test_the_command_serves_the_api() -> None:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "vsee_sandbox", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, "the sandbox exited during start-up"
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/_sandbox/health", timeout=1)
            except httpx.HTTPError:
                health = None
            if health is not None and health.status_code == 200:
                break
            assert time.monotonic() < deadline, "the sandbox did not start within 30 s"
            time.sleep(0.1)
        rooms = httpx.get(
            f"http://127.0.0.1:{port}/vc/next/api_v3/rooms",
            headers={"X-AccountCode": "vclinic"},
            timeout=5,
        )
        assert rooms.status_code == 200
        assert rooms.json()["data"]
    finally:
        process.terminate()
        process.wait(timeout=30)
        assert process.stdout is not None
        printed = process.stdout.read()
        process.stdout.close()
    assert f"http://127.0.0.1:{port}/vc/next/api_v3" in printed
