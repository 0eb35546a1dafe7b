"""Shared helpers of the domain modules: deferred relations and small conversions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

import strawberry

from gateway.loaders import (
    Raw,
)

from ._convert import (
    as_list,
    as_text,
)

T = TypeVar("T")


def later_or_now(value: T | Awaitable[T]) -> T:
    """A value, or an awaitable graphql-core awaits itself (see ``later``)."""
    return cast(T, value)


def later(awaitable: Awaitable[T]) -> T:
    """Return an awaitable from a plain resolver; graphql-core awaits it itself.

    Relations are resolved by plain functions so that rows whose related object VSee already
    embedded (the common case in lists) cost no coroutine or task at all; only a real lookup
    pays for one.
    """
    return cast(T, awaitable)


async def converted(pending: Awaitable[Raw], build: Callable[[Raw], T]) -> T:
    return build(await pending)


def full_name(raw: Raw) -> str | None:
    full = as_text(raw.get("full_name"))
    if full:
        return full
    parts = [as_text(raw.get("first_name")), as_text(raw.get("last_name"))]
    joined = " ".join(part for part in parts if part)
    return joined or None


def ids_of(value: Any) -> list[strawberry.ID]:
    return [strawberry.ID(str(v)) for v in as_list(value) if isinstance(v, str | int) and v != ""]


def texts_of(value: Any) -> list[str] | None:
    if value is None:
        return None
    return [str(v) for v in as_list(value) if isinstance(v, str | int)]
