"""Single flight: concurrent callers asking for the same key share one detached fetch."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable, Coroutine
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class SingleFlight(Generic[T]):
    """Within one process, at most one ``fetch`` per key is in flight at a time.

    The fetch runs as its own task, detached from the request that started it: when that request
    is cancelled or runs out of time, the others waiting on the same key keep waiting, each
    within its own ``timeout`` (``TimeoutError`` past it). A failure reaches every waiter as its
    own copy of the exception and is then forgotten, so the next caller tries again.
    """

    def __init__(self) -> None:
        self._flights: dict[str, asyncio.Task[T]] = {}

    async def run(
        self,
        key: str,
        fetch: Callable[[], Coroutine[Any, Any, T]],
        *,
        within: float | None = None,
    ) -> T:
        task = self._flights.get(key)
        if task is None:
            task = asyncio.get_running_loop().create_task(fetch())
            self._flights[key] = task
            task.add_done_callback(lambda done: self._forget(key, done))
        try:
            async with asyncio.timeout(within):
                # shield: a waiter that leaves (cancelled, out of time) never stops the fetch.
                return await asyncio.shield(task)
        except asyncio.CancelledError:
            if task.cancelled() and not _current_cancelling():
                raise RuntimeError("the shared fetch was cancelled") from None
            raise
        except Exception as exc:
            if task.done() and not task.cancelled() and task.exception() is exc:
                # Each waiter raises its own copy: one exception object must not collect the
                # tracebacks of every request that waited on it.
                raise _copy(exc) from exc.__cause__
            raise

    def _forget(self, key: str, task: asyncio.Task[T]) -> None:
        if self._flights.get(key) is task:
            del self._flights[key]
        if not task.cancelled():
            # Mark it retrieved: a flight whose waiters all left logs nothing.
            task.exception()

    def __len__(self) -> int:
        return len(self._flights)


def _copy(exc: Exception) -> Exception:
    """A shallow copy that skips ``__init__`` (some take keyword-only arguments)."""
    try:
        clone = exc.__class__.__new__(exc.__class__)
        clone.__dict__.update(exc.__dict__)
        clone.args = exc.args
    except (TypeError, AttributeError):
        return copy.copy(exc)
    return clone


def _current_cancelling() -> bool:
    current = asyncio.current_task()
    return current is not None and current.cancelling() > 0
