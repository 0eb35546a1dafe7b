"""Replicas poll VSee once between them: a Redis lease per poller key, answers over pub/sub.

Every key and channel names the credential scope (the account and a hash of the token, never
the token) and the resource: ``vsee-gateway:live:lease:<scope>:<resource>`` is held (SET NX PX,
renewed by its holder at every poll, given up when it stops) by the one replica that polls,
which publishes each answer on ``vsee-gateway:live:<scope>:<resource>``. A replica with
subscribers of that scope and resource listens on that channel only, so an answer read with
one caller's credentials never reaches a subscriber of other credentials. When Redis fails,
every replica polls on its own (degraded: as without Redis, counted in
``gateway_live_degraded_total``) and tries Redis again
later; nothing waits on Redis for longer than its socket timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

logger = logging.getLogger("gateway.live")

PREFIX = "vsee-gateway:live:"
_LEASE = PREFIX + "lease:"
# Extend the lease when we hold it, take it when nobody does.
_LEAD = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""

# Give the lease up, if we still hold it (another replica's is not ours to delete).
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

OnUpdate = Callable[[str, str, bytes], None]


def channel(scope: str, resource: str) -> str:
    return f"{PREFIX}{scope}:{resource}"


class SharedPolls:
    """This replica's side of the lease-and-publish protocol (see the module docstring)."""

    def __init__(
        self,
        url: str,
        *,
        retry_after: float = 5.0,
        on_degraded: Callable[[], None] | None = None,
        socket_timeout: float = 0.5,
    ) -> None:
        self.owner = uuid.uuid4().hex
        self.on_update: OnUpdate | None = None
        self._redis = Redis.from_url(
            url, socket_timeout=socket_timeout, socket_connect_timeout=socket_timeout
        )
        self._lead_script = self._redis.register_script(_LEAD)
        self._release_script = self._redis.register_script(_RELEASE)
        self._retry_after = retry_after
        self._down_until = 0.0
        self._on_degraded = on_degraded
        self._channels: dict[str, tuple[str, str]] = {}
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()

    @property
    def degraded(self) -> bool:
        return time.monotonic() < self._down_until

    # -- the lease ---------------------------------------------------------------------------

    async def lead(self, scope: str, resource: str, ttl: float) -> bool:
        """Whether this replica polls this round: it holds (or just took) the lease, or Redis
        is down and every replica polls on its own."""
        if self.degraded:
            self._degrade(None)
            return True
        try:
            got = await self._lead_script(
                keys=[f"{_LEASE}{scope}:{resource}"], args=[self.owner, max(1, int(ttl * 1000))]
            )
        except (RedisError, OSError) as exc:
            self._degrade(exc)
            return True
        return bool(int(got))

    async def release(self, scope: str, resource: str) -> None:
        """Give up the lease when this replica stops polling: another replica's subscribers
        of the same key would otherwise hear nothing until it expires (up to three idle
        intervals)."""
        if self.degraded:
            return
        try:
            await self._release_script(keys=[f"{_LEASE}{scope}:{resource}"], args=[self.owner])
        except (RedisError, OSError) as exc:
            self._degrade(exc)

    async def publish(self, scope: str, resource: str, payload: bytes) -> None:
        """Send an answer (``{"v": …}``) or a refusal (``{"e": [code, message]}``) to the other
        replicas' subscribers of the same scope and resource."""
        if self.degraded:
            return
        # The owner lets a replica skip its own messages (it applied them already).
        message = self.owner.encode() + b"\n" + payload
        try:
            await self._redis.publish(channel(scope, resource), message)
        except (RedisError, OSError) as exc:
            self._degrade(exc)

    # -- listening ---------------------------------------------------------------------------

    def listen(self, scope: str, resource: str) -> None:
        self._channels[channel(scope, resource)] = (scope, resource)
        self._changed.set()
        if self._reader is None or self._reader.done():
            self._reader = asyncio.get_running_loop().create_task(self._read())

    def unlisten(self, scope: str, resource: str) -> None:
        self._channels.pop(channel(scope, resource), None)
        self._changed.set()

    async def _read(self) -> None:
        """Keep this replica subscribed to exactly the channels of its pollers, and hand on
        what arrives; on a Redis failure start over after ``retry_after``."""
        subscribed: set[str] = set()
        while True:
            try:
                if self._pubsub is None:
                    self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
                    subscribed = set()
                # Cleared before reading the set, so a listen() from here on wakes the wait below.
                self._changed.clear()
                wanted = set(self._channels)
                if wanted - subscribed:
                    await self._pubsub.subscribe(*(wanted - subscribed))
                if subscribed - wanted:
                    await self._pubsub.unsubscribe(*(subscribed - wanted))
                subscribed = wanted
                if not subscribed:
                    await self._changed.wait()
                    continue
                message = await self._pubsub.get_message(timeout=0.2)
                if message is not None and message.get("type") == "message":
                    self._dispatch(message)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                self._degrade(exc)
                await self._reset_pubsub()
                await asyncio.sleep(self._retry_after)

    def _dispatch(self, message: dict[str, object]) -> None:
        name = message.get("channel")
        data = message.get("data")
        key = self._channels.get(name.decode() if isinstance(name, bytes) else str(name))
        if key is None or not isinstance(data, bytes) or self.on_update is None:
            return
        owner, _, payload = data.partition(b"\n")
        if owner.decode(errors="replace") == self.owner:
            return
        self.on_update(key[0], key[1], payload)

    async def _reset_pubsub(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    def _degrade(self, exc: BaseException | None) -> None:
        first = not self.degraded
        if exc is not None:
            self._down_until = time.monotonic() + self._retry_after
        if self._on_degraded is not None:
            self._on_degraded()
        if first and exc is not None:
            logger.warning(
                "live updates: redis unavailable (%s); every replica polls on its own for %.0f s",
                type(exc).__name__,
                self._retry_after,
            )

    async def aclose(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self._reset_pubsub()
        await self._redis.aclose()
