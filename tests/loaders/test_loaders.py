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
