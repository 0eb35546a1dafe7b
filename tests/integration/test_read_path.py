"""The read path end to end: real gateway, real sandbox, exact upstream call counts."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import ADMIN, MEMBER, PROVIDER, SUN_MEMBER
from tests.servers import Gateway, Sandbox, gid

VISIT_FIELDS = """
  id code type typeCode status statusCode start end createdAt roomCode
  payment { databaseId amount { amount currency } durationMinutes description }
  intake { id reasonForVisit type customFields consultation { databaseId price { amount } } }
  provider { id fullName title }
  member { id fullName gender dob }
  room { id code name }
"""


def first_room(gateway: Gateway) -> str:
    body = gateway.query("{ rooms(first: 1) { nodes { code } } }", token=MEMBER)
    code: str = body["data"]["rooms"]["nodes"][0]["code"]
    return code


def week() -> dict[str, str]:
    start = datetime.now(tz=UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
    return {"start": start.isoformat(), "end": (start + timedelta(days=7)).isoformat()}


def first_visit_id(gateway: Gateway, token: str = MEMBER) -> str:
    body = gateway.query("{ visits(first: 1) { nodes { id } } }", token=token)
    visit_id: str = body["data"]["visits"]["nodes"][0]["id"]
    return visit_id


def test_visit_detail_is_one_call_when_everything_is_embedded(
    gateway: Gateway, upstream: Sandbox
) -> None:
    visit_id = first_visit_id(gateway)
    upstream.clear_log()
    body = gateway.query(
        f"query($id: ID!) {{ visit(id: $id) {{ {VISIT_FIELDS} }} }}", {"id": visit_id}, token=MEMBER
    )
    assert "errors" not in body, body
    visit = body["data"]["visit"]
    assert visit["id"] == visit_id
    assert visit["member"]["id"]
    assert visit["start"].endswith("Z")  # RFC 3339, always UTC
    assert upstream.counts() == {"GET /visits/{id}": 1}


def test_visits_list_costs_one_call_plus_one_detail_per_visit_for_missing_keys(
    gateway: Gateway, upstream: Sandbox
) -> None:
    # VSee's rows carry no intake_id (and no intake): each visit's detail is the minimum.
    body = gateway.query(
        """{ visits(first: 20) { totalCount pageInfo { hasNextPage endCursor }
             nodes { id intakeId providerId
                     intake { id reasonForVisit } provider { id fullName } member { id } } } }""",
        token=PROVIDER,
    )
    assert "errors" not in body, body
    nodes = body["data"]["visits"]["nodes"]
    assert len(nodes) == 20
    assert body["data"]["visits"]["totalCount"] > 20
    assert body["data"]["visits"]["pageInfo"]["hasNextPage"] is True
    assert all(n["intakeId"] and n["intake"]["id"] == n["intakeId"] for n in nodes)
    counts = upstream.counts()
    assert counts.pop("GET /visits") == 1
    assert counts.pop("GET /visits/{id}") == len({n["id"] for n in nodes}) == 20
    # Providers and members were embedded in the list: no lookups for them.
    assert counts == {}


def test_cursor_pagination_walks_without_overlap(gateway: Gateway, upstream: Sandbox) -> None:
    query = """query($after: String) {
      visits(first: 7, after: $after) { nodes { id } pageInfo { endCursor } } }"""
    first = gateway.query(query, token=PROVIDER)["data"]["visits"]
    second = gateway.query(query, {"after": first["pageInfo"]["endCursor"]}, token=PROVIDER)
    ids_1 = [n["id"] for n in first["nodes"]]
    ids_2 = [n["id"] for n in second["data"]["visits"]["nodes"]]
    both = gateway.query("{ visits(first: 14) { nodes { id } } }", token=PROVIDER)
    assert ids_1 + ids_2 == [n["id"] for n in both["data"]["visits"]["nodes"]]


def test_filters_reach_the_upstream(gateway: Gateway, upstream: Sandbox) -> None:
    body = gateway.query(
        """{ visits(first: 10, filter: {type: APPOINTMENT, upcoming: true}) {
             nodes { type isUpcoming } } }""",
        token=PROVIDER,
    )
    nodes = body["data"]["visits"]["nodes"]
    assert nodes
    assert all(n["type"] == "APPOINTMENT" and n["isUpcoming"] for n in nodes)
    entry = upstream.log()["entries"][0]
    assert entry["query"]["type"] == "2"
    assert "from" in entry["query"]


def test_current_visit(gateway: Gateway, upstream: Sandbox) -> None:
    body = gateway.query(
        "{ currentVisit { id status provider { id } intake { id } } }", token=MEMBER
    )
    assert "errors" not in body, body
    assert body["data"]["currentVisit"]["status"] == "IN_PROGRESS"


SLOTS = """query($start: DateTime!, $end: DateTime!, $room: String) {
  availability(start: $start, end: $end, roomCode: $room) {
    start end providerIds providers { id fullName %s } } }"""


def _slots(gateway: Gateway, upstream: Sandbox, extra: str, room: str | None) -> list[Any]:
    upstream.clear_log()
    body = gateway.query(SLOTS % extra, {**week(), "room": room}, token=MEMBER)
    assert "errors" not in body, body
    slots: list[Any] = body["data"]["availability"]
    assert len(slots) >= 10
    for slot in slots:
        assert [p["id"] for p in slot["providers"]] == slot["providerIds"]
    # Many slots name the same few providers.
    assert len({p for s in slots for p in s["providerIds"]}) < sum(
        len(s["providerIds"]) for s in slots
    )
    return slots


def test_slot_providers_come_from_one_room_list_when_that_is_all_asked(
    make_gateway: Callable[..., Gateway], upstream: Sandbox
) -> None:
    gateway = make_gateway()
    room = gateway.query("{ rooms { nodes { code } } }", token=MEMBER)["data"]["rooms"]["nodes"][0][
        "code"
    ]
    _slots(gateway, upstream, "", room)
    assert upstream.counts() == {"GET /availability": 1, "GET /rooms/{code}/providers": 1}


def test_same_provider_under_many_slots_is_fetched_once(
    make_gateway: Callable[..., Gateway], upstream: Sandbox
) -> None:
    gateway = make_gateway()
    room = gateway.query("{ rooms { nodes { code } } }", token=MEMBER)["data"]["rooms"]["nodes"][0][
        "code"
    ]
    slots = _slots(gateway, upstream, "email phone", room)
    distinct = {pid for slot in slots for pid in slot["providerIds"]}
    assert all(p["email"] for slot in slots for p in slot["providers"])
    assert upstream.counts() == {
        "GET /availability": 1,
        "GET /rooms/{code}/providers/{id}": len(distinct),
    }


def test_slot_providers_without_a_room_are_found_through_the_rooms(
    make_gateway: Callable[..., Gateway], upstream: Sandbox
) -> None:
    gateway = make_gateway()
    rooms = gateway.query("{ rooms { nodes { code } } }", token=MEMBER)["data"]["rooms"]["nodes"]
    slots = _slots(gateway, upstream, "email", None)
    counts = upstream.counts()
    assert counts.pop("GET /availability") == 1
    assert counts.pop("GET /rooms") == 1
    assert counts.pop("GET /rooms/{code}/providers") <= len(rooms)
    distinct = {pid for slot in slots for pid in slot["providerIds"]}
    assert counts == {"GET /rooms/{code}/providers/{id}": len(distinct)}


def test_availability_is_cached_per_caller_within_the_ttl(
    make_gateway: Callable[..., Gateway], upstream: Sandbox
) -> None:
    gateway = make_gateway(availability_ttl=30)
    query = """query($start: DateTime!, $end: DateTime!) {
      availability(start: $start, end: $end) { start } }"""
    variables = week()
    first = gateway.query(query, variables, token=MEMBER)
    second = gateway.query(query, variables, token=MEMBER)
    assert first == second
    assert upstream.counts() == {"GET /availability": 1}
    upstream.clear_log()
    gateway.query(query, variables, token=MEMBER)
    assert upstream.total() == 0
    # Another caller of the same account never gets the first caller's cached answer.
    gateway.query(query, variables, token=PROVIDER)
    assert upstream.counts() == {"GET /availability": 1}


def test_room_with_providers(gateway: Gateway, upstream: Sandbox) -> None:
    code = gateway.query("{ rooms { nodes { code } } }", token=MEMBER)["data"]["rooms"]["nodes"][0][
        "code"
    ]
    body = gateway.query(
        """query($code: String!) { room(code: $code) { code name timezone walkinEnabled
             consultations { databaseId price { amount currency } }
             providers { id fullName } } }""",
        {"code": code},
        token=MEMBER,
    )
    assert "errors" not in body, body
    assert body["data"]["room"]["providers"]


def test_missing_credentials_cost_no_upstream_call(gateway: Gateway, upstream: Sandbox) -> None:
    for kwargs in ({"token": None}, {"token": MEMBER, "account": None}):
        body = gateway.query("{ currentVisit { id } }", **kwargs)
        assert body["data"] is None or body["data"]["currentVisit"] is None
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert upstream.total() == 0


def test_bad_ids_are_refused_before_any_call(gateway: Gateway, upstream: Sandbox) -> None:
    body = gateway.query('{ visit(id: "../users/sso") { id } }', token=MEMBER)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    body = gateway.query("{ visits(first: 1000) { totalCount } }", token=MEMBER)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert upstream.total() == 0


def test_upstream_errors_are_coded_and_other_fields_keep_their_data(
    gateway: Gateway, upstream: Sandbox
) -> None:
    body = gateway.query(
        "query($id: ID!) { currentVisit { id } missing: visit(id: $id) { id } }",
        {"id": gid("Visit", "999999999")},
        token=MEMBER,
    )
    assert body["data"]["currentVisit"]["id"]
    assert body["data"]["missing"] is None
    error = body["errors"][0]
    assert error["extensions"]["code"] == "NOT_FOUND"
    assert error["path"] == ["missing"]


def test_wrong_token_is_unauthenticated(gateway: Gateway, upstream: Sandbox) -> None:
    body = gateway.query("{ currentVisit { id } }", token="not-a-real-token")
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_upstream_outage_is_coded_and_leaks_nothing(gateway: Gateway, upstream: Sandbox) -> None:
    upstream.faults(fail={"GET /visits/current": 503})
    response = gateway.post("{ currentVisit { id } }", token=MEMBER)
    text = response.text
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "UPSTREAM_UNAVAILABLE"
    assert upstream.url not in text
    assert "127.0.0.1" not in text
    assert MEMBER not in text
    assert "Traceback" not in text


def test_members_never_see_each_other(gateway: Gateway, upstream: Sandbox) -> None:
    mine = {
        n["id"]
        for n in gateway.query("{ visits(first: 50) { nodes { id } } }", token=MEMBER)["data"][
            "visits"
        ]["nodes"]
    }
    theirs_body = gateway.query(
        "{ visits(first: 50) { nodes { id } } }", token=SUN_MEMBER, account="sunclinic"
    )
    theirs = {n["id"] for n in theirs_body["data"]["visits"]["nodes"]}
    assert mine
    assert theirs
    assert not mine & theirs
    stolen = gateway.query(
        "query($id: ID!) { visit(id: $id) { id } }",
        {"id": next(iter(mine))},
        token=SUN_MEMBER,
        account="sunclinic",
    )
    assert stolen["data"]["visit"] is None
    assert stolen["errors"][0]["extensions"]["code"] in ("NOT_FOUND", "FORBIDDEN")


def test_only_credentials_are_forwarded(gateway: Gateway, upstream: Sandbox) -> None:
    gateway.query(
        "{ currentVisit { id } }",
        token=MEMBER,
        headers={
            "X-ApiKey": "app-key-1",
            "Cookie": "session=abc",
            "X-Forwarded-For": "10.1.2.3",
            "X-Custom": "nope",
        },
    )
    headers = upstream.log()["entries"][0]["headers"]
    assert headers["x-apitoken"] == MEMBER
    assert headers["x-accountcode"] == "vclinic"
    assert headers["x-apikey"] == "app-key-1"
    for name in ("cookie", "x-forwarded-for", "x-custom"):
        assert name not in headers
    assert headers["host"].startswith("127.0.0.1:")


def test_bearer_token_is_forwarded_as_the_api_token(gateway: Gateway, upstream: Sandbox) -> None:
    body = gateway.query("{ currentVisit { id } }", headers={"Authorization": f"Bearer {ADMIN}"})
    assert "errors" not in body, body
    assert upstream.log()["entries"][0]["headers"]["x-apitoken"] == ADMIN


def test_tokens_never_reach_the_logs(
    gateway: Gateway, upstream: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    upstream.faults(fail={"GET /visits": 503})
    gateway.query("{ visits { totalCount } currentVisit { id } }", token=MEMBER)
    gateway.query(
        "query($id: ID!) { visit(id: $id) { id } }",
        {"id": gid("Visit", "1")},
        token="leaky-token-123",
    )
    lines = [record.getMessage() + str(record.__dict__) for record in caplog.records]
    assert lines, "expected the gateway to log something at DEBUG"
    for line in lines:
        assert MEMBER not in line
        assert "leaky-token-123" not in line


def test_a_cursor_past_any_real_list_costs_no_call(gateway: Gateway, upstream: Sandbox) -> None:
    import base64

    # visit:10^28 once became page=10000000000000000000000000001: VSee answered 500, and five
    # such queries from one member opened the breaker every account shares.
    cursor = base64.urlsafe_b64encode(f"visit:{10**28}".encode()).decode()
    body = gateway.query(
        "query($after: String) { visits(first: 5, after: $after) { totalCount } }",
        {"after": cursor},
        token=MEMBER,
    )
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert upstream.total() == 0


def test_lists_are_bounded_by_first(gateway: Gateway, upstream: Sandbox) -> None:
    body = gateway.query(
        """query Bounded($start: DateTime!, $end: DateTime!) {
             availability(start: $start, end: $end, first: 3) { start }
             rooms { nodes { code providers(first: 1) { id } } } }""",
        week(),
        token=MEMBER,
    )
    assert "errors" not in body, body
    assert len(body["data"]["availability"]) == 3
    assert all(len(room["providers"]) <= 1 for room in body["data"]["rooms"]["nodes"])
    assert any(room["providers"] for room in body["data"]["rooms"]["nodes"])
    upstream.clear_log()
    refused = gateway.query(
        """query Unbounded($start: DateTime!, $end: DateTime!) {
             availability(start: $start, end: $end, first: 100000) { start } }""",
        week(),
        token=MEMBER,
    )
    assert refused["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert upstream.total() == 0


def test_last_before_pages_backwards(gateway: Gateway, upstream: Sandbox) -> None:
    edges = gateway.query("{ visits(first: 6) { edges { cursor node { id } } } }", token=MEMBER)[
        "data"
    ]["visits"]["edges"]
    assert len(edges) == 6
    back = gateway.query(
        """query Back($b: String!) { visits(last: 3, before: $b) {
             edges { node { id } } pageInfo { hasPreviousPage } } }""",
        {"b": edges[5]["cursor"]},
        token=MEMBER,
    )["data"]["visits"]
    assert [e["node"]["id"] for e in back["edges"]] == [e["node"]["id"] for e in edges[2:5]]
    assert back["pageInfo"]["hasPreviousPage"] is True
    upstream.clear_log()
    refused = gateway.query("{ visits(last: 3) { totalCount } }", token=MEMBER)
    assert refused["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert upstream.total() == 0


@pytest.mark.parametrize(
    ("query", "variables", "field"),
    [
        (
            "query($s: DateTime!, $e: DateTime!) { availability(start: $s, end: $e) { start } }",
            {"s": "0001-01-01T00:00:00+14:00", "e": "0001-01-01T01:00:00Z"},
            "start",
        ),
        (
            "query($s: DateTime!, $e: DateTime!) { availability(start: $s, end: $e) { start } }",
            {"s": "9999-12-30T00:00:00Z", "e": "9999-12-31T00:00:00Z"},
            "start",
        ),
        (
            "query($s: DateTime!) { visits(first: 1, filter: {startFrom: $s}) { nodes { id } } }",
            {"s": "0001-01-01T00:00:00Z"},
            "filter.startFrom",
        ),
    ],
)
def test_times_out_of_range_are_refused_before_any_call(
    gateway: Gateway, upstream: Sandbox, query: str, variables: dict[str, Any], field: str
) -> None:
    """Year 1 or 9999 would reach VSee as a negative or far epoch; refused here instead."""
    upstream.clear_log()
    body = gateway.query(query, variables, token=MEMBER)
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    # Named by the argument, or by the variable when the time does not even fit a UTC DateTime.
    assert field.split(".")[-1] in error["message"] or "$s" in error["message"]
    assert upstream.counts() == {}
