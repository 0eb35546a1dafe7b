"""Subscriptions over plain HTTP: one long-lived, bounded, heart-beating response per subscription.

The transports (GraphQL over SSE in ``_sse``, Apollo's multipart subscriptions in
``_multipart``) differ only in how they frame an event, a keep-alive, a transport error and the
end; this module runs the stream for both, for any strawberry schema's subscriptions:

- a *pump* task iterates the subscription's async generator and queues each rendered event;
  the queue is bounded in bytes (``VSEE_STREAM_BUFFER_BYTES``): a client that stops reading is
  dropped with a ``SLOW_CONSUMER`` error instead of growing the process's memory (a stream
  holds at most that queue, the batch being written, and the server's socket buffer);
- the *writer* sends queued events, and a keep-alive after ``VSEE_STREAM_HEARTBEAT`` seconds of
  silence (which also lets proxies and the client see a live connection);
- a *watcher* reads the request's channel: the client's disconnect cancels the pump, which
  closes the subscription's generator at once (its ``finally`` blocks run);
- SIGTERM (``StreamRegistry.drain``) ends every stream cleanly (the transport's normal end, so
  clients reconnect, to another replica) and refuses new ones.

A ``StreamObserver`` (the app's metrics) is told of every stream opened and closed, and of every
one dropped or refused, by transport (``sse``, ``multipart``) and reason (``DROP_REASONS``):
bounded label sets, never a caller.

A stream is not a request in the admission-control sense: once its response starts it gives
back its admission slot and lifts the request deadline (the ``gateway.streaming`` hooks the
middleware leave in the ASGI scope), and each event's upstream calls keep their own timeouts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from starlette.types import Message, Receive, Scope, Send

from gateway.upstream import deadline_scope

logger = logging.getLogger("gateway.streams")

STREAMING_HOOKS = "gateway.streaming"
"""ASGI scope key: callables middleware registers, run once a response becomes a stream."""

SLOW_CONSUMER = "SLOW_CONSUMER"
TOO_MANY_SUBSCRIPTIONS = "TOO_MANY_SUBSCRIPTIONS"
SHUTTING_DOWN = "SHUTTING_DOWN"

# Why a stream was dropped or refused: the client did not read (slow_consumer), the caller's
# subscription cap (limit), the process draining (shutdown), a failure of ours (error).
DROP_REASONS = ("slow_consumer", "limit", "shutdown", "error")

_SLOW_MESSAGE = (
    "The client did not read this subscription's events fast enough; it was ended. Subscribe again."
)
_INTERNAL_MESSAGE = "The subscription failed; it has been logged. Subscribe again."


def on_streaming(scope: Scope, hook: Callable[[], None]) -> None:
    """Have ``hook`` run if this request's response turns into a long-lived stream."""
    scope.setdefault(STREAMING_HOOKS, []).append(hook)


def error(message: str, code: str) -> dict[str, Any]:
    return {"message": message, "extensions": {"code": code}}


class Framing(Protocol):
    """How one transport writes a stream's parts (each method returns the bytes to send)."""

    name: str  # the transport, as metrics label it
    media_type: str
    headers: Mapping[str, str]

    def opening(self) -> bytes:
        """What starts the body (sent at once, so the client and proxies see the stream)."""

    def event(self, result: Mapping[str, Any]) -> bytes:
        """One execution result (``data``/``errors``)."""

    def heartbeat(self) -> bytes: ...

    def failure(self, errors: list[dict[str, Any]]) -> bytes:
        """A transport-level error: the stream ends after it."""

    def closing(self) -> bytes:
        """The normal end of the stream."""


@dataclass(frozen=True, slots=True)
class StreamPolicy:
    """Limits of every HTTP subscription stream of one process (from settings)."""

    heartbeat: float = 10.0
    buffer_bytes: int = 1 << 20
    max_per_caller: int = 100
    # Once a stream has to end (drained, dropped, failed, completed), how long its last parts
    # may take to reach a client that reads slowly; after that the connection is closed.
    final_write_timeout: float = 10.0


class StreamObserver(Protocol):
    """Told about streams (for metrics); must not raise."""

    def stream_opened(self, transport: str) -> None: ...

    def stream_closed(self, transport: str) -> None: ...

    def stream_dropped(self, transport: str, reason: str) -> None: ...


@dataclass
class StreamRegistry:
    """This process's open subscription streams: the per-caller limit, counts, and the drain.

    Counts are exact (tests and metrics read them): ``open`` streams, ``opened`` and
    ``dropped`` (slow consumers) since start, and open streams per caller.
    """

    policy: StreamPolicy = field(default_factory=StreamPolicy)
    observer: StreamObserver | None = None
    open: int = 0
    opened: int = 0
    dropped: int = 0
    by_caller: dict[str, int] = field(default_factory=dict)
    draining: bool = False
    _streams: set[Stream] = field(default_factory=set, repr=False)

    def reserve(self, caller: str) -> bool:
        """Count one more stream for ``caller`` (a credential scope), if within the limit."""
        held = self.by_caller.get(caller, 0)
        if held >= self.policy.max_per_caller:
            return False
        self.by_caller[caller] = held + 1
        return True

    def release(self, caller: str) -> None:
        held = self.by_caller.get(caller, 0) - 1
        if held > 0:
            self.by_caller[caller] = held
        else:
            self.by_caller.pop(caller, None)

    def dropped_for(self, transport: str, reason: str) -> None:
        """A stream ended early, or was refused, for ``reason`` (one of ``DROP_REASONS``)."""
        if reason == "slow_consumer":
            self.dropped += 1
        if self.observer is not None:
            self.observer.stream_dropped(transport, reason)

    def drain(self) -> None:
        """SIGTERM: end every open stream cleanly and refuse new ones. Idempotent."""
        self.draining = True
        for stream in list(self._streams):
            stream.end("drain")


Render = Callable[[Any], Awaitable[Mapping[str, Any]]]


class Stream:
    """One subscription streamed as one HTTP response (an ASGI app, called once)."""

    def __init__(
        self,
        source: AsyncGenerator[Any, None],
        *,
        render: Render,
        framing: Framing,
        registry: StreamRegistry,
        caller: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.source = source
        self.render = render
        self.framing = framing
        self.registry = registry
        self.caller = caller
        self.headers = dict(headers or {})
        self.ending: str | None = None
        self._queue: deque[bytes] = deque()
        self._queued_bytes = 0
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._grace: asyncio.TimerHandle | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        registry = self.registry
        registry._streams.add(self)
        registry.open += 1
        registry.opened += 1
        transport = self.framing.name
        if registry.observer is not None:
            registry.observer.stream_opened(transport)
        try:
            if registry.draining:
                self.end("drain")
            for hook in scope.get(STREAMING_HOOKS, ()):
                hook()
            await self._run(receive, send)
        finally:
            registry._streams.discard(self)
            registry.open -= 1
            registry.release(self.caller)
            if registry.observer is not None:
                registry.observer.stream_closed(transport)
            if self._grace is not None:
                self._grace.cancel()
            # Whatever happened, the subscription's generator is closed before the response
            # ends (a no-op when the pump already finished it).
            await self.source.aclose()

    def end(self, reason: str) -> None:
        """Stop producing events; the writer sends what the reason calls for, then the end.

        The first reason wins, except that a client gone overrides all: nothing more is sent.
        """
        if self.ending is None and reason in _DROPS:
            # Counted now: the client hanging up after its last part would override the reason.
            self.registry.dropped_for(self.framing.name, _DROPS[reason])
        if self.ending is None or reason == "gone":
            self.ending = reason
        self._wake.set()
        self._bound_final_write()

    def _bound_final_write(self) -> None:
        if self._writer is None or self._grace is not None or self.ending in (None, "gone"):
            return
        # The last parts get a bounded time: a client that does not read them is cut off.
        self._grace = asyncio.get_running_loop().call_later(
            self.registry.policy.final_write_timeout, self._writer.cancel
        )

    async def _run(self, receive: Receive, send: Send) -> None:
        headers = [
            (b"content-type", self.framing.media_type.encode("latin-1")),
            # Proxies must pass each part on as it comes (nginx buffers by default).
            (b"x-accel-buffering", b"no"),
            *((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in self.headers.items()),
            *(
                (k.lower().encode("latin-1"), v.encode("latin-1"))
                for k, v in self.framing.headers.items()
            ),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        writer = asyncio.create_task(self._write(send))
        self._writer = writer
        pump = asyncio.create_task(self._pump()) if self.ending is None else None
        watcher = asyncio.create_task(self._watch(receive))
        self._bound_final_write()  # drained before it began
        tasks: set[asyncio.Task[None]] = {writer, watcher}
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (writer, watcher, pump):
                if task is not None and not task.done():
                    task.cancel()
            for task in (pump, writer, watcher):
                if task is not None:
                    with contextlib.suppress(asyncio.CancelledError):
                        await task

    async def _watch(self, receive: Receive) -> None:
        """Returns when the client has gone (its disconnect, or the server closed the socket)."""
        while True:
            message: Message = await receive()
            if message["type"] == "http.disconnect":
                self.end("gone")
                return

    async def _pump(self) -> None:
        limit = self.registry.policy.buffer_bytes
        try:
            # The request's deadline is for answering a request; a stream's events come for as
            # long as it lasts, and each upstream call keeps its own connect and read timeouts.
            with deadline_scope(None):
                async for result in self.source:
                    rendered = await self.render(result)
                    frame = self.framing.event(rendered)
                    if self._queued_bytes and self._queued_bytes + len(frame) > limit:
                        # A burst may have come before the writer ran at all: let it take the
                        # queue once; a writer stuck on a client that does not read cannot.
                        await asyncio.sleep(0)
                    if self._queued_bytes and self._queued_bytes + len(frame) > limit:
                        self._queue.clear()
                        self._queued_bytes = 0
                        self.end("slow")
                        return
                    self._queue.append(frame)
                    self._queued_bytes += len(frame)
                    self._wake.set()
                    if _refused_at_limit(rendered):
                        # The LiveHub's per-caller cap (one across every transport): the
                        # refusal is this stream's last event.
                        self.end("limit")
                    if self.ending is not None:
                        return  # drained, gone or refused: no more events
        except Exception:
            # Strawberry turns resolver errors into results; this is a failure of ours.
            logger.exception("subscription stream failed")
            self.end("error")
        else:
            if self.ending is None:
                self.end("complete")
        finally:
            await self.source.aclose()

    async def _write(self, send: Send) -> None:
        framing = self.framing
        await self._send(send, framing.opening())
        while True:
            if self._queue:
                frames = b"".join(self._queue)
                self._queue.clear()
                self._queued_bytes = 0
                await self._send(send, frames)
                continue
            if self.ending is not None:
                break
            self._wake.clear()
            try:
                async with asyncio.timeout(self.registry.policy.heartbeat):
                    await self._wake.wait()
            except TimeoutError:
                await self._send(send, framing.heartbeat())
        last = b""
        if self.ending == "slow":
            last = framing.failure([error(_SLOW_MESSAGE, SLOW_CONSUMER)])
        elif self.ending == "error":
            last = framing.failure([error(_INTERNAL_MESSAGE, "INTERNAL_SERVER_ERROR")])
        if self.ending != "gone":
            await send(
                {"type": "http.response.body", "body": last + framing.closing(), "more_body": False}
            )

    @staticmethod
    async def _send(send: Send, body: bytes) -> None:
        await send({"type": "http.response.body", "body": body, "more_body": True})


# Stream endings that are drops, and their reasons as metrics label them.
_DROPS = {"slow": "slow_consumer", "limit": "limit", "drain": "shutdown", "error": "error"}


def _refused_at_limit(result: Mapping[str, Any]) -> bool:
    errors = result.get("errors")
    if not isinstance(errors, list):
        return False
    return any(
        isinstance(e, Mapping) and (e.get("extensions") or {}).get("code") == TOO_MANY_SUBSCRIPTIONS
        for e in errors
    )
