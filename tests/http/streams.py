"""Test-side helpers for HTTP subscription streams: a gateway serving ``stream_schema``, and
readers of SSE events and multipart parts over a real connection."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.http import StreamRegistry
from gateway.schema import QueryLimits
from gateway.settings import Settings
from tests.http.stream_schema import stream_schema
from tests.servers import ServerThread

MEMBER = {"X-ApiToken": "member-token", "X-AccountCode": "vclinic"}
SSE = {"Accept": "text/event-stream"}
MULTIPART = {"Accept": 'multipart/mixed;subscriptionSpec="1.0", application/json'}
# Nothing in stream_schema calls VSee; an address where nothing listens makes sure of it.
NO_UPSTREAM = "http://127.0.0.1:9/vc/next/api_v3"


@dataclass
class StreamGateway:
    """A running gateway serving ``stream_schema`` through the whole middleware stack."""

    server: ServerThread
    app: Starlette
    http: httpx.Client

    @property
    def url(self) -> str:
        return f"{self.server.url}/graphql"

    @property
    def streams(self) -> StreamRegistry:
        registry: StreamRegistry = self.app.state.streams
        return registry

    def stream(
        self,
        query: str,
        *,
        accept: dict[str, str] = SSE,
        headers: dict[str, str] | None = None,
        variables: dict[str, Any] | None = None,
        extensions: dict[str, Any] | None = None,
    ) -> contextlib.AbstractContextManager[httpx.Response]:
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = variables
        if extensions is not None:
            body["extensions"] = extensions
        sent = {**accept, **(MEMBER if headers is None else headers)}
        return self.http.stream("POST", self.url, json=body, headers=sent)


def serve_streams(
    limits: QueryLimits | None = None, **overrides: Any
) -> contextlib.AbstractContextManager[StreamGateway]:
    @contextlib.contextmanager
    def run() -> Iterator[StreamGateway]:
        settings = Settings(**{"api_url": NO_UPSTREAM, **overrides})
        app = create_app(settings, schema=stream_schema(limits))
        with ServerThread(app) as server, httpx.Client(timeout=30) as http:
            yield StreamGateway(server, app, http)

    return run()


def sse_events(response: httpx.Response) -> Iterator[tuple[str, Any]]:
    """(event, data) of each SSE event as it arrives; ``("", None)`` for a keep-alive comment."""
    buffer = ""
    for text in response.iter_text():
        buffer += text
        while "\n\n" in buffer:
            block, buffer = buffer.split("\n\n", 1)
            event, data = "", None
            for line in block.split("\n"):
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    value = line[5:].strip()
                    data = json.loads(value) if value else None
            yield event, data


def multipart_parts(response: httpx.Response) -> Iterator[Any]:
    """Each JSON part as it arrives (a part counts once the delimiter after it is there);
    ``"--"`` once the close delimiter has come."""
    delimiter = "\r\n--graphql"
    buffer = ""
    seen_first = False
    for text in response.iter_text():
        buffer += text
        while True:
            if not seen_first:
                if not buffer.startswith(delimiter):
                    break
                buffer = buffer[len(delimiter) :]
                seen_first = True
            if buffer.startswith("--"):
                yield "--"
                return
            end = buffer.find(delimiter)
            if end < 0:
                break
            part, buffer = buffer[:end], buffer[end + len(delimiter) :]
            head, _, body = part.partition("\r\n\r\n")
            assert "content-type: application/json" in head.lower(), head
            yield json.loads(body)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    """Wait (generously) until ``condition()`` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)
