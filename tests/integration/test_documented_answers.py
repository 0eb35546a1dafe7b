"""Against answers shaped exactly as VSee's docs show them: right data, exact upstream calls.

One test per finding of issue 10: list rows without intake or room, create answers with only
an id, a walk-in answer without its room, an update answer without an id, an embedded
provider without its bio, a refused mutation beside a successful one, availability's
duration, custom fields' JSON types, clearing intake fields, and input enums.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import ADMIN, MEMBER, PROVIDER
from tests.servers import Gateway, Sandbox, gid


@pytest.fixture
def fresh(upstream: Sandbox) -> Iterator[Sandbox]:
    upstream.reset()
    upstream.clear_log()
    yield upstream
    upstream.reset()


def ok(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


def next_slot(gateway: Gateway) -> dict[str, Any]:
    start = datetime.now(tz=UTC) + timedelta(days=2)
    body = gateway.query(
        """query($start: DateTime!, $end: DateTime!) {
             availability(start: $start, end: $end, roomCode: "vclinicroom") {
               start end providerIds } }""",
        {"start": start.isoformat(), "end": (start + timedelta(days=7)).isoformat()},
        token=MEMBER,
    )
    slots: list[dict[str, Any]] = ok(body)["availability"]
    assert slots
    return slots[0]


# -- list rows ------------------------------------------------------------------------------------

ROW_FIELDS = (
    "id status start end providerId memberId invoiceId"
    " provider { id firstName } member { id firstName dob }"
)


def test_a_page_asking_only_row_fields_is_one_call(gateway: Gateway, upstream: Sandbox) -> None:
    data = ok(
        gateway.query(f"{{ visits(first: 20) {{ nodes {{ {ROW_FIELDS} }} }} }}", token=PROVIDER)
    )
    assert len(data["visits"]["nodes"]) == 20
    assert upstream.counts() == {"GET /visits": 1}


def test_rows_lacking_intake_and_room_are_read_through_each_visits_detail(
    gateway: Gateway, upstream: Sandbox
) -> None:
    query = """{ visits(first: 20) {
        nodes { id intake { id reasonForVisit } room { code } roomCode }
        edges { node { id intakeId room { name } } } } }"""
    data = ok(gateway.query(query, token=PROVIDER))
    nodes = data["visits"]["nodes"]
    assert len(nodes) == 20
    # 1 list call + one detail per distinct visit, shared by nodes and edges; never more.
    assert upstream.counts() == {"GET /visits": 1, "GET /visits/{id}": 20}
    upstream.clear_log()
    for node, edge in zip(nodes, data["visits"]["edges"], strict=True):
        detail = ok(
            gateway.query(
                """query($id: ID!) { visit(id: $id) {
                     intake { id reasonForVisit } room { code name } } }""",
                {"id": node["id"]},
                token=PROVIDER,
            )
        )["visit"]
        assert node["intake"] == detail["intake"]
        assert node["intake"]["reasonForVisit"]  # the seeded intakes all have one
        assert node["room"]["code"] == node["roomCode"] == detail["room"]["code"]
        assert edge["node"]["intakeId"] == node["intake"]["id"]
        assert edge["node"]["room"]["name"] == detail["room"]["name"]


def test_a_present_null_costs_nothing(gateway: Gateway, upstream: Sandbox) -> None:
    # A row's actual_end is null until the visit ends, and its room_id is null: both are
    # answers, so asking for them costs no detail call.
    data = ok(
        gateway.query(
            "{ visits(first: 20) { nodes { id actualEnd specialtyId } } }", token=PROVIDER
        )
    )
    assert any(n["actualEnd"] is None for n in data["visits"]["nodes"])
    assert upstream.counts() == {"GET /visits": 1}


# -- embedded objects -----------------------------------------------------------------------------


def test_embedded_provider_is_completed_from_the_rooms_list(
    gateway: Gateway, upstream: Sandbox
) -> None:
    visit_id = ok(gateway.query("{ currentVisit { id } }", token=MEMBER))["currentVisit"]["id"]
    upstream.clear_log()
    data = ok(
        gateway.query(
            """query($id: ID!) { visit(id: $id) {
                 provider { id shortBio status fullName }
                 room { providers { id shortBio } } } }""",
            {"id": visit_id},
            token=MEMBER,
        )
    )
    visit = data["visit"]
    listed = {p["id"]: p["shortBio"] for p in visit["room"]["providers"]}
    assert visit["provider"]["shortBio"]
    assert visit["provider"]["shortBio"] == listed[visit["provider"]["id"]]
    assert visit["provider"]["fullName"]
    counts = upstream.counts()
    assert counts.pop("GET /visits/{id}") == 1
    assert counts.pop("GET /rooms/{code}/providers") == 1
    # The room's own fields beyond the embedded id/code/name were not asked for.
    assert counts == {}


def test_embedded_member_is_completed_from_the_visit_detail(
    gateway: Gateway, upstream: Sandbox
) -> None:
    # A row's member has no photo key; the detail's member has one (null in the sandbox).
    data = ok(
        gateway.query("{ visits(first: 5) { nodes { member { id dob photo } } } }", token=PROVIDER)
    )
    assert all(n["member"]["dob"] for n in data["visits"]["nodes"])
    assert upstream.counts() == {"GET /visits": 1, "GET /visits/{id}": 5}


# -- mutation answers -----------------------------------------------------------------------------

CREATE_INTAKE = """mutation($input: IntakeInput!) {
  createIntake(input: $input) { intakeId userErrors { code } intake { %s } } }"""


def test_create_intake_returns_what_was_sent(gateway: Gateway, fresh: Sandbox) -> None:
    sent = {"reasonForVisit": "Sore throat", "type": "APPOINTMENT", "location": "CA"}
    data = ok(
        gateway.query(
            CREATE_INTAKE % "id reasonForVisit type location", {"input": sent}, token=MEMBER
        )
    )
    intake = data["createIntake"]["intake"]
    assert intake == {"id": data["createIntake"]["intakeId"], **sent}
    assert fresh.counts() == {"POST /intakes": 1, "GET /intakes/{id}": 1}


def test_create_intake_asking_only_what_the_answer_has_is_one_call(
    gateway: Gateway, fresh: Sandbox
) -> None:
    custom = {"custom_days": 3, "custom_allergic": True, "custom_vitals": {"pulse": 72}}
    data = ok(
        gateway.query(
            CREATE_INTAKE % "id customFields",
            {"input": {"reasonForVisit": "x", "customFields": custom}},
            token=MEMBER,
        )
    )
    # Custom fields keep their JSON types, both in VSee's answer and stored.
    assert data["createIntake"]["intake"]["customFields"] == custom
    assert fresh.counts() == {"POST /intakes": 1}
    stored = ok(
        gateway.query(
            "query($id: ID!) { intake(id: $id) { customFields } }",
            {"id": data["createIntake"]["intakeId"]},
            token=MEMBER,
        )
    )
    assert stored["intake"]["customFields"] == custom


def test_update_intake_clears_fields_explicitly(gateway: Gateway, fresh: Sandbox) -> None:
    created = ok(
        gateway.query(
            CREATE_INTAKE % "attachments { id }",
            {"input": {"reasonForVisit": "x", "attachmentIds": ["file-1"], "phone": "5550001111"}},
            token=MEMBER,
        )
    )["createIntake"]
    assert created["intake"]["attachments"] == [{"id": gid("Attachment", "file-1")}]
    fresh.clear_log()
    updated = ok(
        gateway.query(
            """mutation($input: UpdateIntakeInput!) {
                 updateIntake(input: $input) { intakeId userErrors { code }
                   intake { attachments { id } phone reasonForVisit } } }""",
            {"input": {"id": created["intakeId"], "attachmentIds": [], "phone": None}},
            token=MEMBER,
        )
    )["updateIntake"]
    assert updated["userErrors"] == []
    assert updated["intakeId"] == created["intakeId"]
    assert updated["intake"] == {"attachments": [], "phone": None, "reasonForVisit": "x"}
    post = next(e for e in fresh.log()["entries"] if e["method"] == "POST")
    assert post["body"] == {"attachments": "", "phone": ""}  # untouched fields not sent
    assert fresh.counts() == {"POST /intakes/{id}": 1, "GET /intakes/{id}": 1}


def test_walkin_payload_has_the_room_the_answer_lacks(gateway: Gateway, fresh: Sandbox) -> None:
    providers = ok(
        gateway.query('{ room(code: "vclinicroom") { providers { id } } }', token=MEMBER)
    )
    provider_id = providers["room"]["providers"][0]["id"]
    intake_id = ok(
        gateway.query(CREATE_INTAKE % "id", {"input": {"reasonForVisit": "now"}}, token=MEMBER)
    )["createIntake"]["intakeId"]
    fresh.clear_log()
    data = ok(
        gateway.query(
            """mutation($input: CreateWalkinInput!) { createWalkin(input: $input) {
                 visitId userErrors { code } visit { id status room { code } } } }""",
            {
                "input": {
                    "providerId": provider_id,
                    "intakeId": intake_id,
                    "roomCode": "vclinicroom",
                }
            },
            token=MEMBER,
        )
    )
    payload = data["createWalkin"]
    assert payload["visit"] == {
        "id": payload["visitId"],
        "status": "WAITING",
        "room": {"code": "vclinicroom"},
    }
    assert fresh.counts() == {"POST /visits/add_walkin": 1, "GET /visits/{id}": 1}
    # Asking only for what the answer carries costs no read-back.
    fresh.clear_log()
    again = ok(
        gateway.query(CREATE_INTAKE % "id", {"input": {"reasonForVisit": "again"}}, token=MEMBER)
    )["createIntake"]["intakeId"]
    fresh.clear_log()
    data = ok(
        gateway.query(
            """mutation($input: CreateWalkinInput!) { createWalkin(input: $input) {
                 visit { id status intake { reasonForVisit } } } }""",
            {"input": {"providerId": provider_id, "intakeId": again, "roomCode": "vclinicroom"}},
            token=ADMIN,
        )
    )
    assert data["createWalkin"]["visit"]["intake"]["reasonForVisit"] == "again"
    assert fresh.counts() == {"POST /visits/add_walkin": 1}


def test_update_appointment_reports_the_visit_it_changed(gateway: Gateway, fresh: Sandbox) -> None:
    upcoming = ok(
        gateway.query(
            """{ visits(first: 50, filter: {status: SCHEDULED, type: APPOINTMENT}) {
                 nodes { id providerId } } }""",
            token=PROVIDER,
        )
    )["visits"]["nodes"]
    visit = next(v for v in upcoming if v["providerId"])
    fresh.clear_log()
    data = ok(
        gateway.query(
            """mutation($input: UpdateAppointmentInput!) {
                 updateAppointment(input: $input) {
                   visitId userErrors { code } visit { id providerId start roomCode } } }""",
            {"input": {"id": visit["id"], "assignProviderId": visit["providerId"]}},
            token=PROVIDER,
        )
    )
    payload = data["updateAppointment"]
    assert payload["userErrors"] == []
    assert payload["visitId"] == visit["id"]
    assert payload["visit"]["id"] == visit["id"]
    assert payload["visit"]["providerId"] == visit["providerId"]
    # The update answer carries these keys (all but the id, which the caller named).
    assert fresh.counts() == {"POST /visits/{id}": 1}


def test_a_refused_mutation_keeps_its_neighbours_data(gateway: Gateway, fresh: Sandbox) -> None:
    slot = next_slot(gateway)
    someone_else = next(u["id"] for u in fresh.users() if u["type"] == 200 and u["token"] != MEMBER)
    fresh.clear_log()
    body = gateway.query(
        """mutation($intake: IntakeInput!, $booking: CreateAppointmentInput!) {
             createIntake(input: $intake) { intakeId userErrors { code } }
             createAppointment(input: $booking) { visitId userErrors { code } } }""",
        {
            "intake": {"reasonForVisit": "for me", "type": "APPOINTMENT"},
            # A member may not book for another member: VSee answers 403.
            "booking": {
                "memberId": gid("Member", someone_else),
                "start": slot["start"],
                "end": slot["end"],
                "intakeId": gid("Intake", "00000000-0000-0000-0000-000000000000"),
            },
        },
        token=MEMBER,
    )
    assert body["data"]["createIntake"]["userErrors"] == []
    intake_id = body["data"]["createIntake"]["intakeId"]
    assert intake_id
    assert body["data"]["createAppointment"] is None
    [error] = body["errors"]
    assert error["path"] == ["createAppointment"]
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert fresh.counts() == {"POST /intakes": 1, "POST /appointments": 1}
    # The intake really exists upstream.
    stored = ok(
        gateway.query(
            "query($id: ID!) { intake(id: $id) { reasonForVisit } }",
            {"id": intake_id},
            token=MEMBER,
        )
    )
    assert stored["intake"]["reasonForVisit"] == "for me"


# -- inputs ---------------------------------------------------------------------------------------


def test_availability_sends_duration_only_when_given(gateway: Gateway, upstream: Sandbox) -> None:
    start = datetime.now(tz=UTC) + timedelta(days=40)
    query = """query($start: DateTime!, $end: DateTime!, $d: Int) {
        availability(start: $start, end: $end, roomCode: "vclinicroom", durationMinutes: $d) {
          start end durationMinutes } }"""
    window = {"start": start.isoformat(), "end": (start + timedelta(days=7)).isoformat()}
    ok(gateway.query(query, window, token=MEMBER))
    ok(gateway.query(query, {**window, "d": 30}, token=MEMBER))
    sent = [e["query"] for e in upstream.log()["entries"] if e["route"] == "GET /availability"]
    assert len(sent) == 2
    assert "duration" not in sent[0]
    assert sent[1]["duration"] == "30"


@pytest.mark.parametrize(
    "query",
    [
        "{ visits(filter: {status: UNKNOWN}) { nodes { id } } }",
        "{ visits(filter: {type: UNKNOWN}) { nodes { id } } }",
        "mutation { createIntake(input: {type: UNKNOWN}) { intakeId } }",
    ],
)
def test_input_enums_have_no_unknown(gateway: Gateway, upstream: Sandbox, query: str) -> None:
    body = gateway.query(query, token=MEMBER)
    assert body.get("data") is None
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert upstream.total() == 0


# -- documented keys ------------------------------------------------------------------------------


def test_every_documented_visit_key_is_reachable(gateway: Gateway, upstream: Sandbox) -> None:
    data = ok(
        gateway.query(
            """{ currentVisit { id code oneTimeLinkToken isInCharge pendingActions hostIds
                 moreProviderIds guestEmails guestMobiles reminderType reminderTime notifyList
                 specialtyId completedBy rootVisit { id groupChatId participants }
                 meeting { meetingId } callLog { patients sourceIds }
                 relatedWalkinId relatedWalkin { id } member { vseeId } } }""",
            token=PROVIDER,
        )
    )
    visit = data["currentVisit"]
    assert visit["oneTimeLinkToken"]
    assert visit["isInCharge"] is True  # the demo provider is in charge of it
    assert visit["hostIds"]
    assert visit["rootVisit"]["id"] == visit["id"]
    assert visit["callLog"]["patients"] == [visit["member"]["vseeId"]]
    assert visit["callLog"]["sourceIds"]
    assert (visit["pendingActions"], visit["notifyList"]) == ([], [])
    assert upstream.counts() == {"GET /visits/current": 1}


def test_fragments_and_aliases_are_judged_per_field(gateway: Gateway, upstream: Sandbox) -> None:
    # The same list twice under aliases: only the one whose selection (through a named and an
    # inline fragment) needs a key the rows lack reads details, and the two share them.
    query = """{
      rows: visits(first: 3) { nodes { id status } }
      full: visits(first: 3) { nodes { ...Where } }
      again: visits(first: 3) { edges { node { ... on Visit { intakeId } } } } }
    fragment Where on Visit { id room { code } }"""
    data = ok(gateway.query(query, token=PROVIDER))
    assert all(n["room"]["code"] for n in data["full"]["nodes"])
    assert all(e["node"]["intakeId"] for e in data["again"]["edges"])
    assert [n["id"] for n in data["rows"]["nodes"]] == [n["id"] for n in data["full"]["nodes"]]
    assert upstream.counts() == {"GET /visits": 3, "GET /visits/{id}": 3}


def test_a_failed_read_back_keeps_the_write_outcome(
    make_gateway: Callable[..., Gateway], fresh: Sandbox
) -> None:
    # The walk-in is made; reading its room back fails. The caller still learns the visit's id.
    gateway = make_gateway(upstream_retries=0)
    provider_id = ok(
        gateway.query('{ room(code: "vclinicroom") { providers { id } } }', token=MEMBER)
    )["room"]["providers"][0]["id"]
    intake_id = ok(
        gateway.query(CREATE_INTAKE % "id", {"input": {"reasonForVisit": "now"}}, token=MEMBER)
    )["createIntake"]["intakeId"]
    fresh.faults(fail={"GET /visits/{id}": 503})
    fresh.clear_log()
    body = gateway.query(
        """mutation($input: CreateWalkinInput!) { createWalkin(input: $input) {
             visitId userErrors { code } visit { id room { code } } } }""",
        {"input": {"providerId": provider_id, "intakeId": intake_id, "roomCode": "vclinicroom"}},
        token=MEMBER,
    )
    payload = body["data"]["createWalkin"]
    assert payload["visitId"]
    assert payload["userErrors"] == []
    assert payload["visit"] is None
    [error] = body["errors"]
    assert error["path"] == ["createWalkin", "visit"]
    assert error["extensions"]["code"] == "UPSTREAM_UNAVAILABLE"
    assert fresh.counts() == {"POST /visits/add_walkin": 1, "GET /visits/{id}": 1}


def test_a_failed_detail_read_nulls_its_row_not_the_page(
    make_gateway: Callable[..., Gateway], fresh: Sandbox
) -> None:
    """Rows lacking the selected intake are read through their detail; when those reads fail,
    each such row is null with its own coded error and the page keeps the rest of its data."""
    gateway = make_gateway(upstream_retries=0)
    query = """{ visits(first: 3) { totalCount pageInfo { hasNextPage }
                 edges { cursor node { id intake { reasonForVisit } } }
                 nodes { id } } }"""
    fresh.faults(fail={"GET /visits/{id}": 503})
    fresh.clear_log()
    body = gateway.query(query, token=MEMBER)
    page = body["data"]["visits"]
    assert page["totalCount"] is not None
    assert page["pageInfo"] == {"hasNextPage": page["pageInfo"]["hasNextPage"]}
    assert [edge["cursor"] for edge in page["edges"]]  # every row's cursor survives
    assert all(edge["node"] is None for edge in page["edges"])
    assert page["nodes"] == [None] * len(page["edges"])
    paths = {tuple(error["path"]) for error in body["errors"]}
    assert ("visits", "edges", 0, "node") in paths
    assert ("visits", "nodes", 0) in paths
    assert {error["extensions"]["code"] for error in body["errors"]} == {"UPSTREAM_UNAVAILABLE"}
    # Each distinct visit is read once, shared by `edges` and `nodes`.
    assert fresh.counts() == {"GET /visits": 1, "GET /visits/{id}": len(page["edges"])}
    # Asking only row fields needs no detail: the same page answers in full.
    fresh.clear_log()
    rows = gateway.query("{ visits(first: 3) { nodes { id status } } }", token=MEMBER)
    assert "errors" not in rows
    assert all(node["id"] for node in rows["data"]["visits"]["nodes"])
    assert fresh.counts() == {"GET /visits": 1}
