"""Upstream paths, and the id checks that keep caller input from reshaping them."""

from __future__ import annotations

import re

from gateway.upstream import InvalidInput

# Ids and codes go into URL paths and form fields; anything else could walk to another endpoint.
_PATTERNS: dict[str, re.Pattern[str]] = {
    # VSee's numeric ids (visits, members, providers), sent as strings or numbers.
    "numeric": re.compile(r"^[0-9]{1,20}$"),
    # Mongo-style or UUID-like ids (intakes, attachments, consultations).
    "uuid": re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$"),
    # Room codes, member codes and other human-chosen codes.
    "code": re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,127}$"),
}
_KINDS = {
    "visit id": "numeric",
    "member id": "numeric",
    "provider id": "numeric",
    "intake id": "uuid",
    "attachment id": "uuid",
    "consultation id": "uuid",
    "room code": "code",
    "member code": "code",
}


class InvalidId(InvalidInput):
    """An id or code that cannot be a VSee id; raised before any upstream call."""

    def __init__(self, what: str, value: str, *, field: str | None = None) -> None:
        shown = value if len(value) <= 40 else value[:40] + "…"
        super().__init__(f"{shown!r} is not a valid {what}", field=field or what)


def safe_segment(what: str, value: object, *, field: str | None = None) -> str:
    """``value`` as text if it is a well-formed ``what`` (e.g. "visit id"), else ``InvalidId``."""
    text = str(value).strip()
    pattern = _PATTERNS[_KINDS.get(what, "code")]
    if not pattern.fullmatch(text) or ".." in text:
        raise InvalidId(what, text, field=field)
    return text


def visit_path(visit_id: object) -> str:
    return f"/visits/{safe_segment('visit id', visit_id)}"


def intake_path(intake_id: object) -> str:
    return f"/intakes/{safe_segment('intake id', intake_id)}"


def room_path(code: object) -> str:
    return f"/rooms/{safe_segment('room code', code)}"


def room_providers_path(code: object) -> str:
    return f"{room_path(code)}/providers"


def room_provider_path(code: object, provider_id: object) -> str:
    return f"{room_providers_path(code)}/{safe_segment('provider id', provider_id)}"
