"""Mutations end to end: one upstream call each, the right encoding, state read back."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import ADMIN, MEMBER
from tests.servers import Gateway, Sandbox, gid, raw_id

CURRENT_MEMBER = "{ currentVisit { id member { id } room { code } provider { id } } }"


@pytest.fixture
def fresh(upstream: Sandbox) -> Iterator[Sandbox]:
    """Mutating tests start from the seeded state and leave it behind them."""
    upstream.reset()
    upstream.clear_log()
    yield upstream
    upstream.reset()


def first_room(gateway: Gateway) -> str:
    body = gateway.query("{ rooms(first: 1) { nodes { code } } }", token=MEMBER)
    code: str = body["data"]["rooms"]["nodes"][0]["code"]
    return code


def posts(sandbox: Sandbox) -> list[dict[str, Any]]:
    return [e for e in sandbox.log()["entries"] if e["method"] == "POST"]


def only_post(sandbox: Sandbox, route: str) -> dict[str, Any]:
    sent = posts(sandbox)
    assert [e["route"] for e in sent] == [route]
    entry = sent[0]
    assert entry["headers"]["x-apitoken"]
    assert entry["headers"]["x-accountcode"] == "vclinic"
    return entry


def me(gateway: Gateway, sandbox: Sandbox) -> dict[str, Any]:
    body = gateway.query(CURRENT_MEMBER, token=MEMBER)
    visit: dict[str, Any] = body["data"]["currentVisit"]
    sandbox.clear_log()
    return visit


def next_slot(gateway: Gateway, room: str | None = None) -> dict[str, Any]:
    start = datetime.now(tz=UTC) + timedelta(days=2)
    body = gateway.query(
        """query($start: DateTime!, $end: DateTime!, $room: String) {
             availability(start: $start, end: $end, roomCode: $room) { start end providerIds } }""",
        {"start": start.isoformat(), "end": (start + timedelta(days=7)).isoformat(), "room": room},
        token=MEMBER,
    )
    slots: list[dict[str, Any]] = body["data"]["availability"]
    assert slots, body
    return slots[0]


def read_back(gateway: Gateway, visit_id: str) -> dict[str, Any]:
    """The visit as the upstream now holds it, read through the gateway."""
    body = gateway.query(
        "query($id: ID!) { visit(id: $id) { type status intakeId } }",
        {"id": visit_id},
        token=ADMIN,
    )
    visit: dict[str, Any] = body["data"]["visit"]
    return visit


CREATE_INTAKE = """mutation($input: IntakeInput!) {
  createIntake(input: $input) {
    intakeId userErrors { field message code }
    intake { id reasonForVisit location phone customFields attachments { id } }
  } }"""


def test_create_intake_sends_one_json_post_with_custom_fields(
    gateway: Gateway, fresh: Sandbox
) -> None:
    body = gateway.query(
        CREATE_INTAKE,
        {
            "input": {
                "reasonForVisit": "Rash on both arms",
                "type": "WALK_IN",
                "location": "CA",
                "phone": "7123456789",
                "reset": True,
                "customFields": {"custom_symptoms": "Rash, Red Eyes", "custom_is_allergic": "Yes"},
            }
        },
        token=MEMBER,
    )
    payload = body["data"]["createIntake"]
    assert payload["userErrors"] == []
    intake = payload["intake"]
    assert intake["reasonForVisit"] == "Rash on both arms"
    assert intake["customFields"]["custom_symptoms"] == "Rash, Red Eyes"
    entry = only_post(fresh, "POST /intakes")
    # JSON (VSee takes form or JSON) so custom fields keep their types.
    assert entry["content_type"] == "application/json"
    assert entry["body"]["reason_for_visit"] == "Rash on both arms"
    assert entry["body"]["custom_is_allergic"] == "Yes"
    assert entry["body"]["type"] == 1
    # POST /intakes answers the id and the custom fields: the rest was read back once.
    assert fresh.counts() == {"POST /intakes": 1, "GET /intakes/{id}": 1}
    # Read back through the gateway from the upstream's state.
    again = gateway.query(
        "query($id: ID!) { intake(id: $id) { reasonForVisit customFields } }",
        {"id": payload["intakeId"]},
        token=MEMBER,
    )
    assert again["data"]["intake"]["customFields"]["custom_is_allergic"] == "Yes"


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ({"location": "California"}, "input.location"),
        ({"phone": "call me"}, "input.phone"),
        ({"providerId": "../../users"}, "input.providerId"),
        ({"reasonForVisit": "x" * 5000}, "input.reasonForVisit"),
        (
            {"customFields": {"reason_for_visit": "shadowing"}},
            "input.customFields.reason_for_visit",
        ),
        ({"customFields": ["not", "an", "object"]}, "input.customFields"),
        ({"attachmentIds": ["ok-1", "bad id!"]}, "input.attachmentIds.1"),
    ],
)
def test_bad_intake_input_costs_no_call(
    gateway: Gateway, fresh: Sandbox, variables: dict[str, Any], field: str
) -> None:
    body = gateway.query(CREATE_INTAKE, {"input": variables}, token=MEMBER)
    payload = body["data"]["createIntake"]
    assert payload["intakeId"] is None
    assert field.split(".") in [e["field"] for e in payload["userErrors"]]
    assert fresh.total() == 0


def test_update_intake(gateway: Gateway, fresh: Sandbox) -> None:
    created = gateway.query(CREATE_INTAKE, {"input": {"reasonForVisit": "first"}}, token=MEMBER)[
        "data"
    ]["createIntake"]["intakeId"]
    fresh.clear_log()
    body = gateway.query(
        """mutation($input: UpdateIntakeInput!) { updateIntake(input: $input) {
             intakeId userErrors { field code } } }""",
        {"input": {"id": created, "reasonForVisit": "second", "location": "MI"}},
        token=MEMBER,
    )
    assert body["data"]["updateIntake"] == {"intakeId": created, "userErrors": []}
    entry = only_post(fresh, "POST /intakes/{id}")
    assert entry["body"] == {"reason_for_visit": "second", "location": "MI"}
    read = gateway.query(
        "query($id: ID!) { intake(id: $id) { reasonForVisit location } }",
        {"id": created},
        token=MEMBER,
    )
    assert read["data"]["intake"] == {"reasonForVisit": "second", "location": "MI"}


def test_update_intake_needs_a_change(gateway: Gateway, fresh: Sandbox) -> None:
    body = gateway.query(
        "mutation($id: ID!) { updateIntake(input: {id: $id}) { userErrors { field code } } }",
        {"id": gid("Intake", "abc-1")},
        token=MEMBER,
    )
    assert body["data"]["updateIntake"]["userErrors"] == [{"field": ["input"], "code": "REQUIRED"}]
    assert fresh.total() == 0


def _new_intake(gateway: Gateway, room: str | None) -> str:
    intake_id: str = gateway.query(
        CREATE_INTAKE,
        {"input": {"reasonForVisit": "cough", "roomCode": room, "reset": True}},
        token=MEMBER,
    )["data"]["createIntake"]["intakeId"]
    return intake_id


def test_add_walkin(gateway: Gateway, fresh: Sandbox) -> None:
    room = gateway.query("{ rooms { nodes { code } } }", token=MEMBER)["data"]["rooms"]["nodes"][0][
        "code"
    ]
    provider = gateway.query(
        "query($c: String!) { room(code: $c) { providers { id } } }", {"c": room}, token=MEMBER
    )["data"]["room"]["providers"][0]["id"]
    intake = _new_intake(gateway, room)
    fresh.clear_log()
    body = gateway.query(
        """mutation($input: CreateWalkinInput!) { createWalkin(input: $input) {
             userErrors { code } visit { id type status intake { id } provider { id } } } }""",
        {"input": {"providerId": provider, "intakeId": intake, "roomCode": room}},
        token=MEMBER,
    )
    payload = body["data"]["createWalkin"]
    assert payload["userErrors"] == []
    assert payload["visit"]["type"] == "WALK_IN"
    assert payload["visit"]["status"] == "WAITING"
    assert payload["visit"]["intake"]["id"] == intake
    entry = only_post(fresh, "POST /visits/add_walkin")
    assert entry["content_type"].startswith("multipart/form-data")
    assert entry["body"] == {
        "provider_id": raw_id(provider),
        "intake_id": raw_id(intake),
        "room_code": room,
    }
    assert fresh.total() == 1
    assert read_back(gateway, payload["visit"]["id"]) == {
        "type": "WALK_IN",
        "status": "WAITING",
        "intakeId": intake,
    }


def test_add_econsult_is_json(gateway: Gateway, fresh: Sandbox) -> None:
    room = gateway.query("{ rooms { nodes { code } } }", token=MEMBER)["data"]["rooms"]["nodes"][0][
        "code"
    ]
    intake = _new_intake(gateway, room)
    fresh.clear_log()
    body = gateway.query(
        """mutation($input: CreateEconsultInput!) { createEconsult(input: $input) {
             userErrors { code } visit { id type status providerId expiry } } }""",
        {"input": {"intakeId": intake, "roomCode": room}},
        token=MEMBER,
        headers={"X-ApiKey": "app-key"},
    )
    visit = body["data"]["createEconsult"]["visit"]
    assert visit["type"] == "E_CONSULT"
    assert visit["providerId"] is None
    entry = only_post(fresh, "POST /visits/add_econsult")
    assert entry["content_type"] == "application/json"
    assert entry["body"] == {"intake_id": raw_id(intake), "room_code": room}
    assert entry["headers"]["x-apikey"] == "app-key"
    assert read_back(gateway, visit["id"]) == {
        "type": "E_CONSULT",
        "status": "SCHEDULED",
        "intakeId": intake,
    }


BOOK = """mutation($input: CreateAppointmentInput!) { createAppointment(input: $input) {
  visitId userErrors { field message code }
  visit { id type status start end provider { id } } } }"""


def _booking(gateway: Gateway, fresh: Sandbox) -> dict[str, Any]:
    current = me(gateway, fresh)
    slot = next_slot(gateway)
    intake = gateway.query(
        CREATE_INTAKE,
        {"input": {"reasonForVisit": "follow-up", "type": "APPOINTMENT", "reset": True}},
        token=MEMBER,
    )["data"]["createIntake"]["intakeId"]
    fresh.clear_log()
    return {
        "memberId": current["member"]["id"],
        "start": slot["start"],
        "end": slot["end"],
        "providerId": slot["providerIds"][0],
        "intakeId": intake,
    }


def test_create_appointment_consumes_the_slot_and_a_second_booking_is_a_user_error(
    gateway: Gateway, fresh: Sandbox
) -> None:
    booking = _booking(gateway, fresh)
    first = gateway.query(BOOK, {"input": booking}, token=MEMBER)["data"]["createAppointment"]
    assert first["userErrors"] == []
    assert first["visit"]["type"] == "APPOINTMENT"
    assert first["visit"]["provider"]["id"] == booking["providerId"]
    entry = only_post(fresh, "POST /appointments")
    assert entry["content_type"].startswith("multipart/form-data")
    assert entry["body"]["slot_start"] == str(
        int(datetime.fromisoformat(booking["start"]).timestamp())
    )
    assert entry["body"]["type"] == "2"
    assert read_back(gateway, first["visitId"]) == {
        "type": "APPOINTMENT",
        "status": "SCHEDULED",
        "intakeId": booking["intakeId"],
    }
    fresh.clear_log()
    # Same slot and provider with a new intake: only the slot can be the problem now.
    retry = {**booking, "intakeId": _new_intake(gateway, None)}
    fresh.clear_log()
    second = gateway.query(BOOK, {"input": retry}, token=MEMBER)["data"]["createAppointment"]
    assert second["visitId"] is None
    assert second["userErrors"][0]["code"] == "SLOT_TAKEN"
    assert second["userErrors"][0]["field"] == ["input", "start"]
    assert [e["route"] for e in posts(fresh)] == ["POST /appointments"]


def test_idempotency_key_books_once(gateway: Gateway, fresh: Sandbox) -> None:
    booking = _booking(gateway, fresh)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = gateway.query(BOOK, {"input": booking}, token=MEMBER, headers=key)
    second = gateway.query(BOOK, {"input": booking}, token=MEMBER, headers=key)
    assert first == second
    assert first["data"]["createAppointment"]["userErrors"] == []
    assert [e["route"] for e in posts(fresh)] == ["POST /appointments"]
    # The same key for a different request is refused, not answered with the wrong booking.
    other = gateway.query(
        BOOK, {"input": {**booking, "providerId": gid("Provider", "1")}}, token=MEMBER, headers=key
    )
    assert other["errors"][0]["extensions"]["code"] == "CONFLICT"
    # Another caller's identical key is their own key.
    third = gateway.query(
        BOOK,
        {"input": {**booking, "intakeId": _new_intake(gateway, None)}},
        token=ADMIN,
        headers=key,
    )
    assert third["data"]["createAppointment"]["userErrors"][0]["code"] == "SLOT_TAKEN"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"end": "2020-01-01T00:00:00+00:00"}, "input.end"),
        ({"start": "2020-01-01T00:00:00+00:00", "end": "2020-01-01T01:00:00+00:00"}, "input.start"),
        ({"memberId": "abc"}, "input.memberId"),
        ({"roomCode": "a/b"}, "input.roomCode"),
    ],
)
def test_bad_booking_costs_no_call(
    gateway: Gateway, fresh: Sandbox, change: dict[str, Any], field: str
) -> None:
    start = datetime.now(tz=UTC) + timedelta(days=3)
    booking = {
        "memberId": "1",
        "intakeId": "abc-123",
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=15)).isoformat(),
        **change,
    }
    body = gateway.query(BOOK, {"input": booking}, token=MEMBER)
    assert field.split(".") in [e["field"] for e in body["data"]["createAppointment"]["userErrors"]]
    assert fresh.total() == 0


def test_booking_invalidates_cached_availability(gateway: Gateway, fresh: Sandbox) -> None:
    booking = _booking(gateway, fresh)
    gateway.query(BOOK, {"input": booking}, token=MEMBER)
    fresh.clear_log()
    slot_after = next_slot(gateway)
    assert fresh.counts() == {"GET /availability": 1}
    assert not (
        slot_after["start"] == booking["start"]
        and booking["providerId"] in slot_after["providerIds"]
    )


def test_a_booking_with_an_unknown_outcome_still_invalidates_availability(
    gateway: Gateway, fresh: Sandbox
) -> None:
    booking = _booking(gateway, fresh)
    next_slot(gateway)  # cached before the booking
    fresh.faults(misbehave={"POST /appointments": "reset"})  # applied, answer cut off
    try:
        body = gateway.query(BOOK, {"input": booking}, token=MEMBER)
    finally:
        fresh.faults()
    assert body["errors"][0]["extensions"]["code"] == "OUTCOME_UNKNOWN"
    fresh.clear_log()
    slot_after = next_slot(gateway)
    assert fresh.counts() == {"GET /availability": 1}  # not the pre-booking answer
    assert not (
        slot_after["start"] == booking["start"]
        and booking["providerId"] in slot_after["providerIds"]
    )


UPDATE = """mutation($input: UpdateAppointmentInput!) {
  updateAppointment(input: $input) {
    userErrors { field code } visit { id start end providerId provider { id } } } }"""


def _my_appointment(gateway: Gateway, fresh: Sandbox) -> dict[str, Any]:
    booking = _booking(gateway, fresh)
    booked = gateway.query(BOOK, {"input": booking}, token=MEMBER)["data"]["createAppointment"]
    fresh.clear_log()
    return {"id": booked["visitId"], **booking}


def test_update_appointment_moves_it_and_removes_then_assigns_a_provider(
    gateway: Gateway, fresh: Sandbox
) -> None:
    appt = _my_appointment(gateway, fresh)
    removed = gateway.query(
        UPDATE, {"input": {"id": appt["id"], "removeProvider": True}}, token=ADMIN
    )["data"]["updateAppointment"]
    assert removed["userErrors"] == []
    assert removed["visit"]["providerId"] is None
    entry = only_post(fresh, "POST /visits/{id}")
    assert entry["query"] == {"version": "2"}
    assert entry["body"] == {"provider_id": "0"}
    fresh.clear_log()
    assigned = gateway.query(
        UPDATE,
        {"input": {"id": appt["id"], "assignProviderId": appt["providerId"]}},
        token=ADMIN,
    )["data"]["updateAppointment"]
    assert assigned["visit"]["provider"]["id"] == appt["providerId"]
    assert only_post(fresh, "POST /visits/{id}")["body"] == {
        "provider_id": raw_id(appt["providerId"])
    }
    read = gateway.query(
        "query($id: ID!) { visit(id: $id) { providerId } }", {"id": appt["id"]}, token=ADMIN
    )
    assert read["data"]["visit"]["providerId"] == appt["providerId"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({}, "input"),
        (
            {"assignProviderId": gid("Provider", "5"), "removeProvider": True},
            "input.removeProvider",
        ),
        (
            {"start": "2030-01-01T10:00:00+00:00", "end": "2030-01-01T09:00:00+00:00"},
            "input.end",
        ),
    ],
)
def test_bad_update_costs_no_call(
    gateway: Gateway, fresh: Sandbox, change: dict[str, Any], field: str
) -> None:
    body = gateway.query(UPDATE, {"input": {"id": gid("Visit", "123"), **change}}, token=ADMIN)
    assert field.split(".") in [e["field"] for e in body["data"]["updateAppointment"]["userErrors"]]
    assert fresh.total() == 0


def test_close_visit_then_read_in_the_same_request(gateway: Gateway, fresh: Sandbox) -> None:
    appt = _my_appointment(gateway, fresh)
    body = gateway.query(
        """mutation($id: ID!) {
             before: cancelAppointment(input: {id: $id}) {
               userErrors { code } visit { id status } } }""",
        {"id": appt["id"]},
        token=MEMBER,
    )
    payload = body["data"]["before"]
    assert payload["userErrors"] == []
    assert payload["visit"]["status"] == "CANCELLED"
    entry = only_post(fresh, "POST /visits/close")
    assert entry["body"] == {"id": raw_id(appt["id"]), "reason": "patient_cancel_appointment"}
    # The freed slot is bookable again, and the cache was invalidated to show it.
    rebook = {k: v for k, v in appt.items() if k != "id"}
    rebook["intakeId"] = _new_intake(gateway, None)
    again = gateway.query(BOOK, {"input": rebook}, token=MEMBER)
    assert again["data"]["createAppointment"]["userErrors"] == []


def test_mutations_need_credentials(gateway: Gateway, fresh: Sandbox) -> None:
    body = gateway.query(
        "mutation($id: ID!) { closeVisit(input: {id: $id}) { visitId } }",
        {"id": gid("Visit", "1")},
        token=None,
    )
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert fresh.total() == 0


def test_an_unknown_provider_is_a_user_error(gateway: Gateway, fresh: Sandbox) -> None:
    booking = _booking(gateway, fresh)
    body = gateway.query(
        BOOK, {"input": {**booking, "providerId": gid("Provider", "999999")}}, token=MEMBER
    )
    payload = body["data"]["createAppointment"]
    assert payload["visitId"] is None
    assert payload["userErrors"][0]["code"] == "REJECTED"
    assert payload["userErrors"][0]["message"]
    assert [e["route"] for e in posts(fresh)] == ["POST /appointments"]


def test_a_mutation_timeout_is_reported_and_never_retried(
    make_gateway: Callable[..., Gateway], fresh: Sandbox
) -> None:
    gateway = make_gateway(upstream_read_timeout=0.5, upstream_retries=3)
    fresh.faults(latency_ms=1500)
    try:
        body = gateway.query(CREATE_INTAKE, {"input": {"reasonForVisit": "slow"}}, token=MEMBER)
    finally:
        fresh.faults()
    error = body["errors"][0]
    # Sent, no answer: the caller is told the outcome is unknown, and never to retry blindly.
    assert error["extensions"]["code"] == "OUTCOME_UNKNOWN"
    assert "whether it was made is unknown" in error["message"]
    assert fresh.counts() == {"POST /intakes": 1}


RESCHEDULE = """mutation($input: RescheduleAppointmentInput!) {
  rescheduleAppointment(input: $input) {
    userErrors { field code } visit { id start end } } }"""


def test_reschedule_moves_only_to_a_free_time(gateway: Gateway, fresh: Sandbox) -> None:
    appt = _my_appointment(gateway, fresh)
    # The time it already holds is no longer offered: refused with no write.
    taken = gateway.query(
        RESCHEDULE,
        {"input": {"id": appt["id"], "start": appt["start"], "end": appt["end"]}},
        token=MEMBER,
    )["data"]["rescheduleAppointment"]
    assert taken["userErrors"] == [{"field": ["input", "start"], "code": "SLOT_TAKEN"}]
    assert posts(fresh) == []
    start = datetime.now(tz=UTC) + timedelta(days=2)
    offered = gateway.query(
        """query($start: DateTime!, $end: DateTime!, $p: ID) {
             availability(start: $start, end: $end, providerId: $p) { start end providerIds } }""",
        {
            "start": start.isoformat(),
            "end": (start + timedelta(days=7)).isoformat(),
            "p": appt["providerId"],
        },
        token=MEMBER,
    )["data"]["availability"]
    free = next(s for s in offered if appt["providerId"] in s["providerIds"])
    fresh.clear_log()
    moved = gateway.query(
        RESCHEDULE,
        {"input": {"id": appt["id"], "start": free["start"], "end": free["end"]}},
        token=MEMBER,
    )["data"]["rescheduleAppointment"]
    assert moved["userErrors"] == []
    assert moved["visit"]["start"] == free["start"]
    entry = only_post(fresh, "POST /visits/{id}")
    assert entry["body"]["start"] == str(int(datetime.fromisoformat(free["start"]).timestamp()))


def test_the_consultation_price_is_vsees(gateway: Gateway, fresh: Sandbox) -> None:
    room = gateway.query(
        "{ rooms { nodes { code consultations { databaseId price { amount currency } } } } }",
        token=MEMBER,
    )["data"]["rooms"]["nodes"]
    offered = next(r for r in room if r["consultations"])
    consultation = offered["consultations"][0]
    fresh.clear_log()
    body = gateway.query(
        CREATE_INTAKE,
        {
            "input": {
                "reasonForVisit": "paid",
                "roomCode": offered["code"],
                "consultationId": consultation["databaseId"],
            }
        },
        token=MEMBER,
    )
    assert body["data"]["createIntake"]["userErrors"] == []
    sent = only_post(fresh, "POST /intakes")["body"]["consultation"]
    # What VSee lists for the room, not anything the client could have said.
    assert sent["id"] == consultation["databaseId"]
    assert str(sent["amount"]).startswith(consultation["price"]["amount"].split(".")[0])
    unknown = gateway.query(
        CREATE_INTAKE,
        {"input": {"roomCode": offered["code"], "consultationId": "no-such-thing"}},
        token=MEMBER,
    )["data"]["createIntake"]
    assert unknown["userErrors"] == [
        {
            "field": ["input", "consultationId"],
            "message": unknown["userErrors"][0]["message"],
            "code": "NOT_FOUND",
        }
    ]
