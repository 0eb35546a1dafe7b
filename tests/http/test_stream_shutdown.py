"""SIGTERM ends HTTP subscription streams cleanly, so their clients reconnect elsewhere."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tests.http.streams import MEMBER, MULTIPART, SSE, multipart_parts, sse_events
from tests.servers import free_port, wait_until_healthy

ROOT = Path(__file__).resolve().parents[2]
TICKS = {"query": "subscription { ticks { n } }"}


def test_sigterm_completes_sse_and_closes_multipart_streams() -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.http.stream_app", str(port)],
        cwd=ROOT,
        env={**os.environ, "VSEE_SHUTDOWN_GRACE": "10", "VSEE_LOG_LEVEL": "info"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, process)
        with (
            httpx.Client(timeout=30) as http,
            http.stream("POST", f"{url}/graphql", json=TICKS, headers={**SSE, **MEMBER}) as sse,
            http.stream(
                "POST", f"{url}/graphql", json=TICKS, headers={**MULTIPART, **MEMBER}
            ) as multipart,
        ):
            events = (event for event in sse_events(sse) if event[0])
            parts = (part for part in multipart_parts(multipart) if part != {})
            assert next(events) == ("next", {"data": {"ticks": {"n": 0}}})
            assert next(parts) == {"payload": {"data": {"ticks": {"n": 0}}}}
            process.send_signal(signal.SIGTERM)
            # SSE: its complete event; multipart: the close delimiter. Both end normally.
            assert list(events) == [("complete", None)]
            assert list(parts) == ["--"]
            # Draining: a new subscription is refused, to be retried on another replica.
            refused = http.post(f"{url}/graphql", json=TICKS, headers={**SSE, **MEMBER})
            assert refused.status_code == 503
            assert refused.headers["retry-after"] == "1"
            assert refused.json()["errors"][0]["extensions"]["code"] == "SHUTTING_DOWN"
        assert process.wait(timeout=60) in (0, -signal.SIGTERM)
        assert process.stderr is not None
        log = process.stderr.read().decode()
        assert "Traceback" not in log
        assert "ERROR" not in log
        assert "Application shutdown complete" in log
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()
