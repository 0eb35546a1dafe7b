"""`rooms` as a Relay connection: paged through VSee's GET /rooms, bounded, never cut at 100."""

from __future__ import annotations

import base64
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
        self.tell_total = True

    def app(self) -> Starlette:
        async def rooms(request: Request) -> JSONResponse:
            page = int(request.query_params.get("page", "1"))
            limit = int(request.query_params.get("limit", "20"))
            self.calls.append((page, limit))
            start = (page - 1) * limit
            body: dict[str, Any] = {"data": self.rooms[start : start + limit]}
            if self.tell_total:
                body["total"] = len(self.rooms)
            return JSONResponse(body)

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


# Adversarial review (issue 13): a provider named by global id alone is searched for in the
# account's rooms' provider lists. The search read only GET /rooms?limit=100, so a provider
# whose rooms all come after the first 100 read as null: a wrong answer, not a missing one.
PROVIDER = "query($id: ID!) { provider(id: $id) { id databaseId firstName } }"


class Staffed(Listing):
    """Rooms as Listing, each with a provider list: ``staff`` maps a room's index to its ids."""

    def __init__(self, count: int, staff: dict[int, str]) -> None:
        super().__init__(count)
        self.staff = {f"room{n:03d}": pid for n, pid in staff.items()}
        self.lists: list[str] = []
        self.gone: set[str] = set()

    def app(self) -> Starlette:
        async def providers(request: Request) -> JSONResponse:
            code = request.path_params["code"]
            self.lists.append(code)
            if code in self.gone:
                return JSONResponse({"code": 404, "message": "Room not found"}, status_code=404)
            pid = self.staff.get(code)
            rows = [] if pid is None else [{"id": pid, "first_name": f"P{pid}", "status": "20"}]
            return JSONResponse({"data": rows})

        app = super().app()
        app.router.routes.append(Route("/api_v3/rooms/{code}/providers", providers))
        return app


@pytest.fixture(scope="module")
def staffed() -> Iterator[tuple[Staffed, Gateway]]:
    # 620 rooms: more than the search reads (500), whose last rooms hold provider 9610.
    upstream = Staffed(620, {1: "9001", 150: "9150", 610: "9610"})
    with ServerThread(upstream.app()) as vsee:
        settings = Settings(api_url=f"{vsee.url}/api_v3")
        with ServerThread(create_app(settings)) as server:
            handle = Gateway.of(server)
            yield upstream, handle
            handle.http.close()


def _provider(upstream: Staffed, gateway: Gateway, pid: str) -> dict[str, Any]:
    upstream.calls.clear()
    upstream.lists.clear()
    return gateway.query(PROVIDER, {"id": gid("Provider", pid)}, token=MEMBER)


def test_a_provider_in_the_first_rooms_costs_one_page_of_rooms(
    staffed: tuple[Staffed, Gateway],
) -> None:
    upstream, gateway = staffed
    body = _provider(upstream, gateway, "9001")
    assert body == {
        "data": {
            "provider": {"id": gid("Provider", "9001"), "databaseId": "9001", "firstName": "P9001"}
        }
    }
    assert upstream.calls == [(1, 100)]
    assert len(upstream.lists) == len(set(upstream.lists)) == 100


def test_a_provider_past_the_first_100_rooms_is_found(staffed: tuple[Staffed, Gateway]) -> None:
    upstream, gateway = staffed
    body = _provider(upstream, gateway, "9150")
    assert body["data"]["provider"] == {
        "id": gid("Provider", "9150"),
        "databaseId": "9150",
        "firstName": "P9150",
    }, body
    # A page of rooms at a time, stopping at the page that has it.
    assert upstream.calls == [(1, 100), (2, 100)]
    assert sorted(upstream.lists) == [f"room{n:03d}" for n in range(200)]


def test_past_the_search_bound_the_answer_says_so_instead_of_null(
    staffed: tuple[Staffed, Gateway],
) -> None:
    upstream, gateway = staffed
    for pid in ("9610", "404404"):  # beyond the bound, and in no room at all
        body = _provider(upstream, gateway, pid)
        assert body["data"] == {"provider": None}
        error = body["errors"][0]
        assert error["extensions"]["code"] == "SEARCH_LIMIT_REACHED", body
        assert error["path"] == ["provider"]
        assert "first 500 rooms" in error["message"]
        # Bounded: five pages of rooms, 500 provider lists, nothing more.
        assert upstream.calls == [(page, 100) for page in range(1, 6)]
        assert len(upstream.lists) == len(set(upstream.lists)) == 500


@pytest.mark.parametrize(("count", "total"), [(250, True), (500, False), (500, True)])
def test_an_account_within_the_bound_answers_null_for_an_unknown_provider(
    count: int, total: bool
) -> None:
    upstream = Staffed(count, {7: "9007"})
    upstream.tell_total = total
    with ServerThread(upstream.app()) as vsee:
        settings = Settings(api_url=f"{vsee.url}/api_v3")
        with ServerThread(create_app(settings)) as server:
            gateway = Gateway.of(server)
            body = _provider(upstream, gateway, "404404")
            gateway.http.close()
    assert body == {"data": {"provider": None}}
    pages = [(page, 100) for page in range(1, -(-count // 100) + 1)]
    # Without a total, a full page at the bound leaves one question: is there a room more?
    assert upstream.calls == pages + ([(501, 1)] if count == 500 and not total else [])
    assert len(upstream.lists) == len(set(upstream.lists)) == count


def _cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


def test_total_count_is_the_same_on_every_page_of_the_connection(
    listing: tuple[Listing, Gateway],
) -> None:
    # The page before the first room (`last` before the first cursor) is empty, but the
    # account still has 250 rooms: totalCount was null there and 250 everywhere else.
    upstream, gateway = listing
    first = rooms(gateway, first=1)
    upstream.calls.clear()
    before_first = rooms(gateway, last=5, before=first["edges"][0]["cursor"])
    assert before_first["edges"] == []
    assert before_first["totalCount"] == first["totalCount"] == 250
    assert upstream.calls == [(1, 1)]  # the smallest page that tells the total
    # Not selected, not read: the empty page costs no call.
    upstream.calls.clear()
    body = gateway.query(
        "query($b: String) { rooms(last: 5, before: $b) { edges { cursor } } }",
        {"b": first["edges"][0]["cursor"]},
        token=MEMBER,
    )
    assert body == {"data": {"rooms": {"edges": []}}}
    assert upstream.calls == []


@pytest.mark.parametrize(
    "forged",
    [
        "room:-0",
        "room:+3",
        "room:03",
        "room: 3",
        "room:3 ",
        "room:٣",
        "room:1_0",
        "room:" + "1" * 5000,  # more digits than int() takes
    ],
)
def test_only_cursors_the_connection_gave_out_are_taken(
    listing: tuple[Listing, Gateway], forged: str
) -> None:
    # The same offset written another way is no cursor of ours (a client cache keyed by cursor
    # would hold one position twice); refused before any call like any other forged cursor.
    upstream, gateway = listing
    upstream.calls.clear()
    body = gateway.query(PAGE, {"first": 2, "after": _cursor(forged)}, token=MEMBER)
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "after"}
    assert upstream.calls == []


def test_a_room_gone_between_list_and_read_does_not_end_the_search(
    staffed: tuple[Staffed, Gateway],
) -> None:
    # A room deleted after GET /rooms listed it answers 404 for its providers: that room has
    # none to offer, the search goes on (it failed the whole field with VSee's NOT_FOUND).
    upstream, gateway = staffed
    upstream.gone = {"room003", "room120"}
    try:
        body = _provider(upstream, gateway, "9150")
    finally:
        upstream.gone = set()
    assert "errors" not in body, body
    assert body["data"]["provider"]["databaseId"] == "9150"
    assert upstream.calls == [(1, 100), (2, 100)]
