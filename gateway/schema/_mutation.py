"""What every mutation shares: input checks that collect user errors, and the one upstream call."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry

from gateway.loaders import (
    Raw,
    safe_segment,
)
from gateway.upstream import BadRequest, Conflict, FormFields, InvalidInput, NotFound

from ._convert import (
    in_epoch_range,
    to_epoch,
)
from .context import GatewayContext
from .node import NODE_ID_KINDS, vsee_id

MAX_TEXT = 2000


MAX_CUSTOM_FIELDS = 50


MAX_CUSTOM_BYTES = 16_384


MAX_ATTACHMENTS = 20


MAX_VISIT_HOURS = 12


@strawberry.enum(description="Why an input was refused.")
class UserErrorCode(Enum):
    REQUIRED = strawberry.enum_value(
        "REQUIRED", description="A required field is missing or empty."
    )
    INVALID = strawberry.enum_value(
        "INVALID",
        description="A value has the wrong form (e.g. an id of another type, or a bare VSee id).",
    )
    TOO_LONG = strawberry.enum_value(
        "TOO_LONG", description="A value or list is longer than the gateway allows."
    )
    OUT_OF_RANGE = strawberry.enum_value(
        "OUT_OF_RANGE", description="A number or time lies outside the allowed range."
    )
    NOT_FOUND = strawberry.enum_value(
        "NOT_FOUND",
        description="A referenced object does not exist or is not visible to the caller.",
    )
    SLOT_TAKEN = strawberry.enum_value(
        "SLOT_TAKEN",
        description="The time is not open: not offered in availability, or VSee answered taken.",
    )
    CONFLICT = strawberry.enum_value(
        "CONFLICT",
        description="VSee refused the write as conflicting with its current state (409).",
    )
    REJECTED = strawberry.enum_value(
        "REJECTED", description="VSee refused the input (400); the message is VSee's reason."
    )


@strawberry.type(description="A problem the caller can fix, naming the input field.")
class UserError:
    field: list[str] | None = strawberry.field(
        description='Path to the input field, in the caller\'s names, e.g. ["input", "start"]; '
        "null when the problem is not one field's."
    )
    message: str = strawberry.field(description="What is wrong, for a person to read.")
    code: UserErrorCode = strawberry.field(description="What is wrong, for a program to act on.")

    @classmethod
    def at(cls, path: str | None, message: str, code: UserErrorCode) -> UserError:
        """A user error at a dotted path ("input.attachmentIds.1")."""
        return cls(field=path.split(".") if path else None, message=message, code=code)


class _Checker:
    """Collects every problem in an input at once, so one round trip reports them all."""

    def __init__(self) -> None:
        self.errors: list[UserError] = []

    def add(self, field: str, message: str, code: UserErrorCode = UserErrorCode.INVALID) -> None:
        self.errors.append(UserError.at(field, message, code))

    def id(self, what: str, value: object | None, field: str, *, required: bool = False) -> str:
        if value is None or str(value).strip() == "":
            if required:
                self.add(field, f"{field} is required", UserErrorCode.REQUIRED)
            return ""
        try:
            node_type = NODE_ID_KINDS.get(what)
            if node_type is not None:
                # Objects with a global id are named by it, never by VSee's bare id.
                return vsee_id(node_type, value, field=field)
            return safe_segment(what, value, field=field)
        except InvalidInput as exc:
            self.add(field, str(exc))
            return ""

    def text(self, value: str | None, field: str, *, limit: int = MAX_TEXT) -> str | None:
        if value is not None and len(value) > limit:
            self.add(field, f"{field} is longer than {limit} characters", UserErrorCode.TOO_LONG)
        return value


def _epoch(check: _Checker, value: datetime | None, field: str) -> int | None:
    if value is None:
        return None
    epoch = to_epoch(value)
    if not in_epoch_range(epoch):
        check.add(field, f"{field} is not a valid time", UserErrorCode.OUT_OF_RANGE)
    return epoch


def _check_window(check: _Checker, start: int | None, end: int | None, prefix: str) -> None:
    if start is None or end is None:
        return
    if end <= start:
        check.add(f"{prefix}.end", "end must be after start", UserErrorCode.OUT_OF_RANGE)
    elif end - start > MAX_VISIT_HOURS * 3600:
        check.add(
            f"{prefix}.end",
            f"a visit lasts at most {MAX_VISIT_HOURS} hours",
            UserErrorCode.OUT_OF_RANGE,
        )


async def _call(
    ctx: GatewayContext,
    operation: str,
    fingerprint: object,
    call: Callable[[], Awaitable[Raw]],
    *,
    conflict: UserErrorCode = UserErrorCode.CONFLICT,
    conflict_field: str | None = None,
    fields: Mapping[str, str] | None = None,
) -> tuple[Raw | None, list[UserError]]:
    """One upstream write; caller-fixable refusals become ``userErrors``, the rest raise."""
    credentials = ctx.loaders.credentials
    try:
        data: Raw = await ctx.services.idempotency.run(
            credentials, ctx.idempotency_key, operation, fingerprint, call
        )
    except Conflict as exc:
        return None, [UserError.at(conflict_field, exc.message, conflict)]
    except NotFound as exc:
        return None, [UserError.at(None, exc.message, UserErrorCode.NOT_FOUND)]
    except BadRequest as exc:
        return None, [
            UserError.at(_input_path(exc.message, fields), exc.message, UserErrorCode.REJECTED)
        ]
    return data, []


# VSee refuses a parameter with "Invalid parameter: provider_id" (inferred from its examples).
_INVALID_PARAMETER = re.compile(r"Invalid parameter:?\s*([A-Za-z_][A-Za-z0-9_]{0,63})")


def _input_path(message: str, fields: Mapping[str, str] | None) -> str | None:
    """The caller's input path of the REST parameter VSee's refusal names, when it names one."""
    match = _INVALID_PARAMETER.search(message)
    if match is None or fields is None:
        return None
    return fields.get(match.group(1))


def _form(pairs: list[tuple[str, Any]]) -> FormFields:
    return [(k, v) for k, v in pairs if v is not None and v != ""]
