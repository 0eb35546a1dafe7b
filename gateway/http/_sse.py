"""GraphQL over Server-Sent Events, the graphql-sse protocol's distinct connections mode.

One request, one event stream: each execution result is a ``next`` event whose data is the
result, and a ``complete`` event ends the stream (with an empty ``data:`` line, without which
a browser's EventSource never reports it). Errors found before execution (validation, limits,
credentials) are ``next`` events too, as the protocol asks: a 4xx would make clients retry or
hide the reason. Keep-alives are SSE comments. See
https://github.com/enisdenjo/graphql-sse/blob/master/PROTOCOL.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import orjson

EVENT_STREAM = "text/event-stream"

_COMMENT = b":\n\n"
_COMPLETE = b"event: complete\ndata:\n\n"


class SSEFraming:
    """``Framing`` of a graphql-sse stream (see ``_streaming``)."""

    name = "sse"
    media_type = f"{EVENT_STREAM}; charset=utf-8"
    headers: Mapping[str, str] = MappingProxyType({})

    def opening(self) -> bytes:
        return _COMMENT

    def event(self, result: Mapping[str, Any]) -> bytes:
        # orjson writes no newline, which would split the event's data line.
        return b"event: next\ndata: " + orjson.dumps(result) + b"\n\n"

    def heartbeat(self) -> bytes:
        return _COMMENT

    def failure(self, errors: list[dict[str, Any]]) -> bytes:
        return self.event({"errors": errors})

    def closing(self) -> bytes:
        return _COMPLETE

    def single(self, result: Mapping[str, Any]) -> bytes:
        """A whole stream of one result: a query's or mutation's, or a refusal."""
        return self.event(result) + _COMPLETE
