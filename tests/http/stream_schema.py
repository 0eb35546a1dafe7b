"""A small schema with subscriptions, served by the gateway's own view and middleware in tests.

Its generators count themselves (``GENERATORS``), so tests can check that every subscription
a stream opened was closed again: by the client's disconnect, a slow client, SIGTERM or its end.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from dataclasses import dataclass

import strawberry
from strawberry.schema.config import StrawberryConfig

from gateway.schema import GatewaySchema, Info, QueryLimits, schema_extensions
from gateway.schema.scalars import SCALAR_MAP
from gateway.upstream import UpstreamUnavailable


@dataclass
class Generators:
    """Subscription generators started and finished (their ``finally`` ran)."""

    started: int = 0
    closed: int = 0
    yielded: int = 0

    @property
    def open(self) -> int:
        return self.started - self.closed


GENERATORS = Generators()


@strawberry.type(description="A test event.")
class Tick:
    n: int = strawberry.field(description="Its number, from 0.")
    account: str = strawberry.field(description="The subscriber's X-AccountCode.")

    @strawberry.field(description="The same tick again, one level deeper.")
    def again(self) -> Tick:
        return self


@strawberry.type(description="Reads.")
class Query:
    @strawberry.field(description="A greeting.")
    def hello(self) -> str:
        return "world"


def _account(info: Info) -> str:
    credentials = info.context.credentials
    return credentials.account_code if credentials is not None else ""


@strawberry.type(description="Test subscriptions.")
class Subscription:
    @strawberry.subscription(description="`to` ticks, then the end of the stream.")
    async def count(self, info: Info, to: int = 3) -> AsyncGenerator[Tick, None]:
        GENERATORS.started += 1
        try:
            for n in range(to):
                GENERATORS.yielded += 1
                yield Tick(n=n, account=_account(info))
        finally:
            GENERATORS.closed += 1

    @strawberry.subscription(description="`first` ticks at once, then nothing until closed.")
    async def ticks(self, info: Info, first: int = 1) -> AsyncGenerator[Tick, None]:
        GENERATORS.started += 1
        try:
            for n in range(first):
                GENERATORS.yielded += 1
                yield Tick(n=n, account=_account(info))
            await asyncio.Event().wait()
        finally:
            GENERATORS.closed += 1

    @strawberry.subscription(description="Strings of `size` characters, as fast as they go.")
    async def flood(self, size: int = 65536) -> AsyncGenerator[str, None]:
        GENERATORS.started += 1
        try:
            text = "x" * size
            n = 0
            while True:
                GENERATORS.yielded += 1
                # Each event differs: the schema sends only results that changed.
                yield f"{n:012d}{text}"
                n += 1
                await asyncio.sleep(0)
        finally:
            GENERATORS.closed += 1

    @strawberry.subscription(description="One tick, then VSee is unavailable.")
    async def failing(self, info: Info) -> AsyncGenerator[Tick, None]:
        GENERATORS.started += 1
        try:
            GENERATORS.yielded += 1
            yield Tick(n=0, account=_account(info))
            raise UpstreamUnavailable("VSee is unavailable")
        finally:
            GENERATORS.closed += 1


def stream_schema(limits: QueryLimits | None = None) -> GatewaySchema:
    """The schema, with the gateway's own extensions (limits, rate limit, caches)."""
    return GatewaySchema(
        query=Query,
        subscription=Subscription,
        extensions=schema_extensions(limits=limits or QueryLimits(max_depth=4)),
        config=StrawberryConfig(scalar_map=SCALAR_MAP),
    )
