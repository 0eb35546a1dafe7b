"""Shared, adaptive pollers: one per (credential scope, resource), however many subscribe.

A subscription calls ``LiveHub.watch`` and receives ``Update``s: the first is VSee's current
answer for the resource, read with the subscriber's own credentials (or the answer its poller
already read with exactly the same credentials), then one whenever that answer changes. The
poller polls at ``PollPolicy.active`` while its resource is moving (a visit waiting or in
progress, a current visit, a non-empty queue; no current visit while the same caller watches a
waiting one), backs off towards ``PollPolicy.idle`` while it is
not, with jitter so pollers started together do not stay in step, and stops when its last
subscriber leaves. Each poll takes one token from the caller's rate-limit buckets; a poll over
budget is skipped, except the first (credentials VSee has not checked are not held open):
that ends the subscriptions with RATE_LIMITED.

VSee's refusals end subscriptions: a 401 ends every subscription of those credentials, a 403
or 404 those of that resource; anything else (VSee down, timeouts, the breaker open) is one
coded error on the stream, and polling goes on. With ``SharedPolls`` (Redis), replicas take a
lease per poller key so one of them polls and publishes; see ``_shared``.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import math
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

import orjson

from gateway.upstream import (
    Credentials,
    Forbidden,
    GatewayError,
    NotFound,
    Overloaded,
    Unauthenticated,
    UpstreamClient,
    deadline_scope,
    request_deadline,
)

from ._resources import Resource, is_active
from ._shared import SharedPolls

logger = logging.getLogger("gateway.live")

Admit = Callable[[int], Awaitable[float]]


class SubscriptionLimit(GatewayError):
    """A caller opened more subscriptions than ``VSEE_LIVE_MAX_SUBSCRIPTIONS_PER_CALLER``."""

    code = "TOO_MANY_SUBSCRIPTIONS"


class RateLimited(GatewayError):
    """A subscription's first poll is over its caller's budget (see ``LiveHub._poll``)."""

    code = "RATE_LIMITED"


class ShuttingDown(GatewayError):
    """The process is stopping; clients reconnect (to another replica)."""

    code = "SHUTTING_DOWN"


@dataclass(frozen=True, slots=True)
class Snapshot:
    """VSee's answer for the resource (decoded JSON; ``None`` for "no current visit")."""

    value: object


@dataclass(frozen=True, slots=True)
class Problem:
    """A coded error for the stream; ``final`` ends the subscription after it is sent."""

    error: GatewayError
    final: bool = False


Update = Snapshot | Problem


class LiveObserver(Protocol):
    """Told about subscriptions, pollers, polls and events (for metrics); must not raise."""

    def live_subscriptions(self, delta: int) -> None: ...

    def live_pollers(self, delta: int) -> None: ...

    def live_poll(self, kind: str, outcome: str) -> None: ...

    def live_event(self) -> None: ...

    def live_degraded(self) -> None: ...


@dataclass(frozen=True, slots=True)
class PollPolicy:
    """Poll intervals in seconds: ``active`` while the resource moves, growing by ``backoff``
    per quiet poll up to ``idle``; each delay is varied by up to ``jitter`` (a fraction)."""

    active: float = 3.0
    idle: float = 30.0
    backoff: float = 2.0
    jitter: float = 0.1

    def next_delay(self, previous: float, *, active: bool, changed: bool) -> float:
        base = self.active if active or changed else min(self.idle, previous * self.backoff)
        return max(base, self.active)

    def jittered(self, delay: float) -> float:
        return delay * (1 + random.uniform(-self.jitter, self.jitter))


class _Subscriber:
    """One subscription's mailbox: only the newest update is kept (a slow client skips
    intermediate states, never grows memory); a final problem is never overwritten."""

    __slots__ = ("_pending", "_wake", "scope")

    def __init__(self, scope: str) -> None:
        self.scope = scope
        self._pending: Update | None = None
        self._wake = asyncio.Event()

    def deliver(self, update: Update) -> None:
        if isinstance(self._pending, Problem) and self._pending.final:
            return
        self._pending = update
        self._wake.set()

    async def next(self) -> Update:
        await self._wake.wait()
        self._wake.clear()
        update, self._pending = self._pending, None
        assert update is not None
        return update


@dataclass(eq=False)
class _Poller:
    scope: str
    resource: Resource
    credentials: Credentials
    admit: Admit | None
    subscribers: set[_Subscriber] = field(default_factory=set)
    latest: Snapshot | None = None
    latest_bytes: bytes | None = None
    # The transient failure being reported (one error per outage), until an answer comes.
    failure: GatewayError | None = None
    task: asyncio.Task[None] | None = None
    delay: float = 0.0
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    stopped: bool = False
    # No longer counted among the hub's pollers (see _forget).
    forgotten: bool = False

    @property
    def key(self) -> tuple[str, Resource]:
        return self.scope, self.resource


class LiveHub:
    """Every poller of this process; one per app, built in its lifespan."""

    def __init__(
        self,
        client: UpstreamClient,
        *,
        policy: PollPolicy | None = None,
        max_per_caller: int = 100,
        max_total: int = 10_000,
        poll_deadline: float = 10.0,
        event_deadline: float = 20.0,
        observer: LiveObserver | None = None,
        shared: SharedPolls | None = None,
    ) -> None:
        self._client = client
        self.policy = policy or PollPolicy()
        self.max_per_caller = max_per_caller
        self.max_total = max_total
        self._total = 0
        self._poll_deadline = poll_deadline
        # Seconds the resolution of one event may spend upstream (VSEE_REQUEST_DEADLINE).
        self.event_deadline = event_deadline
        self._observer = observer
        self._shared = shared
        self._pollers: dict[tuple[str, Resource], _Poller] = {}
        self._per_scope: dict[str, int] = {}
        # The pollers of each credential scope (one caller's subscriptions).
        self._by_scope: dict[str, set[_Poller]] = {}
        self._revoked_listeners: dict[str, set[Callable[[], None]]] = {}
        self._closed = False
        if shared is not None:
            shared.on_update = self._shared_update

    # -- what subscriptions use --------------------------------------------------------------

    @property
    def pollers(self) -> int:
        return len(self._pollers)

    @property
    def subscriptions(self) -> int:
        return self._total

    async def watch(
        self, credentials: Credentials, resource: Resource, admit: Admit | None = None
    ) -> AsyncIterator[Update]:
        """The resource's updates for one subscriber, until it stops iterating or a final
        problem has been yielded."""
        scope = credentials.scope
        if self._closed:
            raise ShuttingDown("The gateway is shutting down; reconnect.")
        if self._total >= self.max_total:
            # Memory is bounded per process whoever subscribes; clients retry (elsewhere).
            raise Overloaded("This server holds as many subscriptions as it may; retry later.")
        if self._per_scope.get(scope, 0) >= self.max_per_caller:
            raise SubscriptionLimit(
                f"At most {self.max_per_caller} subscriptions per caller are open at once."
            )
        subscriber = _Subscriber(scope)
        poller = self._join(credentials, resource, admit, subscriber)
        try:
            # A poller already running (same credentials): what it knows now is the first event.
            if poller.failure is not None:
                subscriber.deliver(Problem(poller.failure))
            elif poller.latest is not None:
                subscriber.deliver(poller.latest)
            while True:
                update = await subscriber.next()
                yield update
                if isinstance(update, Problem) and update.final:
                    return
        finally:
            await self._leave(poller, subscriber)

    async def aclose(self) -> None:
        self._closed = True
        for poller in list(self._pollers.values()):
            for subscriber in list(poller.subscribers):
                subscriber.deliver(
                    Problem(ShuttingDown("The gateway is shutting down; reconnect."), final=True)
                )
            await self._stop(poller)
        if self._shared is not None:
            await self._shared.aclose()

    def event_sent(self) -> None:
        """Count an event that reached a client (after unchanged ones were dropped)."""
        self._notify("live_event")

    def on_revoked(self, scope: str, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener`` when VSee refuses ``scope``'s credentials (a transport closes its
        connections of them); returns the function that stops listening."""
        self._revoked_listeners.setdefault(scope, set()).add(listener)

        def stop() -> None:
            listeners = self._revoked_listeners.get(scope)
            if listeners is not None:
                listeners.discard(listener)
                if not listeners:
                    del self._revoked_listeners[scope]

        return stop

    def revoke(self, scope: str, error: GatewayError) -> None:
        """End every subscription of ``scope``: VSee no longer accepts its credentials."""
        for poller in list(self._by_scope.get(scope, ())):
            self._finish(poller, error)
        for listener in list(self._revoked_listeners.get(scope, ())):
            listener()

    # -- pollers -----------------------------------------------------------------------------

    def _join(
        self,
        credentials: Credentials,
        resource: Resource,
        admit: Admit | None,
        subscriber: _Subscriber,
    ) -> _Poller:
        key = (credentials.scope, resource)
        poller = self._pollers.get(key)
        if poller is None or poller.stopped:
            poller = _Poller(credentials.scope, resource, credentials, admit)
            self._pollers[key] = poller
            self._by_scope.setdefault(poller.scope, set()).add(poller)
            self._notify("live_pollers", 1)
            # A context of its own: the poller outlives the request that started it.
            poller.task = asyncio.create_task(self._run(poller), context=contextvars.Context())
            if self._shared is not None:
                self._shared.listen(poller.scope, resource.name)
        poller.subscribers.add(subscriber)
        self._per_scope[subscriber.scope] = self._per_scope.get(subscriber.scope, 0) + 1
        self._total += 1
        self._notify("live_subscriptions", 1)
        return poller

    async def _leave(self, poller: _Poller, subscriber: _Subscriber) -> None:
        if subscriber not in poller.subscribers:
            return
        poller.subscribers.discard(subscriber)
        self._total -= 1
        left = self._per_scope.get(subscriber.scope, 1) - 1
        if left:
            self._per_scope[subscriber.scope] = left
        else:
            self._per_scope.pop(subscriber.scope, None)
        self._notify("live_subscriptions", -1)
        if not poller.subscribers:
            await self._stop(poller)

    async def _stop(self, poller: _Poller) -> None:
        if poller.stopped:
            return
        poller.stopped = True
        if self._shared is not None:
            self._shared.unlisten(poller.scope, poller.resource.name)
        task = poller.task
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._shared is not None:
            # Another replica's subscribers of the key get a poller at its next interval.
            await self._shared.release(poller.scope, poller.resource.name)
        # Last: a subscriber joining meanwhile starts a new poller (this one is stopped).
        self._forget(poller)

    async def _run(self, poller: _Poller) -> None:
        try:
            first = True
            while not poller.stopped:
                if not first:
                    poller.wake.clear()
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(self.policy.jittered(poller.delay)):
                            await poller.wake.wait()
                    if poller.stopped:
                        return
                # Every replica reads once for its own first subscribers (their first event
                # comes from their own credentials); after that only the lease holder polls.
                lead = True
                if self._shared is not None and not first:
                    lead = await self._shared.lead(
                        poller.scope, poller.resource.name, self._lease_ttl(poller)
                    )
                first = False
                if not lead:
                    # Another replica polls and publishes; try again an interval later.
                    poller.delay = self.policy.next_delay(
                        poller.delay, active=self._active(poller), changed=False
                    )
                    continue
                await self._poll(poller)
        except asyncio.CancelledError:
            raise
        except Exception:  # pragma: no cover - a bug here must not leave subscribers hanging
            logger.exception("live poller %s failed", poller.resource.kind)
            # GatewayError's own code is INTERNAL_SERVER_ERROR.
            self._finish(poller, GatewayError("Internal error; it has been logged."))

    def _lease_ttl(self, poller: _Poller) -> float:
        # Long enough that a live holder renews it every poll; a dead one is replaced soon.
        return 3 * max(poller.delay, self.policy.active) + 1.0

    def _forget(self, poller: _Poller) -> None:
        if poller.forgotten:
            return
        poller.forgotten = True
        if self._pollers.get(poller.key) is poller:
            del self._pollers[poller.key]
        siblings = self._by_scope.get(poller.scope)
        if siblings is not None:
            siblings.discard(poller)
            if not siblings:
                del self._by_scope[poller.scope]
        self._notify("live_pollers", -1)

    def _active(self, poller: _Poller) -> bool:
        if poller.latest is not None and is_active(poller.resource, poller.latest.value):
            return True
        if poller.resource.kind == "current":
            # A member whose walk-in is waiting expects its visit to start any moment: the
            # current visit is polled as often as the waiting visit the same caller watches.
            return any(
                p.resource.kind == "visit"
                and p.latest is not None
                and is_active(p.resource, p.latest.value)
                for p in self._by_scope.get(poller.scope, ())
            )
        return False

    async def _poll(self, poller: _Poller) -> None:
        kind = poller.resource.kind
        if poller.admit is not None:
            wait = await poller.admit(1)
            if wait > 0:
                self._notify("live_poll", kind, "rate_limited")
                if poller.latest is None:
                    # Never answered: VSee has not checked these credentials, so made-up ones
                    # (each with a fresh scope) could hold subscriptions, up to the process's
                    # cap, for as long as their budget stays dry. Refused, as the subscribe
                    # itself would have been; the client retries once its budget refills.
                    seconds = max(1, math.ceil(wait))
                    self._finish(
                        poller,
                        RateLimited(
                            f"Too many requests for these credentials; retry in {seconds} s."
                        ),
                    )
                    return
                # Over the caller's budget: no VSee call now; the next try waits it out.
                poller.delay = max(wait, poller.delay, self.policy.active)
                return
        try:
            with deadline_scope(self._poll_deadline):
                value = await poller.resource.fetch(self._client, poller.credentials)
        except asyncio.CancelledError:
            # The last subscriber left mid-poll: the call may well have reached VSee, so it
            # is counted (polls against VSee are what the metric promises), then dropped.
            self._notify("live_poll", kind, "cancelled")
            raise
        except GatewayError as exc:
            self._notify("live_poll", kind, exc.code.lower())
            self._failed(poller, exc)
            if self._shared is not None:
                await self._shared.publish(
                    poller.scope, poller.resource.name, _problem_message(exc)
                )
            return
        self._notify("live_poll", kind, "ok")
        encoded = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
        changed = self._apply(poller, value, encoded)
        poller.delay = self.policy.next_delay(
            poller.delay, active=self._active(poller), changed=changed
        )
        if self._shared is not None:
            message = b'{"v":' + encoded + b"}"
            await self._shared.publish(poller.scope, poller.resource.name, message)

    def _apply(self, poller: _Poller, value: object, encoded: bytes) -> bool:
        """Take a new answer; deliver it when it differs from the last one (or after an error)."""
        recovered = poller.failure is not None
        poller.failure = None
        if encoded == poller.latest_bytes and not recovered:
            return False
        poller.latest = Snapshot(value)
        poller.latest_bytes = encoded
        for subscriber in list(poller.subscribers):
            subscriber.deliver(poller.latest)
        return True

    def _failed(self, poller: _Poller, error: GatewayError) -> None:
        if isinstance(error, Unauthenticated):
            # VSee no longer takes these credentials: nothing opened with them may go on.
            self.revoke(poller.scope, error)
            return
        if isinstance(error, Forbidden | NotFound):
            self._finish(poller, error)
            return
        # Transient: one coded error per outage (not per poll), and polling goes on, slower.
        if poller.failure is None or poller.failure.code != error.code:
            poller.failure = error
            for subscriber in list(poller.subscribers):
                subscriber.deliver(Problem(error))
        poller.delay = self.policy.next_delay(poller.delay, active=False, changed=False)

    def _finish(self, poller: _Poller, error: GatewayError) -> None:
        """Send every subscriber of ``poller`` its final error; the poller stops with the last."""
        poller.failure = error
        for subscriber in list(poller.subscribers):
            subscriber.deliver(Problem(error, final=True))
        if not poller.stopped and self._shared is not None:
            # (A stopped one stopped listening already, and a new poller may listen now.)
            self._shared.unlisten(poller.scope, poller.resource.name)
        self._forget(poller)
        poller.stopped = True
        poller.wake.set()

    def _shared_update(self, scope: str, resource_name: str, payload: bytes) -> None:
        """An answer another replica read for ``scope`` (the channel named it): apply it to
        this replica's poller of the same scope and resource, if there is one."""
        poller = self._pollers.get((scope, Resource.from_name(resource_name)))
        if poller is None or poller.stopped:
            return
        try:
            message = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return
        if not isinstance(message, dict):
            return
        if "v" in message:
            encoded = orjson.dumps(message["v"], option=orjson.OPT_SORT_KEYS)
            changed = self._apply(poller, message["v"], encoded)
            poller.delay = self.policy.next_delay(
                poller.delay, active=self._active(poller), changed=changed
            )
        elif isinstance(message.get("e"), list) and len(message["e"]) == 2:
            code, text = (str(part) for part in message["e"])
            self._failed(poller, _error_for(code, text))

    def _notify(self, name: str, *args: object) -> None:
        if self._observer is not None:
            getattr(self._observer, name)(*args)


# What a replica publishes for a refusal: its code and message (never a URL or credential).
_FINAL_CODES: dict[str, type[GatewayError]] = {
    "UNAUTHENTICATED": Unauthenticated,
    "FORBIDDEN": Forbidden,
    "NOT_FOUND": NotFound,
}


def _problem_message(error: GatewayError) -> bytes:
    return orjson.dumps({"e": [error.code, error.message]})


_STATUS = {"UNAUTHENTICATED": 401, "FORBIDDEN": 403, "NOT_FOUND": 404}


def _error_for(code: str, message: str) -> GatewayError:
    kind = _FINAL_CODES.get(code)
    if kind is not None:
        return kind(message, status=_STATUS[code])  # type: ignore[call-arg]
    error = GatewayError(message)
    error.code = code
    return error


def event_deadline(seconds: float) -> None:
    """Give the resolution of the next event its own upstream budget: a subscription's task
    has no request deadline, and a context variable set in an async generator is its task's."""
    request_deadline.set(time.monotonic() + seconds)
