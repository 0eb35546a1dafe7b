"""Real servers for integration tests: uvicorn on 127.0.0.1, each in its own thread and loop."""

from __future__ import annotations

import base64
import contextlib
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn

from gateway.cli import bounded_protocol


def gid(type_name: str, key: object) -> str:
    """The global id the gateway gives a ``type_name`` whose VSee id is ``key``."""
    return base64.urlsafe_b64encode(f"{type_name}:{key}".encode()).decode()


def raw_id(global_id: str) -> str:
    """VSee's id inside a global id (what the gateway sends upstream)."""
    return base64.urlsafe_b64decode(global_id.encode()).decode().partition(":")[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServerThread:
    """A uvicorn server speaking real HTTP on loopback, started and stopped by a test."""

    def __init__(self, app: Any, *, port: int | None = None) -> None:
        # Bound here and handed to uvicorn: a port found free and bound later by uvicorn could
        # be taken in between (another test's client socket), and the server would not start.
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", port or 0))
        self.port: int = self._socket.getsockname()[1]
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            access_log=False,
            lifespan="on",
            # The HTTP protocol `vsee-gateway serve` runs (bounded; httptools when installed).
            http=bounded_protocol(),
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self._socket.close()

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class Sandbox:
    """Test-side handle on a running sandbox: its API base, request log and knobs."""

    url: str
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=10))

    @property
    def api_url(self) -> str:
        return f"{self.url}/vc/next/api_v3"

    def log(self) -> dict[str, Any]:
        body: dict[str, Any] = self.http.get(f"{self.url}/_sandbox/requests").json()
        return body

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = self.log()["counts"]
        return counts

    def total(self) -> int:
        return int(self.log()["total"])

    def clear_log(self) -> None:
        self.http.delete(f"{self.url}/_sandbox/requests").raise_for_status()

    def reset(self) -> None:
        self.http.post(f"{self.url}/_sandbox/reset").raise_for_status()

    def faults(self, **faults: Any) -> None:
        self.http.put(f"{self.url}/_sandbox/faults", json=faults).raise_for_status()

    def users(self) -> list[dict[str, Any]]:
        body = self.http.get(f"{self.url}/_sandbox/users").json()
        users: list[dict[str, Any]] = []
        for account in body if isinstance(body, list) else body.get("accounts", []):
            users.extend(account.get("users", []))
        return users


@dataclass
class Gateway:
    """Test-side handle on a running gateway: sends GraphQL over real HTTP."""

    url: str
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30))
    # The separate /metrics listener (VSEE_METRICS_PORT), never on the public port.
    metrics_url: str = ""

    @classmethod
    def of(cls, server: ServerThread) -> Gateway:
        """The handle of a gateway app served by ``server`` (started: its lifespan has run)."""
        port = getattr(server.server.config.app.state, "metrics_port", None)
        metrics = f"http://127.0.0.1:{port}/metrics" if port else ""
        return cls(server.url, metrics_url=metrics)

    def metrics(self) -> str:
        """The Prometheus exposition text from the metrics listener."""
        response = self.http.get(self.metrics_url)
        response.raise_for_status()
        return response.text

    def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        account: str | None = "vclinic",
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        sent = dict(headers or {})
        if token is not None:
            sent["X-ApiToken"] = token
        if account is not None:
            sent["X-AccountCode"] = account
        payload: dict[str, Any] = {"query": query}
        if variables is not None:
            payload["variables"] = variables
        return self.http.post(f"{self.url}/graphql", json=payload, headers=sent)

    def query(
        self, query: str, variables: dict[str, Any] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        response = self.post(query, variables, **kwargs)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


def wait_until_healthy(url: str, process: subprocess.Popen[Any], timeout: float = 30) -> None:
    """Poll ``url``/healthz until it answers 200; fail fast if ``process`` exits first."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        assert process.poll() is None, "the server exited during start-up"
        assert time.monotonic() < deadline, "the server did not start in time"
        time.sleep(0.1)


def gateway_command(*args: str) -> list[str]:
    """``vsee-gateway`` as an operator runs it, from this interpreter."""
    return [sys.executable, "-m", "gateway", *args]
