"""Upstream paths and the checks that keep caller input from reshaping them."""

from __future__ import annotations

import re

from gateway.upstream import InvalidInput

# Ids and codes go into URL paths; anything else could walk to another endpoint.
_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,127}$")


class InvalidId(InvalidInput):
    """An id or code that cannot be a VSee id; raised before any upstream call."""

    def __init__(self, what: str, value: str) -> None:
        shown = value if len(value) <= 40 else value[:40] + "…"
        super().__init__(f"{shown!r} is not a valid {what}", field=what)


def safe_segment(what: str, value: object) -> str:
    text = str(value).strip()
    if not _SAFE.fullmatch(text) or ".." in text:
        raise InvalidId(what, text)
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
