"""Scalars with contracts: RFC 3339 date-times (offset required in, UTC `Z` out), dates, exact
decimals and absolute URLs.

Strawberry's own ``DateTime`` accepts a time without an offset (read as local, i.e. UTC here)
and documents nothing, so code generators type it ``unknown``. These replace it schema-wide.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, NewType

import strawberry
from strawberry.types.scalar import ScalarDefinition

from ._convert import is_absolute_url, unconvertible

# RFC 3339 section 5.6 date-time: a full date, a time, and an offset (`Z` or ±hh:mm).
_DATE_TIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$"
)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _serialize_datetime(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    text = value.astimezone(UTC).isoformat()
    return text.removesuffix("+00:00") + "Z"


def _parse_datetime(value: Any) -> datetime:
    if not isinstance(value, str) or len(value) > 40 or not _DATE_TIME.match(value):
        raise ValueError(
            "DateTime must be an RFC 3339 date-time with an offset, e.g. 2026-01-31T09:30:00Z"
        )
    # Python's fromisoformat takes at most 6 fractional digits; the rest is below a microsecond.
    text = re.sub(r"(\.\d{6})\d+", r"\1", value.replace("z", "Z").replace("t", "T"))
    return datetime.fromisoformat(text).astimezone(UTC)


def _parse_date(value: Any) -> date:
    if not isinstance(value, str) or not _DATE.match(value):
        raise ValueError("Date must be an RFC 3339 full-date, e.g. 2026-01-31")
    return date.fromisoformat(value)


DateTime = strawberry.scalar(
    name="DateTime",
    description="An instant as an RFC 3339 date-time. Input must carry an offset (`Z` or "
    "±hh:mm); output is always UTC with `Z`, e.g. `2026-01-31T09:30:00Z`.",
    specified_by_url="https://www.rfc-editor.org/rfc/rfc3339#section-5.6",
    serialize=_serialize_datetime,
    parse_value=_parse_datetime,
)
Date = strawberry.scalar(
    name="Date",
    description="A calendar date as an RFC 3339 full-date, e.g. `2026-01-31`.",
    specified_by_url="https://www.rfc-editor.org/rfc/rfc3339#section-5.6",
    serialize=date.isoformat,
    parse_value=_parse_date,
)


def _parse_decimal(value: Any) -> Decimal:
    if not isinstance(value, str) or len(value) > 40:
        raise ValueError('Decimal must be a decimal string, e.g. "25.00"')
    try:
        parsed = Decimal(value)
    except InvalidOperation:
        raise ValueError('Decimal must be a decimal string, e.g. "25.00"') from None
    if not parsed.is_finite():
        raise ValueError("Decimal must be finite")
    return parsed


Decimal_ = strawberry.scalar(
    name="Decimal",
    description='An exact decimal number as a string, e.g. "25.00" (never a float, so no '
    "amount is rounded on its way).",
    serialize=str,
    parse_value=_parse_decimal,
)


def _serialize_url(value: Any) -> str:
    # Values are checked where they are read (as_url, resolve_file); this is the last guard,
    # so a field can never answer a relative or non-http(s) location.
    if not is_absolute_url(value):
        unconvertible("URL", value)
        raise ValueError("not an absolute http(s) URL")
    return str(value)


def _parse_url(value: Any) -> str:
    if not is_absolute_url(value):
        raise ValueError("URL must be an absolute http(s) URL (RFC 3986), e.g. https://host/a")
    return str(value)


# An absolute http(s) URL; the annotation, served as the `URL` scalar through SCALAR_MAP.
URL = NewType("URL", str)
URL_SCALAR = strawberry.scalar(
    name="URL",
    description="An absolute http or https URL (RFC 3986: a scheme, a host, then path, query "
    "and fragment in RFC 3986 characters, anything else percent-encoded; no userinfo such as "
    "`user:password@`), e.g. "
    "`https://api.vseepreview.com/vc/next/api_v3/files/2016/08/17/57b4c65d.png`. Never a "
    "relative reference: a location VSee sends that is not one reads as null.",
    specified_by_url="https://www.rfc-editor.org/rfc/rfc3986",
    serialize=_serialize_url,
    parse_value=_parse_url,
)


# Every `datetime`, `date`, `Decimal` and `URL` annotation is served as these (StrawberryConfig).
SCALAR_MAP: dict[object, ScalarDefinition] = {
    datetime: DateTime,
    date: Date,
    Decimal: Decimal_,
    URL: URL_SCALAR,
}
