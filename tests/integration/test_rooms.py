"""`rooms` as a Relay connection: paged through VSee's GET /rooms, bounded, never cut at 100."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gateway.app import create_app
from gateway.settings import Settings
from tests.conftest import MEMBER
from tests.servers import Gateway, Sandbox, ServerThread, gid

PAGE = """query($first: Int, $after: String, $last: Int, $before: String) {
  rooms(first: $first, after: $after, last: $last, before: $before) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id code } }
    nodes { code }
  }
}"""


class Listing:
    """An upstream whose account has ``count`` rooms, paged as GET /rooms pages (page, limit)."""

    def __init__(self, count: int) -> None:
        self.rooms = [
            {
                "slug": f"r{n}",
                "name": f"Room {n}",
                "domain": "clinic.example",
                "code": f"room{n:03d}",
                "created": 1633627600,
                "modified": 1633627600,
            }
            for n in range(count)
        ]
        self.calls: list[tuple[int, int]] = []

    def app(self) -> Starlette:
        async def rooms(request: Request) -> JSONResponse:
            page = int(request.query_params.get("page", "1"))
            limit = int(request.query_params.get("limit", "20"))
            self.calls.append((page, limit))
            start = (page - 1) * limit
            return JSONResponse(
                {"data": self.rooms[start : start + limit], "total": len(self.rooms)}
            )

        return Starlette(routes=[Route("/api_v3/rooms", rooms)])


@pytest.fixture(scope="module")
def listing() -> Iterator[tuple[Listing, Gateway]]:
    upstream = Listing(250)
    with ServerThread(upstream.app()) as vsee:
        settings = Settings(api_url=f"{vsee.url}/api_v3")
        with ServerThread(create_app(settings)) as server:
            handle = Gateway.of(server)
            yield upstream, handle
            handle.http.close()


def rooms(gateway: Gateway, **variables: Any) -> dict[str, Any]:
    body = gateway.query(PAGE, variables, token=MEMBER)
    assert "errors" not in body, body
    page: dict[str, Any] = body["data"]["rooms"]
    return page


def test_more_than_100_rooms_are_reached_a_page_at_a_time(
    listing: tuple[Listing, Gateway],
) -> None:
    upstream, gateway = listing
    upstream.calls.clear()
    codes: list[str] = []
    after = None
    while True:
        page = rooms(gateway, first=100, after=after)
        assert page["totalCount"] == 250
        assert [e["node"]["code"] for e in page["edges"]] == [n["code"] for n in page["nodes"]]
        codes.extend(n["code"] for n in page["nodes"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert codes == [room["code"] for room in upstream.rooms]  # all 250, in VSee's order
    # Aligned windows: exactly one VSee page each.
    assert upstream.calls == [(1, 100), (2, 100), (3, 100)]


def test_a_window_between_vsee_pages_reads_two_and_backwards_works(
    listing: tuple[Listing, Gateway],
) -> None:
    upstream, gateway = listing
    first = rooms(gateway, first=2)
    assert [n["code"] for n in first["nodes"]] == ["room000", "room001"]
    assert first["pageInfo"]["hasPreviousPage"] is False
    upstream.calls.clear()
    # After room001 (offset 1), three rooms: offsets 2..4 span VSee's pages 1 and 2 of 3.
    page = rooms(gateway, first=3, after=first["edges"][1]["cursor"])
    assert [n["code"] for n in page["nodes"]] == ["room002", "room003", "room004"]
    assert page["pageInfo"]["hasPreviousPage"] is True
    assert upstream.calls == [(1, 3), (2, 3)]
    back = rooms(gateway, last=2, before=page["edges"][0]["cursor"])
    assert [n["code"] for n in back["nodes"]] == ["room000", "room001"]
    assert back["edges"][0]["cursor"] == first["edges"][0]["cursor"]
    nothing = rooms(gateway, last=2, before=first["edges"][0]["cursor"])
    assert nothing["edges"] == []
    assert nothing["pageInfo"]["hasNextPage"] is True


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ({"first": 101}, "first"),
        ({"first": 0}, "first"),
        ({"first": 2, "last": 2}, "last"),
        ({"last": 2}, "before"),
        ({"first": 2, "after": "not-a-cursor"}, "after"),
        # A visit cursor is not a room cursor.
        ({"first": 2, "after": "dmlzaXQ6MQ=="}, "after"),
    ],
)
def test_bad_paging_is_refused_before_any_call(
    listing: tuple[Listing, Gateway], variables: dict[str, Any], field: str
) -> None:
    upstream, gateway = listing
    upstream.calls.clear()
    body = gateway.query(PAGE, variables, token=MEMBER)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body
    assert field in body["errors"][0]["message"]
    assert upstream.calls == []


def test_the_sandbox_rooms_page_by_cursor(gateway: Gateway, upstream: Sandbox) -> None:
    whole = rooms(gateway, first=100)
    codes = [n["code"] for n in whole["nodes"]]
    assert "vclinicroom" in codes
    assert whole["totalCount"] == len(codes)
    assert whole["edges"][0]["node"]["id"] == gid("Room", codes[0])
    upstream.clear_log()
    seen, after = [], None
    for _ in codes:
        page = rooms(gateway, first=1, after=after)
        seen.extend(n["code"] for n in page["nodes"])
        after = page["pageInfo"]["endCursor"]
    assert seen == codes
    assert page["pageInfo"]["hasNextPage"] is False
    assert upstream.counts() == {"GET /rooms": len(codes)}
