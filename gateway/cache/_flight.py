"""Single flight: concurrent callers asking for the same key share one fetch."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class SingleFlight(Generic[T]):
    """Within one process, at most one ``fetch`` per key is in flight at a time.

    A failure is handed to everyone waiting on that flight and then forgotten, so the next caller
    tries again instead of inheriting the error.
    """

    def __init__(self) -> None:
        self._flights: dict[str, asyncio.Future[T]] = {}

    async def run(self, key: str, fetch: Callable[[], Awaitable[T]]) -> T:
        existing = self._flights.get(key)
        if existing is not None:
            return await asyncio.shield(existing)
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._flights[key] = future
        try:
            result = await fetch()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            # Waiters re-raise it; mark it retrieved so a flight nobody joined logs nothing.
            future.exception()
            raise
        else:
            future.set_result(result)
            return result
        finally:
            self._flights.pop(key, None)

    def __len__(self) -> int:
        return len(self._flights)
