"""Per-caller rate limits: token buckets per credential scope and per account, cost-based.

Each request takes as many tokens as the VSee calls it may cause (its cost estimate, at least
one), so one partner dashboard cannot use up VSee's quota for every tenant. Buckets live in
memory, or in Redis (one atomic Lua script per request) so that every replica draws from the
same buckets. The account's bucket is only charged for credentials VSee has accepted at least
once (``AcceptedScopes``): anyone can name an account, so until then a caller draws on a
separate bucket of the account's not-yet-accepted credentials instead. When Redis fails, the
limiter falls back to the in-memory buckets of this process, says so once in the log and counts
it in the metrics, and tries Redis again later.
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from gateway.upstream import AcceptedScopes

logger = logging.getLogger("gateway.ratelimit")

REDIS_PREFIX = "vsee-gateway:rl:"


@dataclass(frozen=True, slots=True)
class Bucket:
    """One bucket to draw from: ``rate`` tokens per second refill, up to ``burst``."""

    key: str
    rate: float
    burst: float


class MemoryBuckets:
    """Token buckets of this process, bounded in number (least recently used dropped first)."""

    def __init__(self, max_keys: int = 100_000, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._max_keys = max_keys
        self._state: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, buckets: Sequence[Bucket], cost: float) -> float:
        """Take ``cost`` from every bucket, or from none: 0, or the seconds to wait."""
        now = self._clock()
        levels: list[float] = []
        wait = 0.0
        for bucket in buckets:
            tokens, updated = self._state.get(bucket.key, (bucket.burst, now))
            tokens = min(bucket.burst, tokens + max(0.0, now - updated) * bucket.rate)
            levels.append(tokens)
            needed = min(cost, bucket.burst)
            if tokens < needed:
                wait = max(wait, (needed - tokens) / bucket.rate)
        if wait > 0:
            return wait
        for bucket, tokens in zip(buckets, levels, strict=True):
            self._state[bucket.key] = (tokens - min(cost, bucket.burst), now)
            self._state.move_to_end(bucket.key)
        while len(self._state) > self._max_keys:
            self._state.popitem(last=False)
        return 0.0


# Check every bucket, then take from all or none, with Redis's own clock so replicas agree.
_TAKE = """
if redis.replicate_commands then pcall(redis.replicate_commands) end
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local cost = tonumber(ARGV[1])
local wait = 0
local levels = {}
for i, key in ipairs(KEYS) do
  local rate, burst = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  local state = redis.call('HMGET', key, 'tokens', 'ts')
  local tokens = tonumber(state[1]) or burst
  local ts = tonumber(state[2]) or now
  tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
  levels[i] = tokens
  local needed = math.min(cost, burst)
  if tokens < needed then wait = math.max(wait, (needed - tokens) / rate) end
end
if wait > 0 then return tostring(wait) end
for i, key in ipairs(KEYS) do
  local rate, burst = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  local left = levels[i] - math.min(cost, burst)
  redis.call('HSET', key, 'tokens', tostring(left), 'ts', tostring(now))
  redis.call('PEXPIRE', key, math.ceil(burst / rate * 1000) + 1000)
end
return '0'
"""


class RateLimiter:
    """Admits requests by cost against the buckets of their caller; see the module docstring."""

    def __init__(
        self,
        *,
        caller_rate: float,
        caller_burst: float,
        account_rate: float,
        account_burst: float,
        redis_url: str | None = None,
        retry_after: float = 5.0,
        on_limited: Callable[[str], None] | None = None,
        on_fallback: Callable[[], None] | None = None,
        verified: AcceptedScopes | None = None,
    ) -> None:
        self.verified = verified if verified is not None else AcceptedScopes()
        self.caller_rate, self.caller_burst = caller_rate, caller_burst
        self.account_rate, self.account_burst = account_rate, account_burst
        self._memory = MemoryBuckets()
        self._redis: Redis | None = None
        if redis_url:
            self._redis = Redis.from_url(
                redis_url, socket_timeout=0.25, socket_connect_timeout=0.25
            )
            self._take = self._redis.register_script(_TAKE)
        self._retry_after = retry_after
        self._down_until = 0.0
        self._on_limited = on_limited
        self._on_fallback = on_fallback

    def buckets(self, scope: str | None, account: str | None, client: str | None) -> list[Bucket]:
        """The caller's buckets: its credential scope and its account; strangers by address.

        Credentials VSee has not accepted yet draw on a bucket of their own per account instead
        of the account's, so made-up tokens (one per request, say) cannot drain the budget of
        the account's members, only that of its not-yet-accepted credentials. (Not the client
        address's: behind a proxy every caller has the proxy's address.)
        """
        if scope is None:
            # No credentials: nothing of VSee's can be reached; bound the CPU they may use.
            return [Bucket(f"anon:{client or '?'}", self.caller_rate, self.caller_burst)]
        caller = Bucket(f"caller:{scope}", self.caller_rate, self.caller_burst)
        if scope not in self.verified:
            return [
                caller,
                Bucket(f"unaccepted:{account}", self.account_rate, self.account_burst),
            ]
        return [caller, Bucket(f"account:{account}", self.account_rate, self.account_burst)]

    async def admit(self, buckets: Sequence[Bucket], cost: int) -> float:
        """0 when the request may run (its tokens taken), else the seconds to wait."""
        cost = max(1, cost)
        wait = await self._take_redis(buckets, cost)
        if wait is None:
            wait = self._memory.take(buckets, cost)
        if wait > 0 and self._on_limited is not None:
            self._on_limited(buckets[0].key.split(":", 1)[0])
        return wait

    async def _take_redis(self, buckets: Sequence[Bucket], cost: int) -> float | None:
        if self._redis is None or time.monotonic() < self._down_until:
            return None
        args: list[float] = [cost]
        for bucket in buckets:
            args.extend((bucket.rate, bucket.burst))
        try:
            answer = await self._take(keys=[REDIS_PREFIX + b.key for b in buckets], args=args)
        except (RedisError, OSError) as exc:
            first = time.monotonic() >= self._down_until
            self._down_until = time.monotonic() + self._retry_after
            if self._on_fallback is not None:
                self._on_fallback()
            if first:
                logger.warning(
                    "rate limits: redis unavailable (%s); using this replica's own buckets "
                    "for %.0f s",
                    type(exc).__name__,
                    self._retry_after,
                )
            return None
        text = answer.decode() if isinstance(answer, bytes) else str(answer)
        return float(text)

    async def aclose(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()


def retry_after_header(wait: float) -> str:
    """Whole seconds, at least one (RFC 9110 Retry-After)."""
    return str(max(1, math.ceil(wait)))
