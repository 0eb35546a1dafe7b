"""What every mutation shares: input checks that collect user errors, and the one upstream call."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
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
    REQUIRED = "REQUIRED"
    INVALID = "INVALID"
    TOO_LONG = "TOO_LONG"
    OUT_OF_RANGE = "OUT_OF_RANGE"
    NOT_FOUND = "NOT_FOUND"
    SLOT_TAKEN = "SLOT_TAKEN"
    CONFLICT = "CONFLICT"
    REJECTED = "REJECTED"


@strawberry.type(description="A problem the caller can fix, naming the input field.")
class UserError:
    field: str | None = strawberry.field(description='Path of the input field, e.g. "input.start".')
    message: str
    code: UserErrorCode


class _Checker:
    """Collects every problem in an input at once, so one round trip reports them all."""

    def __init__(self) -> None:
        self.errors: list[UserError] = []

    def add(self, field: str, message: str, code: UserErrorCode = UserErrorCode.INVALID) -> None:
        self.errors.append(UserError(field=field, message=message, code=code))

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
    if epoch <= 0:
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
) -> tuple[Raw | None, list[UserError]]:
    """One upstream write; caller-fixable refusals become ``userErrors``, the rest raise."""
    credentials = ctx.loaders.credentials
    try:
        data: Raw = await ctx.services.idempotency.run(
            credentials, ctx.idempotency_key, operation, fingerprint, call
        )
    except Conflict as exc:
        return None, [UserError(field=conflict_field, message=exc.message, code=conflict)]
    except NotFound as exc:
        return None, [UserError(field=None, message=exc.message, code=UserErrorCode.NOT_FOUND)]
    except BadRequest as exc:
        return None, [UserError(field=None, message=exc.message, code=UserErrorCode.REJECTED)]
    return data, []


def _form(pairs: list[tuple[str, Any]]) -> FormFields:
    return [(k, v) for k, v in pairs if v is not None and v != ""]
