"""Start-up check that the shared Redis never evicts idempotency records to make room.

Idempotency records keep "a write happens once": if Redis evicted one, a retried mutation would
run twice. Only ``maxmemory-policy noeviction`` guarantees that (a full Redis then refuses
writes, which the gateway reports, instead of silently dropping records). ``allkeys-*`` policies
evict anything and are refused; ``volatile-*`` ones evict keys with a TTL, which idempotency
records have, so they are allowed with a warning. A Redis that persists nothing (no AOF, no
snapshots) forgets every record when it restarts, after which a retried mutation runs again:
that is allowed, with a warning, since some deployments accept it knowingly.
"""

from __future__ import annotations

import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

logger = logging.getLogger("gateway.redis")

SAFE_POLICY = "noeviction"


class RedisPolicyError(RuntimeError):
    """Redis is configured to evict any key: the gateway refuses to start on it."""


async def check_redis_policy(url: str, socket_timeout: float = 1.0) -> str | None:
    """The Redis's ``maxmemory-policy``; raise ``RedisPolicyError`` for an ``allkeys-*`` one.

    ``None`` (with a warning) when it cannot be read: Redis down at start-up (the gateway then
    serves without it) or ``CONFIG`` disabled, as on some managed services.
    """
    client: Redis = Redis.from_url(
        url, socket_timeout=socket_timeout, socket_connect_timeout=socket_timeout
    )
    try:
        answer = await client.config_get("maxmemory-policy")
        persistence = await client.config_get("appendonly")
        persistence.update(await client.config_get("save"))
    except (RedisError, OSError) as exc:
        logger.warning(
            "cannot read Redis maxmemory-policy (%s); it must be %s so idempotency records "
            "are never evicted",
            type(exc).__name__,
            SAFE_POLICY,
        )
        return None
    finally:
        await client.aclose()
    # redis-py answers str or bytes keys depending on decode_responses.
    values = {k.decode() if isinstance(k, bytes) else k: v for k, v in dict(answer).items()}
    raw: object = values.get("maxmemory-policy")
    policy = raw.decode() if isinstance(raw, bytes) else str(raw or "")
    _warn_if_nothing_persists(
        {k.decode() if isinstance(k, bytes) else str(k): v for k, v in dict(persistence).items()}
    )
    if policy.startswith("allkeys-"):
        raise RedisPolicyError(
            f"Redis maxmemory-policy is {policy}: it may evict idempotency records, so a retried "
            f"mutation could run twice. Set maxmemory-policy {SAFE_POLICY} (see deploy/README.md)."
        )
    if policy != SAFE_POLICY:
        logger.warning(
            "Redis maxmemory-policy is %s: keys with a TTL, idempotency records included, may be "
            "evicted when Redis is full; %s is recommended",
            policy,
            SAFE_POLICY,
        )
    return policy


def _warn_if_nothing_persists(config: dict[str, object]) -> None:
    def text(name: str) -> str:
        raw = config.get(name)
        return (raw.decode() if isinstance(raw, bytes) else str(raw or "")).strip()

    if text("appendonly") != "yes" and not text("save"):
        logger.warning(
            "Redis persists nothing (appendonly no, no save points): when it restarts every "
            "Idempotency-Key record is lost and a retried mutation would run again; run it with "
            "appendonly yes (see deploy/README.md)"
        )
