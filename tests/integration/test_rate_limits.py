"""Per-caller rate limits: cost-based token buckets per credential scope and per account."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from gateway.ratelimit import Bucket, MemoryBuckets, RateLimiter
from tests.conftest import MEMBER, PROVIDER, SUN_MEMBER
from tests.redis_server import RedisServer
from tests.servers import Gateway, Sandbox

ROOMS = 'query Room { room(code: "vclinicroom") { code } }'  # cost 1: one VSee call
SUN_ROOMS = 'query Room { room(code: "sunclinic_main") { code } }'
CURRENT = "query Current { currentVisit { id } }"  # cost 1, and VSee checks the token
PAGE = "query Page { visits(first: 20) { nodes { id intake { id } } } }"  # cost 2 + 20


def _code(gateway: Gateway, query: str, **kwargs: object) -> tuple[int, str | None, dict[str, str]]:
    response = gateway.post(query, **kwargs)  # type: ignore[arg-type]
    errors = response.json().get("errors") or []
    code = errors[0]["extensions"]["code"] if errors else None
    return response.status_code, code, dict(response.headers)


def test_a_caller_over_its_budget_gets_429_with_retry_after(
    make_gateway: Callable[..., Gateway], upstream: Sandbox
) -> None:
    gateway = make_gateway(rate_limit_per_second=0.01, rate_limit_burst=5)
    for _ in range(5):
        assert _code(gateway, CURRENT, token=MEMBER)[:2] == (200, None)
    calls = upstream.total()
    status, code, headers = _code(gateway, CURRENT, token=MEMBER)
    assert (status, code) == (429, "RATE_LIMITED")
    assert int(headers["retry-after"]) >= 1
    assert upstream.total() == calls  # refused before any VSee call
    # Another caller (its own credential scope) is not held back by the first one.
    assert _code(gateway, ROOMS, token=PROVIDER)[:2] == (200, None)
    assert 'gateway_rate_limited_total{caller="caller"} 1.0' in gateway.metrics()


def test_a_request_counts_the_upstream_calls_it_may_cause(
    make_gateway: Callable[..., Gateway], upstream: Sandbox
) -> None:
    gateway = make_gateway(rate_limit_per_second=0.01, rate_limit_burst=30)
    assert _code(gateway, PAGE, token=MEMBER)[:2] == (200, None)  # takes 22 of 30
    assert _code(gateway, PAGE, token=MEMBER)[1] == "RATE_LIMITED"
    for _ in range(8):
        assert _code(gateway, ROOMS, token=MEMBER)[1] is None
    assert _code(gateway, ROOMS, token=MEMBER)[1] == "RATE_LIMITED"


def test_an_account_has_a_budget_of_its_own(
    make_gateway: Callable[..., Gateway], upstream: Sandbox
) -> None:
    gateway = make_gateway(
        rate_limit_per_second=0.01,
        rate_limit_burst=100,
        rate_limit_account_per_second=0.01,
        rate_limit_account_burst=6,
    )
    # A credential scope's first call is not charged to the account (VSee has not yet shown
    # that its token belongs there); each later one is: 2 + 2 + 2 = 6.
    for token in (MEMBER, PROVIDER, MEMBER, PROVIDER):
        for _ in range(2):
            assert _code(gateway, CURRENT, token=token)[1] is None
    assert _code(gateway, ROOMS, token=PROVIDER)[1] == "RATE_LIMITED"
    # Another account is unaffected.
    assert _code(gateway, SUN_ROOMS, token=SUN_MEMBER, account="sunclinic")[1] is None


def test_strangers_naming_an_account_cannot_spend_its_budget(
    make_gateway: Callable[..., Gateway], upstream: Sandbox
) -> None:
    """Anyone can send ``X-AccountCode: vclinic`` with made-up tokens; VSee refuses each token,
    but the account's bucket must not pay for them, or one stranger locks out every member."""
    gateway = make_gateway(
        rate_limit_per_second=0.01,
        rate_limit_burst=100,
        rate_limit_account_per_second=0.01,
        rate_limit_account_burst=6,
    )
    assert _code(gateway, CURRENT, token=MEMBER)[1] is None  # VSee accepts the member's token
    codes = []
    for n in range(10):
        codes.append(_code(gateway, CURRENT, token=f"made-up-{n}")[1])
        # Rooms are public reads: an answer to one does not vouch for the token.
        codes.append(_code(gateway, ROOMS, token=f"made-up-{n}")[1])
    # Strangers rotating tokens share one bucket: the account's unaccepted credentials'.
    assert codes[:5] == ["UNAUTHENTICATED", None] * 2 + ["UNAUTHENTICATED"]
    assert set(codes[6:]) == {"RATE_LIMITED"}
    # The member's budget (the account's bucket) is untouched: all 6 left (its first request,
    # before VSee had accepted its token, was charged to the unaccepted bucket).
    for _ in range(6):
        assert _code(gateway, CURRENT, token=MEMBER)[1] is None
    assert _code(gateway, CURRENT, token=MEMBER)[1] == "RATE_LIMITED"


def test_replicas_share_buckets_through_redis(
    make_gateway: Callable[..., Gateway], upstream: Sandbox, redis_server: RedisServer
) -> None:
    redis_server.flush()
    settings = {
        "cache_url": redis_server.url,
        "rate_limit_per_second": 0.01,
        "rate_limit_burst": 6,
    }
    first, second = make_gateway(**settings), make_gateway(**settings)
    for _ in range(3):
        assert _code(first, ROOMS, token=MEMBER)[1] is None
        assert _code(second, ROOMS, token=MEMBER)[1] is None
    assert _code(first, ROOMS, token=MEMBER)[1] == "RATE_LIMITED"
    assert _code(second, ROOMS, token=MEMBER)[1] == "RATE_LIMITED"


async def test_redis_down_falls_back_to_this_replicas_buckets(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fallbacks: list[None] = []
    limiter = RateLimiter(
        caller_rate=0.01,
        caller_burst=2,
        account_rate=1,
        account_burst=100,
        redis_url="redis://127.0.0.1:1/0",
        on_fallback=lambda: fallbacks.append(None),
    )
    buckets = limiter.buckets("vclinic:abc", "vclinic", None)
    try:
        with caplog.at_level(logging.WARNING, logger="gateway.ratelimit"):
            assert await limiter.admit(buckets, 1) == 0
            assert await limiter.admit(buckets, 1) == 0
            assert await limiter.admit(buckets, 1) > 0  # still limited, by memory
    finally:
        await limiter.aclose()
    assert len(fallbacks) == 1  # then Redis is left alone for a while
    assert "using this replica's own buckets" in caplog.text


def test_memory_buckets_refill_and_take_all_or_nothing() -> None:
    now = [0.0]
    buckets = MemoryBuckets(clock=lambda: now[0])
    small, big = Bucket("a", 1.0, 2.0), Bucket("b", 1.0, 10.0)
    assert buckets.take([small, big], 2) == 0
    assert buckets.take([small, big], 1) == pytest.approx(1.0)
    now[0] = 1.0
    assert buckets.take([small, big], 1) == 0
    # `big` was not charged by the refused request: 10 - 2 - 1 + 1 refilled (capped at 10).
    assert buckets.take([big], 8) == 0


def test_a_batch_with_a_refused_operation_says_when_to_retry(
    make_gateway: Callable[..., Gateway], upstream: Sandbox
) -> None:
    """Before: a batch whose operations were RATE_LIMITED answered without Retry-After."""
    gateway = make_gateway(rate_limit_per_second=0.01, rate_limit_burst=1)
    headers = {"X-ApiToken": MEMBER, "X-AccountCode": "vclinic"}
    response = gateway.http.post(
        f"{gateway.url}/graphql", json=[{"query": ROOMS}, {"query": ROOMS}], headers=headers
    )
    first, second = response.json()
    assert "errors" not in first
    assert second["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert int(response.headers["retry-after"]) >= 1
    assert response.headers["cache-control"] == "private, no-store"
