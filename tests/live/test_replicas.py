"""Replicas behind one Redis poll VSee once between them and fan answers out over pub/sub."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from gateway.upstream import Credentials
from tests.conftest import MEMBER
from tests.redis_server import RedisServer
from tests.servers import Gateway, Sandbox

from .test_subscriptions import VISIT_UPDATED, metric, new_walkin, start_call, wait_for
from .wsclient import credentials, socket

MakeGateway = Callable[..., tuple[Gateway, Any]]
POLLS = {"kind": "visit", "outcome": "ok"}
CUT = {"kind": "visit", "outcome": "cancelled"}


def polls(gateway: Gateway) -> int:
    return int(metric(gateway, "gateway_live_polls_total", **POLLS))


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A Redis of the test's own: it is stopped halfway through."""
    server = RedisServer().start()
    yield server
    server.stop()


async def test_two_replicas_poll_once_between_them(
    make_live_gateway: MakeGateway, live_upstream: Sandbox, redis_server: RedisServer
) -> None:
    redis_server.flush()
    one, _ = make_live_gateway(cache_url=redis_server.url)
    two, _ = make_live_gateway(cache_url=redis_server.url)
    visit_id, _, _ = await asyncio.to_thread(new_walkin, one)
    live_upstream.clear_log()
    async with socket(one.url) as a, socket(two.url) as b:
        await a.init(credentials(MEMBER))
        await b.init(credentials(MEMBER))
        on_one = await a.subscribe(VISIT_UPDATED, {"id": visit_id})
        on_two = await b.subscribe(VISIT_UPDATED, {"id": visit_id})
        # Each replica's first subscriber gets that replica's own read.
        assert (await a.next_data(on_one))["data"]["visitUpdated"]["status"] == "WAITING"
        assert (await b.next_data(on_two))["data"]["visitUpdated"]["status"] == "WAITING"
        await wait_for(lambda: polls(one) + polls(two) >= 8)
        # From then on one replica holds the lease and polls; the other only listens.
        assert sorted([polls(one), polls(two)])[0] == 1
        # A change read by the lease holder reaches both replicas' subscribers.
        await asyncio.to_thread(start_call, live_upstream, visit_id)
        assert (await a.next_data(on_one))["data"]["visitUpdated"]["status"] == "IN_PROGRESS"
        assert (await b.next_data(on_two))["data"]["visitUpdated"]["status"] == "IN_PROGRESS"
        # Keys and channels carry the credential scope (a hash), never the token.
        client = redis.Redis.from_url(redis_server.url)
        try:
            names = [c.decode() for c in client.pubsub_channels("vsee-gateway:live:*")]
            names += [k.decode() for k in client.keys("vsee-gateway:live:*")]
        finally:
            client.close()
        scope = Credentials(token=MEMBER, account_code="vclinic").scope
        assert len(names) == 2  # the channel both replicas listen on, and the lease
        assert all(scope in name for name in names)
        assert not any(MEMBER in name for name in names)
        await a.complete(on_one)
        await b.complete(on_two)
    assert sorted([polls(one), polls(two)])[0] == 1
    # Every call VSee saw was one of the two replicas' counted polls (a poll on its way when a
    # replica's last subscriber left is counted `cancelled`: VSee may or may not have seen it).
    reads = live_upstream.counts()
    assert set(reads) == {"GET /visits/{id}"}
    cut = sum(int(metric(g, "gateway_live_polls_total", **CUT)) for g in (one, two))
    assert cut <= 2
    assert polls(one) + polls(two) <= reads["GET /visits/{id}"] <= polls(one) + polls(two) + cut


async def test_answers_reach_only_subscribers_of_the_same_credentials(
    make_live_gateway: MakeGateway, live_upstream: Sandbox, redis_server: RedisServer
) -> None:
    redis_server.flush()
    one, _ = make_live_gateway(cache_url=redis_server.url)
    two, app_two = make_live_gateway(cache_url=redis_server.url)
    visit_id, _, _ = await asyncio.to_thread(new_walkin, one)
    async with socket(one.url) as member, socket(two.url) as stranger:
        await member.init(credentials(MEMBER))
        watched = await member.subscribe(VISIT_UPDATED, {"id": visit_id})
        assert (await member.next_data(watched))["data"]["visitUpdated"]["id"] == visit_id
        # A made-up token on the same account: its own poller, its own read, its own refusal,
        # however many answers replica one publishes for the member meanwhile.
        await stranger.init(credentials("made-up-token"))
        sub = await stranger.subscribe(VISIT_UPDATED, {"id": visit_id})
        event = await stranger.next_data(sub)
        assert event["data"] is None
        assert [e["extensions"]["code"] for e in event["errors"]] == ["UNAUTHENTICATED"]
        assert (await stranger.next_message(sub))["type"] == "complete"
        assert app_two.state.services.live.pollers == 0
        await member.complete(watched)


async def test_with_redis_down_each_replica_polls_on_its_own(
    make_live_gateway: MakeGateway, live_upstream: Sandbox, own_redis: RedisServer
) -> None:
    one, _ = make_live_gateway(cache_url=own_redis.url)
    two, _ = make_live_gateway(cache_url=own_redis.url)
    visit_id, _, _ = await asyncio.to_thread(new_walkin, one)
    async with socket(one.url) as a, socket(two.url) as b:
        await a.init(credentials(MEMBER))
        await b.init(credentials(MEMBER))
        on_one = await a.subscribe(VISIT_UPDATED, {"id": visit_id})
        on_two = await b.subscribe(VISIT_UPDATED, {"id": visit_id})
        await a.next_data(on_one)
        await b.next_data(on_two)
        own_redis.stop()
        # Nothing stalls: both replicas poll on their own, and say so in their metrics.
        before = (polls(one), polls(two))
        await wait_for(lambda: polls(one) > before[0] + 2 and polls(two) > before[1] + 2)
        assert metric(one, "gateway_live_degraded_total") > 0
        assert metric(two, "gateway_live_degraded_total") > 0
        await asyncio.to_thread(start_call, live_upstream, visit_id)
        assert (await a.next_data(on_one))["data"]["visitUpdated"]["status"] == "IN_PROGRESS"
        assert (await b.next_data(on_two))["data"]["visitUpdated"]["status"] == "IN_PROGRESS"
        await a.complete(on_one)
        await b.complete(on_two)


SLOW = {"live_interval_active": 2.0, "live_interval_idle": 4.0}


async def test_a_replica_whose_last_subscriber_leaves_gives_the_lease_up(
    make_live_gateway: MakeGateway, live_upstream: Sandbox, redis_server: RedisServer
) -> None:
    redis_server.flush()
    # A lease outlives three intervals of its holder (here at least 7 s): held on after its
    # holder stopped, the other replica's subscribers would hear nothing for as long.
    one, app_one = make_live_gateway(cache_url=redis_server.url, **SLOW)
    two, app_two = make_live_gateway(cache_url=redis_server.url, **SLOW)
    visit_id, _, _ = await asyncio.to_thread(new_walkin, one)
    client = redis.Redis.from_url(redis_server.url)
    try:
        async with socket(one.url) as a, socket(two.url) as b:
            await a.init(credentials(MEMBER))
            await b.init(credentials(MEMBER))
            subs = {
                app_one: (a, await a.subscribe(VISIT_UPDATED, {"id": visit_id})),
                app_two: (b, await b.subscribe(VISIT_UPDATED, {"id": visit_id})),
            }
            for ws, sub in subs.values():
                await ws.next_data(sub)
            await wait_for(lambda: client.keys("vsee-gateway:live:lease:*"))
            (lease,) = client.keys("vsee-gateway:live:lease:*")
            owners = {app.state.services.live._shared.owner.encode(): app for app in subs}
            holder = owners[client.get(lease)]
            (other,) = set(subs) - {holder}
            ws, sub = subs[holder]
            await ws.complete(sub)
            await wait_for(lambda: holder.state.services.live.pollers == 0)
            # Given up as the poller stopped: free, or taken by the other replica already.
            assert client.get(lease) in (None, other.state.services.live._shared.owner.encode())
            # The other replica polls from its next interval on, and its subscriber hears.
            await asyncio.to_thread(start_call, live_upstream, visit_id)
            ws, sub = subs[other]
            assert (await ws.next_data(sub))["data"]["visitUpdated"]["status"] == "IN_PROGRESS"
            await ws.complete(sub)
    finally:
        client.close()
