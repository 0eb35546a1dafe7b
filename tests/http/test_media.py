"""Accept-header negotiation: which media type /graphql answers in, and when it is the IDE."""

from __future__ import annotations

import pytest

from gateway.http._media import (
    GRAPHQL_RESPONSE_JSON,
    JSON,
    MULTIPART,
    SSE,
    negotiate,
    prefers_html,
    streaming_transport,
)

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, JSON),
        ("", JSON),
        ("   ", JSON),
        ("*/*", JSON),
        ("application/*", JSON),
        ("application/json", JSON),
        ("application/json; charset=utf-8", JSON),
        (GRAPHQL_RESPONSE_JSON, GRAPHQL_RESPONSE_JSON),
        ("Application/GraphQL-Response+JSON", GRAPHQL_RESPONSE_JSON),
        (f"{GRAPHQL_RESPONSE_JSON}, {JSON};q=0.9", GRAPHQL_RESPONSE_JSON),
        (f"{GRAPHQL_RESPONSE_JSON}, {JSON}", GRAPHQL_RESPONSE_JSON),
        (f"{JSON}, {GRAPHQL_RESPONSE_JSON}", GRAPHQL_RESPONSE_JSON),
        (f"{GRAPHQL_RESPONSE_JSON};q=0.5, {JSON}", JSON),
        (f"{GRAPHQL_RESPONSE_JSON}, */*", GRAPHQL_RESPONSE_JSON),
        (f"{JSON}, */*", JSON),
        # GraphiQL's own fetcher.
        (f"{GRAPHQL_RESPONSE_JSON}, {JSON}, multipart/mixed", GRAPHQL_RESPONSE_JSON),
        (BROWSER, JSON),
        ("text/plain", None),
        ("text/html", None),
        (f"{JSON};q=0, {GRAPHQL_RESPONSE_JSON};q=0", None),
        ("*/*;q=0", None),
        (f"*/*;q=0, {JSON}", JSON),
        (f"{JSON};q=bogus", None),
        # Nothing parsable: as if there were no header.
        ("garbage", JSON),
    ],
)
def test_negotiate(accept: str | None, expected: str | None) -> None:
    assert negotiate(accept) == expected


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (BROWSER, True),
        ("text/html", True),
        ("text/*", True),
        (f"text/html, {JSON}", True),
        ("*/*", False),
        (None, False),
        ("", False),
        (JSON, False),
        (f"text/html;q=0.5, {JSON}", False),
        ("text/html;q=0", False),
    ],
)
def test_prefers_html(accept: str | None, expected: bool) -> None:
    assert prefers_html(accept) is expected


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, None),
        ("", None),
        ("*/*", None),
        (JSON, None),
        ("text/*", None),
        ("text/event-stream", SSE),
        ("Text/Event-Stream; charset=utf-8", SSE),
        ("text/event-stream;q=0", None),
        (f"{JSON}, text/event-stream;q=0.1", SSE),
        ('multipart/mixed;subscriptionSpec="1.0", application/json', MULTIPART),
        ("multipart/mixed;boundary=graphql;subscriptionSpec=1.0,application/json;q=0.9", MULTIPART),
        ("multipart/mixed; subscriptionspec='1.0'", MULTIPART),
        # @defer's multipart is not a subscription transport.
        ("multipart/mixed;deferSpec=20220824, application/json", None),
        ("multipart/mixed", None),
        ("multipart/mixed;subscriptionSpec=1.0;q=0", None),
        ("multipart/mixed;subscriptionSpec=1.0;q=nonsense", None),
    ],
)
def test_streaming_transport(accept: str | None, expected: str | None) -> None:
    assert streaming_transport(accept) == expected
