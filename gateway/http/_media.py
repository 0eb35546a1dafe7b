"""Content negotiation for /graphql: which media type to answer in, per the Accept header."""

from __future__ import annotations

from functools import lru_cache

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"
HTML = "text/html"

# (type, subtype, q) per media range, in header order.
_Ranges = tuple[tuple[str, str, float], ...]

# How closely a media range names a type: exact beats type/* beats */* (RFC 9110 §12.5.1).
_EXACT, _SUBTYPE_WILDCARD, _ANY, _UNMATCHED = 2, 1, 0, -1


@lru_cache(maxsize=256)
def _parse(header: str) -> _Ranges:
    ranges: list[tuple[str, str, float]] = []
    for part in header.split(","):
        media, *params = part.split(";")
        kind, slash, subtype = media.strip().lower().partition("/")
        if not slash or not kind.strip() or not subtype.strip():
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = min(max(float(value.strip()), 0.0), 1.0)
                except ValueError:
                    q = 0.0
        ranges.append((kind.strip(), subtype.strip(), q))
    return tuple(ranges)


def _quality(ranges: _Ranges, media_type: str) -> tuple[float, int]:
    """The q the most specific matching range gives ``media_type``, and how specific it was."""
    kind, _, subtype = media_type.partition("/")
    q, specificity = 0.0, _UNMATCHED
    for range_kind, range_subtype, range_q in ranges:
        if range_kind == kind and range_subtype == subtype:
            match = _EXACT
        elif range_kind == kind and range_subtype == "*":
            match = _SUBTYPE_WILDCARD
        elif range_kind == "*" and range_subtype == "*":
            match = _ANY
        else:
            continue
        if match > specificity:
            q, specificity = range_q, match
    return q, specificity


def negotiate(accept: str | None) -> str | None:
    """The media type to answer a GraphQL request in, or None when the client accepts neither.

    No (or an unparsable) Accept header means application/json, as the GraphQL-over-HTTP spec
    asks of servers until all clients send one. A wildcard also means application/json, since
    a client that does not name application/graphql-response+json may not know its status codes.
    """
    ranges = _parse(accept) if accept and accept.strip() else ()
    if not ranges:
        return JSON
    new_q, new_match = _quality(ranges, GRAPHQL_RESPONSE_JSON)
    old_q, _ = _quality(ranges, JSON)
    if new_q <= 0 and old_q <= 0:
        return None
    if new_q != old_q:
        return GRAPHQL_RESPONSE_JSON if new_q > old_q else JSON
    return GRAPHQL_RESPONSE_JSON if new_match == _EXACT else JSON


def prefers_html(accept: str | None) -> bool:
    """Whether the client names HTML (not just */*) and likes it at least as much as JSON.

    True for a browser's navigation (``text/html,...,*/*;q=0.8``); false for curl's ``*/*`` and
    for API clients, which then get a GraphQL answer instead of the IDE page.
    """
    if not accept:
        return False
    ranges = _parse(accept)
    html_q, html_match = _quality(ranges, HTML)
    if html_match < _SUBTYPE_WILDCARD or html_q <= 0:
        return False
    return html_q >= max(_quality(ranges, GRAPHQL_RESPONSE_JSON)[0], _quality(ranges, JSON)[0])


SSE = "sse"
MULTIPART = "multipart"


@lru_cache(maxsize=256)
def streaming_transport(accept: str | None) -> str | None:
    """The streaming transport a request asks for in its Accept header, or None.

    ``SSE`` when it names ``text/event-stream`` (GraphQL over SSE); ``MULTIPART`` when it names
    ``multipart/mixed`` with ``subscriptionSpec=1.0`` (Apollo's multipart subscriptions). Only
    an explicit, acceptable (q > 0) range counts: ``*/*`` asks for no stream.
    """
    if not accept:
        return None
    multipart = False
    for part in accept.split(","):
        media, *params = part.split(";")
        media = media.strip().lower()
        values: dict[str, str] = {}
        for param in params:
            name, _, value = param.partition("=")
            values[name.strip().lower()] = value.strip().strip("'\"")
        try:
            if float(values.get("q", "1")) <= 0:
                continue
        except ValueError:
            continue
        if media == "text/event-stream":
            return SSE
        if media == "multipart/mixed" and values.get("subscriptionspec", "").startswith("1.0"):
            multipart = True
    return MULTIPART if multipart else None
