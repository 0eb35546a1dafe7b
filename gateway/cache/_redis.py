"""Redis cache backend: shared by every replica, TTLs kept by Redis, outages degrade to misses."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from ._base import StoreUnavailable

logger = logging.getLogger("gateway.cache.redis")

# Compare-and-delete, so a lock is only ever released by the holder that took it.
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
# Set-if-absent that returns what was there, in one round trip and atomically.
_RESERVE = """
local current = redis.call('get', KEYS[1])
if current then return current end
redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false
"""
# Increment and keep the counter at least as long as anything keyed by it may live.
_BUMP = """
local value = redis.call('incr', KEYS[1])
if redis.call('pttl', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('pexpire', KEYS[1], ARGV[1])
end
return value
"""
_GLOB_SPECIAL = str.maketrans({c: f"\\{c}" for c in "*?[]\\"})


class RedisCache:
    """``AsyncCache`` over Redis, plus the short locks that give single flight across replicas.

    Every key is prefixed with ``namespace`` so one Redis can serve several deployments. When
    Redis fails, operations behave like a miss (get → None, set → dropped), the failure is
    reported to ``on_error`` and logged, and Redis is left alone for ``retry_after`` seconds so a
    dead Redis does not add a timeout to every request.
    """

    def __init__(
        self,
        url: str,
        *,
        namespace: str = "vsee-gateway",
        timeout: float = 0.25,
        retry_after: float = 2.0,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        self._redis: Redis = Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, retry_on_timeout=False
        )
        self._namespace = namespace
        self._retry_after = retry_after
        self._on_error = on_error
        self._down_until = 0.0
        self._release = self._redis.register_script(_RELEASE)
        self._reserve = self._redis.register_script(_RESERVE)
        self._bump = self._redis.register_script(_BUMP)

    def _key(self, key: str) -> str:
        return f"{self._namespace}:{key}"

    def _usable(self) -> bool:
        return time.monotonic() >= self._down_until

    def _failed(self, operation: str, exc: Exception) -> None:
        first = self._usable()
        self._down_until = time.monotonic() + self._retry_after
        if self._on_error is not None:
            self._on_error(operation)
        if first:
            logger.warning(
                "redis unavailable (%s: %s); caching is off for %.0f s",
                operation,
                type(exc).__name__,
                self._retry_after,
            )

    async def get(self, key: str) -> bytes | None:
        if not self._usable():
            return None
        try:
            value = await self._redis.get(self._key(key))
        except (RedisError, OSError) as exc:
            self._failed("get", exc)
            return None
        return value if isinstance(value, bytes) else None

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        if ttl <= 0 or not self._usable():
            return
        try:
            await self._redis.set(self._key(key), value, px=max(1, int(ttl * 1000)))
        except (RedisError, OSError) as exc:
            self._failed("set", exc)

    async def delete(self, key: str) -> None:
        if not self._usable():
            return
        try:
            await self._redis.delete(self._key(key))
        except (RedisError, OSError) as exc:
            self._failed("delete", exc)

    async def delete_prefix(self, prefix: str) -> int:
        if not self._usable():
            return 0
        pattern = self._key(prefix).translate(_GLOB_SPECIAL) + "*"
        removed = 0
        try:
            batch: list[bytes] = []
            async for key in self._redis.scan_iter(match=pattern, count=500):
                batch.append(key)
                if len(batch) >= 500:
                    removed += await self._redis.unlink(*batch)
                    batch.clear()
            if batch:
                removed += await self._redis.unlink(*batch)
        except (RedisError, OSError) as exc:
            self._failed("delete_prefix", exc)
        return removed

    # -- ReservationStore: failures raise StoreUnavailable instead of reading as a miss ---------

    async def reserve(self, key: str, value: bytes, ttl: float) -> bytes | None:
        try:
            current = await self._reserve(
                keys=[self._key(key)], args=[value, max(1, int(ttl * 1000))]
            )
        except (RedisError, OSError) as exc:
            self._failed("reserve", exc)
            raise StoreUnavailable("reserve") from exc
        return current if isinstance(current, bytes) else None

    async def replace(self, key: str, value: bytes, ttl: float) -> None:
        try:
            await self._redis.set(self._key(key), value, px=max(1, int(ttl * 1000)))
        except (RedisError, OSError) as exc:
            self._failed("replace", exc)
            raise StoreUnavailable("replace") from exc

    async def discard(self, key: str) -> None:
        try:
            await self._redis.delete(self._key(key))
        except (RedisError, OSError) as exc:
            self._failed("discard", exc)
            raise StoreUnavailable("discard") from exc

    async def counter(self, key: str) -> int:
        if not self._usable():
            raise StoreUnavailable("counter")
        try:
            value = await self._redis.get(self._key(key))
        except (RedisError, OSError) as exc:
            self._failed("counter", exc)
            raise StoreUnavailable("counter") from exc
        return int(value) if value else 0

    async def bump(self, key: str, ttl: float) -> int:
        try:
            value = await self._bump(keys=[self._key(key)], args=[max(1, int(ttl * 1000))])
        except (RedisError, OSError) as exc:
            self._failed("bump", exc)
            raise StoreUnavailable("bump") from exc
        return int(value)

    async def ping(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except (RedisError, OSError) as exc:
            self._failed("ping", exc)
            return False

    async def aclose(self) -> None:
        await self._redis.aclose()

    async def acquire_lock(self, key: str, ttl: float) -> str | None:
        """Try to hold ``key`` for at most ``ttl`` seconds.

        Returns the holder's token, ``None`` when another caller holds it, or ``""`` when Redis
        is unavailable (no lock can be had: the caller should go ahead on its own).
        """
        if not self._usable():
            return ""
        token = secrets.token_hex(8)
        try:
            taken = await self._redis.set(
                self._key(f"lock:{key}"), token, nx=True, px=max(1, int(ttl * 1000))
            )
        except (RedisError, OSError) as exc:
            self._failed("lock", exc)
            return ""
        return token if taken else None

    async def release_lock(self, key: str, token: str) -> None:
        try:
            await self._release(keys=[self._key(f"lock:{key}")], args=[token])
        except (RedisError, OSError) as exc:
            self._failed("unlock", exc)
