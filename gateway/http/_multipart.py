"""Apollo's multipart HTTP protocol for subscriptions (Apollo Client's native HTTP subscriptions).

The response is ``multipart/mixed`` with boundary ``graphql``: each part is JSON, an event as
``{"payload": <execution result>}``, a keep-alive as ``{}``, and a transport-level error (the
subscription is over, e.g. a slow client dropped) as ``{"payload": null, "errors": [...]}``.
Every part is followed at once by the next boundary, because clients deliver a part only when
they see the boundary after it; the close delimiter (``--graphql--``) ends the stream
normally. See https://www.apollographql.com/docs/graphos/routing/operations/subscriptions/multipart-protocol.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import orjson

BOUNDARY = b"graphql"
MULTIPART_MIXED = 'multipart/mixed; boundary="graphql"; subscriptionSpec="1.0"'

_DELIMITER = b"\r\n--" + BOUNDARY
_PART_HEAD = b"\r\nContent-Type: application/json; charset=utf-8\r\n\r\n"


def _part(body: bytes) -> bytes:
    return _PART_HEAD + body + _DELIMITER


class MultipartFraming:
    """``Framing`` of a multipart subscription stream (see ``_streaming``)."""

    name = "multipart"
    media_type = MULTIPART_MIXED
    headers: Mapping[str, str] = MappingProxyType({})

    def opening(self) -> bytes:
        # The first delimiter, then a keep-alive at once, as Apollo's router does.
        return _DELIMITER + self.heartbeat()

    def event(self, result: Mapping[str, Any]) -> bytes:
        return _part(orjson.dumps({"payload": result}))

    def heartbeat(self) -> bytes:
        return _part(b"{}")

    def failure(self, errors: list[dict[str, Any]]) -> bytes:
        return _part(orjson.dumps({"payload": None, "errors": errors}))

    def closing(self) -> bytes:
        # The delimiter after the last part becomes the close delimiter.
        return b"--\r\n"
