"""Per-request loaders: each id fetched once, distinct ids together, failures kept per id."""

import asyncio
from typing import Any

import httpx
import pytest

from gateway.loaders import RequestLoaders, _loaders
from gateway.upstream import Credentials, NotFound, Retry, UpstreamClient

CREDS = Credentials(token="t", account_code="vclinic")


class Upstream:
    def __init__(self) -> None:
        self.paths: list[str] = []
        self.in_flight = 0
        self.peak = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        await asyncio.sleep(0.02)
        self.in_flight -= 1
        if request.url.path.endswith("/404"):
            return httpx.Response(404, json={"code": 404, "message": "no such visit"})
        ident = request.url.path.rsplit("/", 1)[-1]
        return httpx.Response(200, json={"data": {"id": ident}})


def loaders(upstream: Upstream) -> RequestLoaders:
    client = UpstreamClient(
        "https://vsee.test", transport=httpx.MockTransport(upstream), retry=Retry(attempts=1)
    )
    return RequestLoaders(client, CREDS)


async def test_same_id_once_distinct_ids_concurrently() -> None:
    upstream = Upstream()
    request = loaders(upstream)
    results = await asyncio.gather(
        request.visit.load("1"), request.visit.load("2"), request.visit.load("1")
    )
    assert [r["id"] for r in results] == ["1", "2", "1"]
    assert sorted(upstream.paths) == ["/visits/1", "/visits/2"]
    assert upstream.peak == 2
    await request.visit.load("2")
    assert len(upstream.paths) == 2


async def test_one_missing_id_does_not_fail_its_siblings() -> None:
    upstream = Upstream()
    request = loaders(upstream)
    good, bad = await asyncio.gather(
        request.visit.load("7"), request.visit.load("404"), return_exceptions=True
    )
    assert good == {"id": "7"}
    assert isinstance(bad, NotFound)


async def test_loaders_do_not_outlive_their_request() -> None:
    upstream = Upstream()
    await loaders(upstream).visit.load("1")
    await loaders(upstream).visit.load("1")
    assert upstream.paths == ["/visits/1", "/visits/1"]


async def test_a_primed_visit_costs_no_call() -> None:
    upstream = Upstream()
    request = loaders(upstream)
    request.prime_visit({"id": 5, "status": 40})
    assert await request.visit.load("5") == {"id": 5, "status": 40}
    assert upstream.paths == []


def test_merge_completes_one_person_and_never_mixes_two() -> None:
    from gateway.loaders._loaders import merge

    row = {"id": "7", "provider": {"id": "1096", "first_name": "Anton", "last_name": "III"}}
    # The same provider in both: the detail's keys completed by the row's.
    same = merge(row, {"id": "7", "provider": {"id": 1096, "full_name": "Anton III"}})
    assert same["provider"] == {
        "id": 1096,
        "first_name": "Anton",
        "last_name": "III",
        "full_name": "Anton III",
    }
    # One side without an id is taken as the same person.
    anonymous = merge(row, {"provider": {"full_name": "Anton III"}})
    assert anonymous["provider"]["first_name"] == "Anton"
    # Another provider (the visit was reassigned): the detail's, whole.
    other = {"id": "12456470", "full_name": "Anton Provider"}
    assert merge(row, {"id": "7", "provider": other})["provider"] == other


# What GET /rooms/{code}/providers answers per provider (vsee-api-notes.md, confirmed).
ROOM_PROVIDER_LIST_KEYS = frozenset(
    {
        "id",
        "username",
        "code",
        "subtype",
        "first_name",
        "last_name",
        "vseeid",
        "photo",
        "title",
        "suffix",
        "status",
        "short_bio",
    }
)


def test_every_provider_field_the_room_list_answers_needs_no_detail_call() -> None:
    # Review of issue 13: `databaseId` and `statusCode` (new in v2) read only `id` and `status`,
    # which the room's list has, but were missing here: selecting them cost a detail call per
    # provider (every slot's, visit's and `provider(id:)`'s provider).
    from gateway.loaders import PROVIDER_LIST_FIELDS
    from gateway.loaders._specs import PROVIDER_SPEC

    from_list = {
        name
        for name, source in {**PROVIDER_SPEC, "databaseId": PROVIDER_SPEC["id"]}.items()
        if source.keys and set(source.keys) <= ROOM_PROVIDER_LIST_KEYS
    }
    assert from_list - PROVIDER_LIST_FIELDS == set()


async def _total_of(total: object) -> int | None:
    async def vsee(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"data": [{"code": "r1"}], "total": total})

    client = UpstreamClient(
        "https://vsee.test", transport=httpx.MockTransport(vsee), retry=Retry(attempts=1)
    )
    _, found = await RequestLoaders(client, CREDS).rooms_page(1, 10)
    return found


async def test_a_listing_total_is_a_count_or_nothing() -> None:
    # Review of issue 13: `total` went through int(), so True was 1, 12.7 was 12, -5 was a
    # negative totalCount and 3000000000 made totalCount (GraphQL Int, 32-bit) a field error.
    assert await _total_of(250) == 250
    assert await _total_of("250") == 250
    assert await _total_of(0) == 0
    odds: list[object] = [True, 12.7, "12.5", -5, "-5", 3_000_000_000, "abc", "9" * 5000, None]
    for odd in [*odds, [], {}]:
        assert await _total_of(odd) is None, odd


async def test_a_loader_is_made_only_when_first_used(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[object] = []
    build = _loaders._loader

    def counted(fetch_one: Any) -> Any:
        made.append(fetch_one)
        return build(fetch_one)

    monkeypatch.setattr(_loaders, "_loader", counted)
    upstream = Upstream()
    request = loaders(upstream)
    assert made == []  # a request that reads nothing builds no loader
    await asyncio.gather(request.visit.load("1"), request.visit.load("2"))
    await request.visit.load("1")
    assert len(made) == 1  # one loader for visits, reused; none for the other kinds
    assert upstream.paths == ["/visits/1", "/visits/2"]
