"""Relay paging over VSee's offset listings: cursors, the requested window, VSee pages to read.

VSee pages its lists by ``page``/``limit`` only (no keyset, no sort parameter), so a cursor is
an offset: stable while nothing is inserted before it, shifted by one when something is. Every
connection of the schema (``visits``, ``rooms``) pages through these helpers.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import strawberry

from gateway.upstream import InvalidInput

T = TypeVar("T")

# A connection's page when the caller gives neither `first` nor `last` (the cost model too).
DEFAULT_FIRST = 20
# Deeper than any list gets; the cursor's number is checked before it becomes VSee's `page`.
MAX_CURSOR_OFFSET = 1_000_000


@strawberry.type(description="Paging state of a connection.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="Whether more items follow this page.")
    has_previous_page: bool = strawberry.field(description="Whether items precede this page.")
    start_cursor: str | None = strawberry.field(
        description="Cursor of the page's first item; null on an empty page."
    )
    end_cursor: str | None = strawberry.field(
        description="Cursor of the page's last item (pass as `after`); null on an empty page."
    )


def encode_cursor(offset: int, kind: str = "visit") -> str:
    return base64.urlsafe_b64encode(f"{kind}:{offset}".encode()).decode()


def decode_cursor(cursor: str, *, field: str = "after", kind: str = "visit") -> int:
    try:
        found, _, number = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        found, number = "", ""
    # Only the offset as encode_cursor writes it: int() would also take "03", "+3", " 3",
    # "1_0" or other scripts' digits, one position under several cursors.
    # Length first: int() refuses more than 4300 digits (a ValueError past this point).
    canonical = (
        len(number) <= len(str(MAX_CURSOR_OFFSET))
        and number.isascii()
        and number.isdigit()
        and str(int(number)) == number
    )
    offset = int(number) if canonical else -1
    # Bounded: an offset becomes VSee's `page`, and a huge one (10^28) made VSee answer 500.
    if found != kind or not 0 <= offset <= MAX_CURSOR_OFFSET:
        raise InvalidInput(f"`{field}` is not a cursor this API gave out", field=field)
    return offset


@dataclass(frozen=True, slots=True)
class Window:
    """The items a caller asked for: ``count`` of them from ``offset`` (0 = an empty page)."""

    offset: int
    count: int

    @property
    def pages(self) -> tuple[list[int], int]:
        """VSee's 1-based pages of ``count`` items that hold the window, and how many of the
        first page's items come before it (an offset between page boundaries spans two)."""
        page, skip = divmod(self.offset, self.count)
        return ([page + 1] if skip == 0 else [page + 1, page + 2]), skip


def window(
    *,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
    limit: int,
    kind: str = "visit",
) -> Window:
    """The window of ``first``/``after`` or ``last``/``before``, checked before any VSee call."""
    if first is not None and last is not None:
        raise InvalidInput("give `first` or `last`, not both", field="last")
    if last is not None:
        # VSee pages by offset and need not tell a total: paging backwards needs a cursor.
        if before is None:
            raise InvalidInput("`last` needs `before`", field="before")
        if not 1 <= last <= limit:
            raise InvalidInput(f"`last` must be between 1 and {limit}", field="last")
        end = decode_cursor(before, field="before", kind=kind)
        offset = max(0, end - last)
        return Window(offset, end - offset)
    first = DEFAULT_FIRST if first is None else first
    if not 1 <= first <= limit:
        raise InvalidInput(f"`first` must be between 1 and {limit}", field="first")
    offset = decode_cursor(after, kind=kind) + 1 if after else 0
    if before is not None:
        raise InvalidInput("`before` goes with `last`", field="before")
    return Window(offset, first)


def empty_page() -> PageInfo:
    """The page before the first item: nothing precedes it, the list follows."""
    return PageInfo(has_next_page=True, has_previous_page=False, start_cursor=None, end_cursor=None)


@dataclass(frozen=True, slots=True)
class Slice(Generic[T]):
    """The window's rows out of VSee's pages, the total VSee told, and what paging needs."""

    at: Window
    rows: list[T]
    total: int | None
    last_page_rows: int

    def page_info(self, cursors: list[str]) -> PageInfo:
        """Paging state of the page whose items have ``cursors``; without a total, a full last
        VSee page is the only hint that more may follow."""
        at, total = self.at, self.total
        has_next = (
            at.offset + len(cursors) < total
            if total is not None
            else self.last_page_rows == at.count
        )
        return PageInfo(
            has_next_page=has_next,
            has_previous_page=at.offset > 0,
            start_cursor=cursors[0] if cursors else None,
            end_cursor=cursors[-1] if cursors else None,
        )


async def total_only(
    fetch: Callable[[int, int], Awaitable[tuple[list[T], int | None]]],
) -> int | None:
    """The list's total, for an empty window whose caller asked for it: the smallest page
    (one item) that carries VSee's total, so `totalCount` is the same on every page."""
    _, total = await fetch(1, 1)
    return total


async def read(
    at: Window, fetch: Callable[[int, int], Awaitable[tuple[list[T], int | None]]]
) -> Slice[T]:
    """The window's rows, from the VSee pages (``fetch(page, limit)``) that hold it, together."""
    pages, skip = at.pages
    answers = await asyncio.gather(*(fetch(page, at.count) for page in pages))
    rows = [row for chunk, _ in answers for row in chunk][skip : skip + at.count]
    return Slice(at, rows, answers[0][1], len(answers[-1][0]))
