"""What every resolver can reach: the caller's credentials, per-request loaders, shared services."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from strawberry.types import Info as _Info

from gateway.live import LiveHub
from gateway.loaders import AvailabilityService, IdempotencyStore, RequestLoaders, RequestWrites
from gateway.upstream import Credentials, MissingCredentials, UpstreamClient


class OperationObserver(Protocol):
    """Told about every executed operation (for metrics); must not raise."""

    def operation(
        self, name: str | None, outcome: str, seconds: float, *, credentialed: bool = True
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class Services:
    """Process-wide parts, built once in the app's lifespan."""

    client: UpstreamClient
    availability: AvailabilityService
    idempotency: IdempotencyStore
    max_page_size: int = 100
    observer: OperationObserver | None = None
    # Where VSee's relative file paths resolve (public_files_base); None for an internal upstream.
    files_base: str | None = None
    # Subscriptions' shared pollers; None where subscriptions are off (unit tests).
    live: LiveHub | None = None


@dataclass
class GatewayContext:
    """One per GraphQL request; loaders are created lazily so a failed auth costs nothing."""

    services: Services
    credentials: Credentials | None
    request: Any = None
    response: Any = None
    idempotency_key: str | None = None
    # Slot.providers: one converted Provider per (room, provider id, detail) and request.
    provider_futures: dict[tuple[str | None, str, bool], asyncio.Future[Any]] = field(
        default_factory=dict, repr=False
    )
    # Per field (path without list indexes): the VSee keys its selection needs (_sources.py).
    source_memo: dict[Any, Any] = field(default_factory=dict, repr=False)
    # Rate limiting: takes the request's cost from its caller's buckets; returns the seconds
    # to wait (0 = admitted). Set by the HTTP layer; None runs unlimited.
    admit: Callable[[int], Awaitable[float]] | None = field(default=None, repr=False)
    # graphql-transport-ws: the connection_init payload (strawberry sets it; see http/_ws.py).
    connection_params: dict[str, Any] | None = field(default=None, repr=False)
    _loaders: RequestLoaders | None = field(default=None, repr=False)
    _writes: RequestWrites | None = field(default=None, repr=False)

    @property
    def loaders(self) -> RequestLoaders:
        if self.credentials is None:
            raise MissingCredentials()
        if self._loaders is None:
            self._loaders = RequestLoaders(self.services.client, self.credentials)
        return self._loaders

    def for_operation(self) -> GatewayContext:
        """This context for one operation of a WebSocket: the connection's credentials and
        limits, with loaders, writes and memos of its own. The socket's context lives as long
        as the socket; shared, every query would answer from (and add to) what the ones
        before it loaded, stale and without bound, and a subscription's fresh loaders would
        pull those of a query running beside it. No idempotency key: one sent with the
        upgrade request would name every mutation of the socket (the second refused CONFLICT,
        or answered with the first's outcome)."""
        return replace(
            self,
            idempotency_key=None,
            provider_futures={},
            source_memo={},
            _loaders=None,
            _writes=None,
        )

    def fresh_loaders(self) -> RequestLoaders:
        """New loaders for the next subscription event: each event reads VSee afresh, never
        from what an earlier event of the same connection loaded."""
        self._loaders = None
        self._writes = None
        self.provider_futures = {}
        return self.loaders

    @property
    def writes(self) -> RequestWrites:
        if self._writes is None:
            loaders = self.loaders
            self._writes = RequestWrites(
                self.services.client, loaders.credentials, loaders, self.services.availability
            )
        return self._writes


Info = _Info[GatewayContext, None]
