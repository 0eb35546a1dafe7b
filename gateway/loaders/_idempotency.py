"""Idempotency keys: a retried mutation with the same key and input gets the first answer."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from gateway.cache import AsyncCache, SingleFlight
from gateway.upstream import Credentials, InvalidInput

NAMESPACE = "idem"
MAX_KEY_LENGTH = 200


class IdempotencyStore:
    """Remembers each mutation's upstream answer per (credential scope, key) for ``ttl`` seconds.

    The stored record carries a hash of the operation and its input, so the same key reused for
    a different request is refused instead of silently answering with the wrong result.
    """

    def __init__(self, cache: AsyncCache, ttl: float = 24 * 3600) -> None:
        self._cache = cache
        self._ttl = ttl
        self._flight: SingleFlight[Any] = SingleFlight()

    async def run(
        self,
        credentials: Credentials,
        key: str | None,
        operation: str,
        payload: object,
        call: Callable[[], Awaitable[Any]],
    ) -> Any:
        if key is None:
            return await call()
        if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isprintable():
            raise InvalidInput(
                f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters",
                field="Idempotency-Key",
            )
        fingerprint = hashlib.sha256(
            orjson.dumps([operation, payload], option=orjson.OPT_SORT_KEYS)
        ).hexdigest()
        key_hash = hashlib.sha256(key.encode()).hexdigest()[:32]
        cache_key = f"{NAMESPACE}:{credentials.scope}:{key_hash}"

        async def once() -> Any:
            stored = await self._cache.get(cache_key)
            if stored is not None:
                record = orjson.loads(stored)
                if record["fingerprint"] != fingerprint:
                    raise InvalidInput(
                        "this Idempotency-Key was already used for a different request",
                        field="Idempotency-Key",
                    )
                return record["result"]
            result = await call()
            # Only successes are remembered: a failed attempt may be retried with the same key.
            record = {"fingerprint": fingerprint, "result": result}
            await self._cache.set(cache_key, orjson.dumps(record), self._ttl)
            return result

        return await self._flight.run(cache_key, once)
