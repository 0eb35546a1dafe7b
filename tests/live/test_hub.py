"""The pollers' interval policy and sharing, against ``httpx.MockTransport`` (unit tests)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from gateway.live import LiveHub, PollPolicy, Problem, Resource, Snapshot, SubscriptionLimit
from gateway.upstream import Credentials, Overloaded, UpstreamClient


def test_the_interval_stays_short_while_active_and_backs_off_when_idle() -> None:
    policy = PollPolicy(active=3, idle=30, backoff=2, jitter=0)
    assert policy.next_delay(3, active=True, changed=False) == 3
    delays = [3.0]
    for _ in range(6):
        delays.append(policy.next_delay(delays[-1], active=False, changed=False))
    assert delays == [3, 6, 12, 24, 30, 30, 30]
    # A change brings it back to the short interval at once.
    assert policy.next_delay(30, active=False, changed=True) == 3


def test_jitter_stays_within_its_fraction() -> None:
    policy = PollPolicy(active=10, idle=10, jitter=0.1)
    values = [policy.jittered(10) for _ in range(500)]
    assert all(9 <= v <= 11 for v in values)
    assert len(set(values)) > 1


class Upstream:
    """A VSee stand-in answering GET /visits/{id} with the status a test sets."""

    def __init__(self) -> None:
        self.status = 10
        self.calls = 0
        self.current_calls = 0
        self.called = asyncio.Event()

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        self.called.set()
        if request.url.path.endswith("/visits/current"):
            self.current_calls += 1
            return httpx.Response(200, json={"data": None})
        return httpx.Response(200, json={"data": {"id": "7", "status": self.status}})

    async def wait_calls(self, n: int, *, current: bool = False) -> None:
        async with asyncio.timeout(30):
            while (self.current_calls if current else self.calls) < n:
                self.called.clear()
                await self.called.wait()


@pytest.fixture
async def upstream() -> Any:
    fake = Upstream()
    client = UpstreamClient(
        "http://vsee.invalid/api_v3", transport=httpx.MockTransport(fake.handle)
    )
    yield fake, client
    await client.aclose()


MEMBER = Credentials(token="t-1", account_code="vclinic")


async def next_update(updates: Any) -> Snapshot | Problem:
    async with asyncio.timeout(30):
        update: Snapshot | Problem = await anext(updates)
        return update


async def test_one_poller_serves_every_subscriber_of_the_same_credentials(upstream: Any) -> None:
    fake, client = upstream
    hub = LiveHub(client, policy=PollPolicy(active=0.01, idle=0.01, jitter=0))
    streams = [hub.watch(MEMBER, Resource.visit("7")) for _ in range(5)]
    firsts = [await next_update(s) for s in streams]
    assert all(isinstance(f, Snapshot) and f.value == {"id": "7", "status": 10} for f in firsts)
    assert (hub.pollers, hub.subscriptions) == (1, 5)
    other = hub.watch(Credentials(token="t-2", account_code="vclinic"), Resource.visit("7"))
    await next_update(other)
    assert hub.pollers == 2  # other credentials never share a poller
    await fake.wait_calls(6)
    fake.status = 30
    changed = [await next_update(s) for s in streams]
    assert all(isinstance(c, Snapshot) and c.value["status"] == 30 for c in changed)  # type: ignore[index]
    for stream in [*streams, other]:
        await stream.aclose()
    assert (hub.pollers, hub.subscriptions) == (0, 0)
    await hub.aclose()


async def test_an_idle_visit_is_polled_less_often(upstream: Any) -> None:
    fake, client = upstream
    policy = PollPolicy(active=0.01, idle=0.08, jitter=0)
    hub = LiveHub(client, policy=policy)
    stream = hub.watch(MEMBER, Resource.visit("7"))
    await next_update(stream)
    poller = next(iter(hub._pollers.values()))
    await fake.wait_calls(3)
    assert poller.delay == 0.01  # waiting: the short interval
    fake.status = 40  # closed: idle from now on
    await next_update(stream)
    seen: list[float] = []
    for n in range(fake.calls + 1, fake.calls + 6):
        await fake.wait_calls(n)
        seen.append(poller.delay)
    assert seen[-1] == 0.08
    assert seen == sorted(seen)
    await stream.aclose()
    await hub.aclose()


async def test_no_current_visit_is_polled_often_while_the_callers_walkin_waits(
    upstream: Any,
) -> None:
    fake, client = upstream
    hub = LiveHub(client, policy=PollPolicy(active=0.01, idle=0.08, jitter=0))
    current = hub.watch(MEMBER, Resource.current())
    assert await next_update(current) == Snapshot(None)
    poller = next(iter(hub._pollers.values()))
    # 0.01, 0.02, 0.04, 0.08: one call more than that, so the fourth answer was taken.
    await fake.wait_calls(fake.current_calls + 5, current=True)
    assert poller.delay == 0.08  # nothing in progress, nothing waiting: backed off
    # The same caller now watches its waiting walk-in: the current visit may start any moment.
    visit = hub.watch(MEMBER, Resource.visit("7"))
    await next_update(visit)
    await fake.wait_calls(fake.current_calls + 2, current=True)
    assert poller.delay == 0.01
    # Another caller's waiting walk-in changes nothing for this one.
    await visit.aclose()
    other = hub.watch(Credentials(token="t-2", account_code="vclinic"), Resource.visit("7"))
    await next_update(other)
    await fake.wait_calls(fake.current_calls + 5, current=True)
    assert poller.delay == 0.08
    for stream in (current, other):
        await stream.aclose()
    await hub.aclose()


async def test_subscriptions_are_bounded_per_caller_and_per_process(upstream: Any) -> None:
    _, client = upstream
    hub = LiveHub(client, policy=PollPolicy(active=0.01, idle=0.01), max_per_caller=2, max_total=3)
    mine = [hub.watch(MEMBER, Resource.visit("7")) for _ in range(2)]
    for stream in mine:
        await next_update(stream)
    with pytest.raises(SubscriptionLimit):
        await next_update(hub.watch(MEMBER, Resource.visit("7")))
    other = Credentials(token="t-2", account_code="vclinic")
    theirs = hub.watch(other, Resource.visit("7"))
    await next_update(theirs)
    with pytest.raises(Overloaded):
        await next_update(hub.watch(other, Resource.current()))
    await mine[0].aclose()  # one leaves: room for one more
    again = hub.watch(other, Resource.current())
    await next_update(again)
    assert hub.subscriptions == 3
    for stream in (mine[1], theirs, again):
        await stream.aclose()
    assert hub.subscriptions == 0
    await hub.aclose()
