"""Typed reading of loosely typed request values (query strings, forms and JSON alike)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._errors import invalid, missing

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


class Params:
    """Named values as a client sent them; VSee takes `"15"` and `15` alike, and so do we."""

    __slots__ = ("data",)

    def __init__(self, data: Mapping[str, Any] | None = None) -> None:
        self.data: Mapping[str, Any] = data if data is not None else {}

    def __contains__(self, name: object) -> bool:
        return name in self.data

    def get(self, name: str) -> Any:
        value = self.data.get(name)
        # PHP keeps the last of repeated scalar fields; a list only makes sense where asked for.
        if isinstance(value, list) and value and not isinstance(value[-1], dict | list):
            return value[-1]
        return value

    def first(self, *names: str) -> str | None:
        """The first of several spellings the client used (e.g. `intakeId` / `intake_id`)."""
        for name in names:
            if self.get(name) not in (None, ""):
                return name
        return None

    def text(self, name: str) -> str | None:
        """The value as text; None when absent or empty."""
        value = self.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise invalid(name, "expected a string")
        return str(value)

    def need_text(self, name: str) -> str:
        value = self.text(name)
        if value is None:
            raise missing(name)
        return value

    def integer(
        self, name: str, *, minimum: int | None = None, maximum: int | None = None
    ) -> int | None:
        """The value as an integer; None when absent or empty."""
        value = self.get(name)
        if value is None or value == "":
            return None
        number = _to_int(value)
        if number is None:
            raise invalid(name, "expected an integer")
        if minimum is not None and number < minimum:
            raise invalid(name, f"must be at least {minimum}")
        if maximum is not None and number > maximum:
            raise invalid(name, f"must be at most {maximum}")
        return number

    def need_integer(
        self, name: str, *, minimum: int | None = None, maximum: int | None = None
    ) -> int:
        value = self.integer(name, minimum=minimum, maximum=maximum)
        if value is None:
            raise missing(name)
        return value

    def integers(self, name: str) -> frozenset[int] | None:
        """A filter value: `20`, `"20,30"` or `[20, 30]`."""
        value = self.data.get(name)
        if value is None or value == "":
            return None
        items = value if isinstance(value, list) else str(value).split(",")
        numbers = {_to_int(item.strip() if isinstance(item, str) else item) for item in items}
        if None in numbers:
            raise invalid(name, "expected integers")
        return frozenset(n for n in numbers if n is not None)

    def flag(self, name: str) -> bool:
        value = self.get(name)
        if value is None or isinstance(value, bool):
            return bool(value)
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise invalid(name, "expected a boolean")


def _to_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str):
        text = value.strip()
        digits = text[1:] if text.startswith("-") else text
        if digits.isascii() and digits.isdigit():
            return int(text)
    return None
