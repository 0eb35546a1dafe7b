"""Idempotency keys: a mutation is reserved before it is sent, so it is sent at most once."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from gateway.cache import ReservationStore, StoreUnavailable
from gateway.upstream import (
    Credentials,
    GatewayError,
    IdempotencyConflict,
    IdempotencyInProgress,
    IdempotencyUnavailable,
    InvalidInput,
    OutcomeUnknown,
    UpstreamRejected,
    UpstreamUnavailable,
    remaining,
)

logger = logging.getLogger("gateway.idempotency")

NAMESPACE = "idem"
MAX_KEY_LENGTH = 200
POLL = 0.05

UNAVAILABLE = (
    "the store that holds Idempotency-Key reservations is unavailable, so the change was not "
    "sent; retry with the same key shortly"
)
CONFLICT = (
    "this Idempotency-Key was already used for a different request (another input); "
    "use a new key for a new change"
)
IN_PROGRESS = (
    "a request with this Idempotency-Key is still in progress; retry with the same key "
    "shortly to get its outcome"
)
UNSHARED = (
    "this gateway runs several worker processes without a shared store for Idempotency-Key "
    "reservations (VSEE_CACHE_URL), so a retry could reach another worker and run the change "
    "twice; the change was not sent. Send it without the key, or have the operator set "
    "VSEE_CACHE_URL"
)
UNKNOWN = (
    "an earlier request with this Idempotency-Key was sent to VSee but its outcome is unknown; "
    "read the state back (e.g. the visits or intake) instead of retrying: the gateway will not "
    "send it again"
)


class IdempotencyStore:
    """Reserves (caller, mutation field, key) before the write is sent; remembers the outcome.

    * First request: the key is reserved atomically (memory, or Redis ``SET NX PX``) with the
      request's fingerprint, then the mutation is sent once.
    * Same key, same fingerprint: waits for (or gets) the recorded outcome, within its own
      deadline; never a second send.
    * Same key, different fingerprint: ``CONFLICT``.
    * A write whose outcome is unknown (sent, no complete answer) is recorded as such and every
      later request with the key is answered ``OUTCOME_UNKNOWN``.
    * A write that was definitely not made (not sent, or refused by VSee) frees the key.
    * The store is unavailable, or is this process's memory while several worker processes
      serve: the mutation is refused (``IDEMPOTENCY_UNAVAILABLE``) rather than sent
      unprotected.
    """

    def __init__(
        self,
        store: ReservationStore,
        ttl: float = 24 * 3600,
        *,
        pending_timeout: float = 60.0,
        shared: bool = True,
    ) -> None:
        self._store = store
        # False when this process is one of several whose stores are not shared (worker
        # processes without Redis): no reservation here can protect a key, so keyed writes
        # are refused rather than sent unprotected.
        self._shared = shared
        self._ttl = ttl
        # Longer than any request may run: a reservation older than this lost its holder
        # (the process died mid-call), so its outcome is unknown.
        self._pending_timeout = pending_timeout

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
        if not self._shared:
            raise IdempotencyUnavailable(UNSHARED)
        if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isprintable():
            raise InvalidInput(
                f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters",
                field="Idempotency-Key",
            )
        fingerprint = hashlib.sha256(
            orjson.dumps([operation, payload], option=orjson.OPT_SORT_KEYS)
        ).hexdigest()
        key_hash = hashlib.sha256(key.encode()).hexdigest()[:32]
        # Scoped to the caller and the mutation field: one header may cover a document of
        # several different mutations.
        store_key = f"{NAMESPACE}:{credentials.scope}:{operation}:{key_hash}"
        pending = {"state": "pending", "fingerprint": fingerprint, "started": time.time()}
        try:
            existing = await self._store.reserve(store_key, orjson.dumps(pending), self._ttl)
        except StoreUnavailable:
            raise IdempotencyUnavailable(UNAVAILABLE) from None
        if existing is not None:
            reserved, result = await self._follow(store_key, existing, fingerprint)
            if not reserved:
                return result
        return await self._lead(store_key, fingerprint, call)

    async def _lead(
        self, store_key: str, fingerprint: str, call: Callable[[], Awaitable[Any]]
    ) -> Any:
        try:
            result = await call()
        except (UpstreamRejected, InvalidInput) as exc:
            # VSee refused it, or it never left: nothing was made, the key is free again.
            await self._settle(store_key, None)
            raise exc
        except OutcomeUnknown:
            await self._settle(store_key, {"state": "unknown", "fingerprint": fingerprint})
            raise
        except GatewayError as exc:
            if isinstance(exc, UpstreamUnavailable | IdempotencyUnavailable) or exc.code in (
                "OVERLOADED",
                "UNAUTHENTICATED",
            ):
                await self._settle(store_key, None)
            else:
                await self._settle(store_key, {"state": "unknown", "fingerprint": fingerprint})
            raise
        except BaseException:
            # Cancelled or an unexpected error while the write may have been in flight.
            await self._settle(store_key, {"state": "unknown", "fingerprint": fingerprint})
            raise
        await self._settle(
            store_key, {"state": "done", "fingerprint": fingerprint, "result": result}
        )
        return result

    async def _settle(self, store_key: str, record: dict[str, Any] | None) -> None:
        async def write() -> None:
            if record is None:
                await self._store.discard(store_key)
            else:
                await self._store.replace(store_key, orjson.dumps(record), self._ttl)

        try:
            # Shielded: a request cancelled mid-write still records what became of it.
            await asyncio.shield(write())
        except StoreUnavailable:
            # The reservation stays "pending" and ages into "outcome unknown": never a resend.
            logger.warning("could not record an Idempotency-Key outcome; it will read as unknown")

    async def _follow(self, store_key: str, existing: bytes, fingerprint: str) -> tuple[bool, Any]:
        """Wait for the key's outcome: ``(False, result)``, or ``(True, None)`` once this
        request holds the key itself (the first was definitely not made and freed it)."""
        while True:
            record = orjson.loads(existing)
            if record.get("fingerprint") != fingerprint:
                raise IdempotencyConflict(CONFLICT)
            state = record.get("state")
            if state == "done":
                return False, record.get("result")
            if state != "pending":
                raise OutcomeUnknown(UNKNOWN)
            if time.time() - float(record.get("started", 0)) > self._pending_timeout:
                raise OutcomeUnknown(UNKNOWN)
            left = remaining()
            if left is not None and left <= POLL:
                raise IdempotencyInProgress(IN_PROGRESS)
            await asyncio.sleep(POLL)
            try:
                current = await self._store.reserve(
                    store_key,
                    orjson.dumps(
                        {"state": "pending", "fingerprint": fingerprint, "started": time.time()}
                    ),
                    self._ttl,
                )
            except StoreUnavailable:
                raise IdempotencyUnavailable(UNAVAILABLE) from None
            if current is None:
                return True, None
            existing = current
