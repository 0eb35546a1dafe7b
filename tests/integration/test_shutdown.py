"""Graceful shutdown: on SIGTERM the gateway finishes what it started, then exits cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time

import httpx

from tests.conftest import MEMBER
from tests.servers import Sandbox, free_port, gateway_command, wait_until_healthy


def test_sigterm_drains_in_flight_requests(upstream: Sandbox) -> None:
    port = free_port()
    env = {**os.environ, "VSEE_LOG_LEVEL": "info"}
    process = subprocess.Popen(
        gateway_command("serve", "--port", str(port), "--upstream-url", upstream.api_url),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, process)
        upstream.faults(latency_ms=1500)
        result: dict[str, httpx.Response] = {}

        def in_flight() -> None:
            result["response"] = httpx.post(
                f"{url}/graphql",
                json={"query": "{ currentVisit { id } }"},
                headers={"X-ApiToken": MEMBER, "X-AccountCode": "vclinic"},
                timeout=30,
            )

        worker = threading.Thread(target=in_flight)
        worker.start()
        time.sleep(0.5)  # the request is now waiting on the slow upstream
        process.send_signal(signal.SIGTERM)
        worker.join(timeout=30)
        response = result["response"]
        assert response.status_code == 200
        assert response.json()["data"]["currentVisit"]["id"]
        # uvicorn re-raises the signal once it has shut down cleanly, so -SIGTERM is a clean exit.
        assert process.wait(timeout=30) in (0, -signal.SIGTERM)
        assert process.stderr is not None
        log = process.stderr.read().decode()
        assert "Traceback" not in log
        assert "Application shutdown complete" in log  # lifespan ran: upstream client closed
    finally:
        upstream.faults()
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()


def test_sigterm_answers_requests_on_kept_alive_connections_with_connection_close(
    upstream: Sandbox,
) -> None:
    port = free_port()
    process = subprocess.Popen(
        gateway_command("serve", "--port", str(port), "--upstream-url", upstream.api_url),
        env={**os.environ, "VSEE_LOG_LEVEL": "warning", "VSEE_SHUTDOWN_GRACE": "2"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, process)
        headers = {"X-ApiToken": MEMBER, "X-AccountCode": "vclinic"}
        query = {"query": "{ rooms { nodes { code } } }"}
        # Several kept-alive connections, each warmed up before the signal.
        clients = [httpx.Client(base_url=url, timeout=10) for _ in range(4)]
        for client in clients:
            assert client.post("/graphql", json=query, headers=headers).status_code == 200
        process.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        for client in clients:
            # Sent on a connection opened before SIGTERM: answered, and told to close.
            response = client.post("/graphql", json=query, headers=headers)
            assert response.status_code == 200
            assert response.json()["data"]["rooms"]["nodes"]
            assert response.headers["connection"] == "close"
        with httpx.Client(base_url=url, timeout=10) as fresh:
            ready = fresh.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["status"] == "draining"
        for client in clients:
            client.close()
        assert process.wait(timeout=30) in (0, -signal.SIGTERM)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
