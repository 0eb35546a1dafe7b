"""Against another upstream that answers only VSee's documented example bodies.

A tiny starlette app (not the sandbox) answers every endpoint of the seed with its example
body from sandbox/tests/fixtures/seed_examples, nothing more generous: a list row without
intake id or room code, create answers with only an id, an update answer without an id.
Only the ids a real server would echo are set to the id asked for. Rooms, which the seed does
not show, answer with the key sets /work/shared/vsee-api-notes.md confirms. The documented
screens (operations/*.graphql) and every mutation run through a real gateway against it.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gateway.app import create_app
from gateway.settings import Settings
from tests.conftest import DEMO_HEADERS, MEMBER
from tests.servers import Gateway, ServerThread, gid

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "sandbox" / "tests" / "fixtures" / "seed_examples"
OPERATIONS = ROOT / "operations"

LIST_VISIT = "7727"  # the id of GET /visits's example row
DETAIL_VISIT = "18407167"  # the id of GET /visits/:id's example body
INTAKE = "615f2de7-8ab8-48d3-80d8-53f564457b11"  # the intake GET /visits/:id's body embeds
ROOM = "vclinicroom"
# Global ids (schema v2) of the seed's people, visits and intakes the tests name.
VISIT_GID = gid("Visit", DETAIL_VISIT)
INTAKE_GID = gid("Intake", INTAKE)


def example(name: str) -> Any:
    return json.loads((EXAMPLES / f"{name}.json").read_text())


# Rooms are not in the seed; their keys are those vsee-api-notes.md confirms, values taken from
# the seed's room and provider where it shows them.
ROOMS = {
    "data": [
        {
            "slug": "UAT",
            "name": "VClinic UAT",
            "domain": "vclinic.vseepreview.com",
            "code": ROOM,
            "created": 1633627600,
            "modified": 1633627600,
        }
    ]
}
ROOM_DETAIL = {
    "data": {
        **ROOMS["data"][0],
        "specialties": [],
        "payment": {"currency": "USD", "consultations": []},
        "operation_settings": {
            "is_closed": False,
            "close_msg": "",
            "default_timezone": "America/Los_Angeles",
        },
        "visits": {"walkin": {"enabled": True}, "appointment": {"enabled": True}},
    }
}
PROVIDER_ROW = {
    "id": "12456470",
    "username": "anton+providersa@vseelab.com",
    "code": "p1",
    "subtype": "482",
    "first_name": "Anton",
    "last_name": "Provider",
    "vseeid": "anton+providersa@vseelab.com",
    "photo": None,
    "title": "",
    "suffix": "",
    "status": 1,
    "short_bio": "Family medicine",
}


def visit_detail(visit_id: str, *, reassigned: bool = False) -> dict[str, Any]:
    """GET /visits/:id's example for ``visit_id``; for the list's row, the same visit as the row.

    The key sets stay the detail example's; only values the row also shows are the row's, as a
    server answering both for one visit would.
    """
    body: dict[str, Any] = example("visit_get")
    detail = body["data"]
    detail["id"] = visit_id
    if visit_id == LIST_VISIT:
        row = example("visits_list")["data"][0]
        for key in detail:
            if key in row and not isinstance(row[key], dict):
                detail[key] = row[key]
        for embedded in ("provider", "member"):
            if reassigned:
                # Another provider took the visit between the list call and this one.
                detail["provider_id"] = detail["provider"]["id"]
                continue
            for key in detail[embedded]:
                if key in row[embedded]:
                    detail[embedded][key] = row[embedded][key]
        if not reassigned:
            detail["provider"]["full_name"] = "Anton Provider III"
            detail["member"]["full_name"] = "Keven2 Teodoro2"
    return body


# The availability example's provider ids, as providers of the room.
EXTRA_PROVIDERS = [
    {**PROVIDER_ROW, "id": pid, "first_name": "Slot", "last_name": pid, "short_bio": ""}
    for pid in ("123", "345")
]


class Documented:
    """The upstream: example bodies, and a log of the calls the gateway made."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.bodies: list[tuple[str, Any]] = []
        self.reassigned = False
        # Answer writes with the examples' own ids, as the docs print them (1525 to id=14).
        self.literal = False
        self.paths: list[str] = []
        # Endpoints answering the docs' error body with this status instead.
        self.refuse: dict[str, int] = {}

    def app(self) -> Starlette:
        def answer(endpoint: str, body: Any) -> Any:
            async def handle(request: Request) -> JSONResponse:
                self.calls[endpoint] += 1
                self.paths.append(request.url.path.removeprefix("/vc/next/api_v3"))
                raw = await request.body()
                self.bodies.append((endpoint, raw.decode(errors="replace")))
                if endpoint in self.refuse:
                    status = self.refuse[endpoint]
                    return JSONResponse({"code": status, "message": "Refused"}, status)
                value = await body(request) if callable(body) else copy.deepcopy(body)
                if value is None:
                    return JSONResponse({"message": "Not found"}, status_code=404)
                return JSONResponse(value)

            return handle

        async def visit(request: Request) -> Any:
            visit_id = request.path_params["id"]
            return visit_detail(visit_id, reassigned=self.reassigned)

        async def intake(request: Request) -> Any:
            body = example("intake_get")
            body["data"]["id"] = request.path_params["id"]
            return body

        async def provider(request: Request) -> Any:
            for row in (PROVIDER_ROW, *EXTRA_PROVIDERS):
                if row["id"] == request.path_params["id"]:
                    return {"data": row}
            return None

        async def closed(request: Request) -> Any:
            # The example answers id 1525 to a form naming 14; a server answers the id it closed.
            body = example("visit_close")
            if not self.literal:
                body["data"]["id"] = str((await request.form())["id"])
            return body

        async def intake_updated(request: Request) -> Any:
            body = example("intake_update")
            if not self.literal:
                body["data"]["id"] = request.path_params["id"]
            return body

        routes = [
            Route("/visits", answer("GET /visits", example("visits_list"))),
            Route("/visits/current", answer("GET /visits/current", example("visit_get"))),
            Route(
                "/visits/add_walkin",
                answer("POST /visits/add_walkin", example("visit_add_walkin")),
                methods=["POST"],
            ),
            Route(
                "/visits/add_econsult",
                answer("POST /visits/add_econsult", example("visit_add_econsult")),
                methods=["POST"],
            ),
            Route("/visits/close", answer("POST /visits/close", closed), methods=["POST"]),
            Route("/visits/{id}", answer("GET /visits/{id}", visit)),
            Route(
                "/visits/{id}",
                answer("POST /visits/{id}", example("visit_update")),
                methods=["POST"],
            ),
            Route("/intakes", answer("POST /intakes", example("intake_create")), methods=["POST"]),
            Route("/intakes/{id}", answer("GET /intakes/{id}", intake)),
            Route("/intakes/{id}", answer("POST /intakes/{id}", intake_updated), methods=["POST"]),
            Route("/availability", answer("GET /availability", example("availability"))),
            Route(
                "/appointments",
                answer("POST /appointments", example("appointment_create")),
                methods=["POST"],
            ),
            Route("/rooms", answer("GET /rooms", ROOMS)),
            Route("/rooms/{code}", answer("GET /rooms/{code}", ROOM_DETAIL)),
            Route(
                "/rooms/{code}/providers",
                answer("GET /rooms/{code}/providers", {"data": [PROVIDER_ROW, *EXTRA_PROVIDERS]}),
            ),
            Route(
                "/rooms/{code}/providers/{id}", answer("GET /rooms/{code}/providers/{id}", provider)
            ),
        ]
        return Starlette(
            routes=[
                Route(f"/vc/next/api_v3{r.path}", r.endpoint, methods=list(r.methods or ()))
                for r in routes
            ]
        )


@pytest.fixture
def documented() -> Iterator[tuple[Documented, Gateway]]:
    upstream = Documented()
    with ServerThread(upstream.app()) as up:
        settings = Settings(api_url=f"{up.url}/vc/next/api_v3", graphiql_headers=DEMO_HEADERS)
        with ServerThread(create_app(settings)) as gw:
            handle = Gateway.of(gw)
            yield upstream, handle
            handle.http.close()


@pytest.fixture
def doc(documented: tuple[Documented, Gateway]) -> tuple[Documented, Gateway]:
    upstream, gateway = documented
    upstream.calls.clear()
    upstream.bodies.clear()
    upstream.reassigned = False
    upstream.literal = False
    upstream.paths.clear()
    upstream.refuse.clear()
    return upstream, gateway


def operation(name: str) -> str:
    return (OPERATIONS / f"{name}.graphql").read_text()


def run(gateway: Gateway, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    return gateway.query(query, variables, token=MEMBER)


def ok(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


WEEK = {"start": "2016-08-01T00:00:00Z", "end": "2016-08-08T00:00:00Z"}

# GET /visits's example row as the screens show it: its own values, converted.
ROW_MEMBER = {
    "id": gid("Member", "575"),
    "fullName": "Keven2 Teodoro2",
    "email": "anton+1@vsee.com",
    "phone": "7123456111",
    "dob": "1983-02-02",
    "gender": "FEMALE",
}
# GET /visits/:id's intake (the row has no intake id): reason_for_visit "" reads as absent.
ROW_INTAKE = {
    "id": INTAKE_GID,
    "reasonForVisit": None,
    "type": "APPOINTMENT",
    "location": "MI",
    "phone": "5551234415",
}


def test_dashboard_rows_keep_their_values_and_read_the_intake_through_the_detail(
    doc: tuple[Documented, Gateway],
) -> None:
    upstream, gateway = doc
    data = ok(run(gateway, operation("DashboardScreen")))["visits"]
    assert data["totalCount"] is None  # the docs show no total
    assert data["pageInfo"]["hasNextPage"] is False
    assert data["nodes"] == [
        {
            "id": gid("Visit", LIST_VISIT),
            "code": "57a07c26947c4544aeef4e5cac1f0144",
            "type": "APPOINTMENT",
            "status": "SCHEDULED",
            "start": "2016-08-08T15:15:00Z",
            "end": "2016-08-08T15:30:00Z",
            # room_id null and no room_code in the row: the detail has the room.
            "roomCode": "vclinicroom",
            "member": ROW_MEMBER,
            "provider": {
                "id": gid("Provider", "1096"),
                "fullName": "Anton Provider III",
                "title": None,
            },
            "intake": ROW_INTAKE,
        }
    ]
    # The API's minimum: the list, and the one detail that knows the row's intake.
    assert upstream.calls == {"GET /visits": 1, "GET /visits/{id}": 1}


def test_dashboard_row_fields_only_is_one_call(doc: tuple[Documented, Gateway]) -> None:
    upstream, gateway = doc
    query = """{ visits(first: 20) { nodes { id databaseId status statusCode start createdAt
        updatedAt providerId memberId invoiceId actualStart actualEnd specialtyId
        payment { amount { amount currency } durationMinutes description }
        provider { id databaseId firstName lastName fullName username email phone photo subtype }
        member { id databaseId firstName dob gender isActive } } } }"""
    node = ok(run(gateway, query))["visits"]["nodes"][0]
    assert node == {
        "id": gid("Visit", LIST_VISIT),
        "databaseId": LIST_VISIT,
        "status": "SCHEDULED",
        "statusCode": 20,
        "start": "2016-08-08T15:15:00Z",
        "createdAt": "2016-08-02T10:55:34Z",
        "updatedAt": "2016-08-02T10:55:34Z",
        "providerId": gid("Provider", "1096"),
        "memberId": gid("Member", "575"),
        "invoiceId": "57a071d0-c0dc-45a6-9bc3-40fdac1f0144",
        "actualStart": None,
        "actualEnd": None,
        "specialtyId": None,
        "payment": {
            "amount": {"amount": "0.00", "currency": None},
            "durationMinutes": None,
            "description": "CMO Config Level One-time charge",
        },
        "provider": {
            "id": gid("Provider", "1096"),
            "databaseId": "1096",
            "firstName": "Anton",
            "lastName": "Provider III",
            "fullName": "Anton Provider III",
            "username": "anton+provider3@vsee.com",
            "email": "anton+provider3@vsee.com",
            "phone": "(334) 229-4100",
            "photo": "https://api.vseepreview.com/vc/next/api_v3/files/index/app_user/photo/1096/"
            "?auth_code=8350f279578774a6e31787fc5a5a05d2948770e0",
            "subtype": "482",
        },
        "member": {
            "id": gid("Member", "575"),
            "databaseId": "575",
            "firstName": "Keven2",
            "dob": "1983-02-02",
            "gender": "FEMALE",
            "isActive": True,
        },
    }
    assert upstream.calls == {"GET /visits": 1}


def test_visit_detail_converts_every_documented_value(doc: tuple[Documented, Gateway]) -> None:
    upstream, gateway = doc
    visit = ok(run(gateway, operation("VisitDetailScreen"), {"id": VISIT_GID}))["visit"]
    # Numbers where the list has strings: ids are strings, codes are numbers.
    assert (visit["id"], visit["memberId"], visit["providerId"]) == (
        VISIT_GID,
        gid("Member", "17778181"),
        gid("Provider", "12456470"),
    )
    assert (visit["type"], visit["typeCode"], visit["status"], visit["statusCode"]) == (
        "APPOINTMENT",
        2,
        "IN_PROGRESS",
        30,
    )
    assert (visit["subtype"], visit["relatedWalkinId"], visit["roomCode"]) == (
        "3",
        gid("Visit", "18407370"),
        "vclinicroom",
    )
    assert visit["start"] == "2021-09-14T14:10:16Z"
    assert visit["actualStart"] == "2021-09-14T14:03:31Z"
    assert visit["actualEnd"] is None
    intake = visit["intake"]
    assert intake["consent"] is True  # "true"
    assert intake["attachments"] == []  # "" means none
    assert intake["consultation"]["price"] == {"amount": "0.00", "currency": "USD"}
    assert intake["consultation"]["durationMinutes"] == 60
    profile = intake["medicalProfile"]
    # Mongo-style {sec, usec}, microseconds kept.
    assert profile["createdAt"] == "2015-04-27T21:03:26.596000Z"
    assert profile["familyConditions"]["entries"][0] == {
        "condition": "Diabetes",
        "relations": ["Paternal grandparents"],
    }
    assert profile["allergies"] == {
        "entries": [],
        "updatedAt": "2016-08-23T21:02:03Z",
        "modifiedBy": "Keven2 Teodoro2",
    }
    assert visit["payment"] == {
        "databaseId": "615cec5b-14c8-4493-b9ce-365764457b11",
        "amount": {"amount": "25.00", "currency": None},
        "durationMinutes": None,
        "description": "Cloud Clinic Default One-time Charge Message",
    }
    assert visit["meeting"]["conferencePin"] == "838759"  # a number in the docs
    assert visit["meeting"]["expiry"] == "2021-10-07T21:48:36Z"
    assert visit["meeting"]["phoneNumbers"] == [{"country": "US", "number": "+1.650.758.0255"}]
    assert visit["callLog"]["segments"] == [
        {
            "provider": "anton+providersa@vseelab.com",
            "start": "2021-10-07T17:36:48Z",
            "durationSeconds": 60,
            "waitSeconds": 0,
        }
    ]
    notes = visit["postVisit"]
    # HTML notes as VSee wrote them, JSON's escaped slashes decoded.
    assert notes["physicalExam"] == "<p>dfvevofivuoiwue</p><p>iou</p><p>oi</p>"
    assert notes["patientInstructions"] == "<p>Plan / Discharge...<br></p>"
    assert notes["attachments"][0]["size"] == 1692776
    assert visit["prescriptions"] == []
    before = visit["prescriptionsBeforeVisit"]
    assert before == [
        {
            "databaseId": "97316",
            "drug": "One Tab Daily with Iron oral tablet",
            "directions": "1 Milliliter(s) 1 to 2 times a day",
            "status": "CURRENT",
            "prescribedOn": "2016-01-30T00:00:00Z",
        }
    ]
    assert visit["hosts"][0]["role"] == "owner"
    assert (visit["creator"]["userType"], visit["creator"]["userTypeCode"]) == ("APP", 160)
    assert visit["room"] == {
        "id": gid("Room", ROOM),
        "code": "vclinicroom",
        "name": "VClinic UAT",
        "slug": "UAT",
        "domain": "vclinic.vseepreview.com",
    }
    # The embedded provider lacks short_bio and status: one provider read completes it.
    assert visit["provider"]["shortBio"] == "Family medicine"
    # A provider status code no answer documents: UNKNOWN, the raw code beside it.
    assert (visit["provider"]["status"], visit["provider"]["statusCode"]) == ("UNKNOWN", "1")
    assert upstream.calls == {"GET /visits/{id}": 1, "GET /rooms/{code}/providers/{id}": 1}


def test_the_join_link_fields_need_only_the_detail(doc: tuple[Documented, Gateway]) -> None:
    upstream, gateway = doc
    query = """query($id: ID!) { visit(id: $id) { id code oneTimeLinkToken isInCharge
        meeting { meetingId } hostIds moreProviderIds guestEmails notifyList pendingActions
        reminderType reminderTime rootVisit { id } relatedWalkin { id databaseId status start }
        } }"""
    visit = ok(run(gateway, query, {"id": VISIT_GID}))["visit"]
    assert visit["oneTimeLinkToken"] == "l0vht6wkxj"
    assert visit["isInCharge"] is False
    assert visit["hostIds"] == [gid("Provider", "12456470")]
    assert visit["relatedWalkin"]["id"] == gid("Visit", "18407370")
    assert visit["relatedWalkin"]["databaseId"] == "18407370"
    assert visit["relatedWalkin"]["status"] == "IN_PROGRESS"
    assert visit["rootVisit"]["id"] == VISIT_GID
    assert upstream.calls == {"GET /visits/{id}": 1}


def test_mobile_home(doc: tuple[Documented, Gateway]) -> None:
    upstream, gateway = doc
    data = ok(run(gateway, operation("MobileHome"), WEEK))
    assert data["viewer"] == {"accountCode": "vclinic", "hasApiKey": False}  # no VSee call
    assert data["currentVisit"]["meeting"] == {
        "meetingId": "1633627695040_2cc263f4-3d07-49fa-97b1-b2955ff40dfa__jitsi"
    }
    assert data["currentVisit"]["provider"] == {
        "id": gid("Provider", "12456470"),
        "fullName": "Anton Provider",
        "title": None,
        "suffix": None,
        "photo": None,
    }
    [row] = data["upcoming"]["nodes"]
    assert row["provider"]["fullName"] == "Anton Provider III"
    assert row["intake"] == {"id": INTAKE_GID, "reasonForVisit": None, "location": "MI"}
    # Both documented slots, their provider ids resolved from the room's provider list.
    assert (
        data["availability"]
        == [
            {
                "start": "2016-08-03T01:00:00Z",
                "end": "2016-08-03T01:15:00Z",
                "providers": [
                    {"id": gid("Provider", "123"), "fullName": "Slot 123"},
                    {"id": gid("Provider", "345"), "fullName": "Slot 345"},
                ],
            }
        ]
        * 2
    )
    assert upstream.calls == {
        "GET /visits/current": 1,
        "GET /visits": 1,
        "GET /visits/{id}": 1,
        "GET /availability": 1,
        "GET /rooms": 1,
        "GET /rooms/{code}/providers": 1,
    }


OLD_INTAKE = "57a0705e-1c4c-4f24-b51d-3c71ac1f0144"  # the id the docs' writes name
OLD_INTAKE_GID = gid("Intake", OLD_INTAKE)
NEW_INTAKE = "56e8c536-566c-44b6-bbca-66f0ac1f0144"  # the id the docs' intake answers carry


def mutate(gateway: Gateway, field: str, args: str, selection: str) -> dict[str, Any]:
    body = run(gateway, f"mutation {{ {field}({args}) {{ userErrors {{ code }} {selection} }} }}")
    payload: dict[str, Any] = ok(body)[field]
    assert payload["userErrors"] == []
    return payload


def test_create_intake_answer_alone_serves_its_keys(doc: tuple[Documented, Gateway]) -> None:
    upstream, gateway = doc
    payload = mutate(
        gateway,
        "createIntake",
        'input: {reasonForVisit: "Test", type: APPOINTMENT, '
        f'providerId: "{gid("Provider", "541")}", '
        "customFields: {custom_days: 3, custom_ok: true}}",
        "intakeId intake { id databaseId customFields }",
    )
    assert payload == {
        "userErrors": [],
        "intakeId": gid("Intake", NEW_INTAKE),
        "intake": {
            "id": gid("Intake", NEW_INTAKE),
            "databaseId": NEW_INTAKE,
            "customFields": {
                "custom_is_allergic": "Yes",
                "custom_symptoms": "Rash, Red Eyes",
                "custom_symptoms_duration": "2 weeks",
            },
        },
    }
    # Custom fields keep their JSON types on the way out.
    [(_, sent)] = upstream.bodies
    assert json.loads(sent) == {
        "reason_for_visit": "Test",
        "type": 2,
        "provider_id": 541,
        "custom_days": 3,
        "custom_ok": True,
    }
    assert upstream.calls == {"POST /intakes": 1}


def test_create_intake_reads_back_what_the_answer_lacks(doc: tuple[Documented, Gateway]) -> None:
    upstream, gateway = doc
    payload = mutate(
        gateway,
        "createIntake",
        'input: {reasonForVisit: "Test"}',
        "intake { reasonForVisit type createdAt attachments { id databaseId size createdAt } }",
    )
    assert payload["intake"] == {
        "reasonForVisit": "the reason",
        "type": "WALK_IN",
        "createdAt": "2016-08-17T20:18:00Z",
        "attachments": [
            {
                "id": gid("Attachment", "57b4c65d-7ef8-461f-8951-43b1ac1f0144"),
                "databaseId": "57b4c65d-7ef8-461f-8951-43b1ac1f0144",
                "size": 12859,
                "createdAt": "2016-08-17T20:17:33.967000Z",
            }
        ],
    }
    assert upstream.calls == {"POST /intakes": 1, "GET /intakes/{id}": 1}


def test_update_intake_answer_with_only_an_id(doc: tuple[Documented, Gateway]) -> None:
    upstream, gateway = doc
    payload = mutate(
        gateway,
        "updateIntake",
        f'input: {{id: "{OLD_INTAKE_GID}", location: "CA", phone: "7123456789"}}',
        "intakeId intake { id databaseId }",
    )
    assert payload == {
        "userErrors": [],
        "intakeId": OLD_INTAKE_GID,
        "intake": {"id": OLD_INTAKE_GID, "databaseId": OLD_INTAKE},
    }
    assert upstream.calls == {"POST /intakes/{id}": 1}


ECONSULT_INTAKE = "6050d1a8-b120-45b4-a568-61a664457b11"
WALKIN = """visitId visit { id databaseId status statusCode type start end createdAt
    payment { amount { amount currency } durationMinutes description }
    intake { id reasonForVisit providerId visitId createdAt customFields }
    provider { id firstName lastName vseeId title }
    member { id dob gender phone vseeId } }"""
WALKIN_INPUT = (
    f'input: {{providerId: "{gid("Provider", "826")}", intakeId: "{OLD_INTAKE_GID}", '
    'roomCode: "ceproom1"}'
)


def test_create_walkin_answer_is_converted_without_a_read_back(
    doc: tuple[Documented, Gateway],
) -> None:
    upstream, gateway = doc
    payload = mutate(
        gateway,
        "createWalkin",
        WALKIN_INPUT,
        WALKIN,
    )
    assert payload["visitId"] == gid("Visit", "1525")
    assert payload["visit"] == {
        "id": gid("Visit", "1525"),
        "databaseId": "1525",
        "status": "WAITING",
        "statusCode": 10,
        "type": "WALK_IN",
        "start": "2016-03-16T02:31:28Z",
        "end": "2016-03-16T02:46:28Z",
        "createdAt": "2016-03-16T02:31:28Z",
        "payment": {
            "amount": {"amount": "0.00", "currency": None},
            "durationMinutes": 15,
            "description": "FruitStreet Config Level One-time charge",
        },
        "intake": {
            "id": gid("Intake", NEW_INTAKE),
            "reasonForVisit": "Test intake functionalities 1",
            "providerId": gid("Provider", "509"),
            "visitId": gid("Visit", "1525"),
            "createdAt": "2016-03-16T02:30:14Z",
            "customFields": {},  # `provider` is the walk-in answer's name for provider_id
        },
        "provider": {
            "id": gid("Provider", "509"),
            "firstName": "Ligeng",
            "lastName": "Doctor",
            "vseeId": "wellikodev+user509",
            "title": None,
        },
        "member": {
            "id": gid("Member", "508"),
            "dob": "2014-09-10",
            "gender": "MALE",
            "phone": "6506506500",
            "vseeId": "wellikodev+user508",
        },
    }
    assert upstream.calls == {"POST /visits/add_walkin": 1}
    upstream.calls.clear()
    # The answer has no room_code (and room_id null): the visit is read back for it.
    payload = mutate(
        gateway,
        "createWalkin",
        WALKIN_INPUT,
        "visit { roomCode }",
    )
    assert payload["visit"] == {"roomCode": "vclinicroom"}
    assert upstream.calls == {"POST /visits/add_walkin": 1, "GET /visits/{id}": 1}


def test_create_econsult_answer_is_converted_without_a_read_back(
    doc: tuple[Documented, Gateway],
) -> None:
    upstream, gateway = doc
    payload = mutate(
        gateway,
        "createEconsult",
        f'input: {{intakeId: "{gid("Intake", ECONSULT_INTAKE)}", roomCode: "vclinic_room_code"}}',
        """visitId visit { id databaseId memberId providerId state type status subtype expiry
           roomCode isInCharge isEditExpired invoiceId intakeId pendingActions
           invoice { databaseId status statusCode amountDue { amount currency } isLive }
           room { id databaseId code name } member { id fullName isActive }
           creator { id databaseId userType userTypeCode accountCode }
           intake { id reasonForVisit location customFields } }""",
    )
    assert payload["visit"] == {
        "id": gid("Visit", "14814100"),
        "databaseId": "14814100",
        "memberId": gid("Member", "14396847"),
        "providerId": None,  # 0: no provider yet
        "state": None,  # "--"
        "type": "E_CONSULT",
        "status": "SCHEDULED",
        "subtype": "4",
        "expiry": "2021-03-16T20:01:45Z",
        "roomCode": "vclinic_room_code",
        "isInCharge": False,
        "isEditExpired": False,
        "invoiceId": "6050d2e5-f680-4695-b284-2c8664457b11",
        "intakeId": gid("Intake", ECONSULT_INTAKE),
        "pendingActions": [],
        "invoice": {
            "databaseId": "6050d2e5-f680-4695-b284-2c8664457b11",
            "status": "CODE_10",
            "statusCode": 10,
            "amountDue": {"amount": "0.00", "currency": "USD"},
            "isLive": False,
        },
        "room": {
            "id": gid("Room", "vclinic_room_code"),
            "databaseId": "10019500",
            "code": "vclinic_room_code",
            "name": "VClinic UAT Room",
        },
        "member": {
            "id": gid("Member", "14396847"),
            "fullName": "Ligeng Member 01",
            "isActive": True,
        },
        "creator": {
            "id": gid("UserRef", "14396847"),
            "databaseId": "14396847",
            "userType": "MEMBER",
            "userTypeCode": 200,
            "accountCode": "vclinic",
        },
        "intake": {
            "id": gid("Intake", ECONSULT_INTAKE),
            "reasonForVisit": "This is to test the API",
            "location": None,  # "--"
            "customFields": {"question_1": "Answer 1", "question_2": "Answer 2"},
        },
    }
    assert payload["visitId"] == gid("Visit", "14814100")
    assert upstream.calls == {"POST /visits/add_econsult": 1}


def test_create_appointment_answer_is_the_whole_visit(doc: tuple[Documented, Gateway]) -> None:
    upstream, gateway = doc
    payload = mutate(
        gateway,
        "createAppointment",
        f'input: {{memberId: "{gid("Member", "575")}", start: "2030-08-08T15:15:00Z", '
        f'end: "2030-08-08T15:30:00Z", intakeId: "{OLD_INTAKE_GID}"}}',
        """visitId visit { id start actualStart oneTimeLinkToken relatedWalkinId
           meeting { meetingId conferencePin } intake { consultation { durationMinutes } }
           payment { amount { amount } } provider { fullName } room { slug } }""",
    )
    assert payload["visitId"] == VISIT_GID
    visit = payload["visit"]
    assert visit["id"] == VISIT_GID
    assert visit["start"] == "2021-09-14T14:10:16Z"
    assert visit["oneTimeLinkToken"] == "l0vht6wkxj"
    assert visit["meeting"]["conferencePin"] == "838759"
    assert visit["intake"]["consultation"]["durationMinutes"] == 60
    assert visit["payment"]["amount"]["amount"] == "25.00"
    assert visit["room"]["slug"] == "UAT"
    assert upstream.calls == {"POST /appointments": 1}


def test_update_appointment_answer_without_an_id(doc: tuple[Documented, Gateway]) -> None:
    upstream, gateway = doc
    payload = mutate(
        gateway,
        "updateAppointment",
        f'input: {{id: "{gid("Visit", "666")}", assignProviderId: "{gid("Provider", "566")}"}}',
        "visitId visit { id databaseId providerId memberId code start end }",
    )
    assert payload["visitId"] == gid("Visit", "666")
    assert payload["visit"] == {
        "id": gid("Visit", "666"),
        "databaseId": "666",
        "providerId": gid("Provider", "566"),
        "memberId": gid("Member", "567"),
        "code": "615f2e2eabc46ad94e9b6457b11",
        "start": "2021-09-14T14:10:16Z",
        "end": "2021-09-14T14:15:16Z",
    }
    assert upstream.calls == {"POST /visits/{id}": 1}


def test_close_visit(doc: tuple[Documented, Gateway]) -> None:
    upstream, gateway = doc
    payload = mutate(gateway, "closeVisit", f'input: {{id: "{gid("Visit", "14")}"}}', "visitId")
    assert payload["visitId"] == gid("Visit", "14")
    assert upstream.calls == {"POST /visits/close": 1}


def test_an_embedded_person_is_never_a_mix_of_two(doc: tuple[Documented, Gateway]) -> None:
    upstream, gateway = doc
    upstream.reassigned = True
    query = """{ visits(first: 20) { nodes { intake { id }
        provider { databaseId firstName lastName fullName email }
        member { databaseId firstName lastName dob email } } } }"""
    [node] = ok(run(gateway, query))["visits"]["nodes"]
    # Each person is wholly one person: the detail's (the visit as it is now), taken whole.
    # Its provider has no first or last name in the detail, so the names come from that
    # provider's own record (one read of 12456470), never from the list's provider 1096.
    assert node["provider"] == {
        "databaseId": "12456470",
        "firstName": "Anton",
        "lastName": "Provider",
        "fullName": "Anton Provider",
        "email": "anton+providersa@vseelab.com",
    }
    # The detail's member has no name parts and no dob: none borrowed from the list's 575.
    assert node["member"] == {
        "databaseId": "17778181",
        "firstName": None,
        "lastName": None,
        "dob": None,
        "email": "anton+vclinic2@vseelab.com",
    }
    assert upstream.calls == {
        "GET /visits": 1,
        "GET /visits/{id}": 1,
        "GET /rooms/{code}/providers/{id}": 1,
    }
    assert upstream.paths[-1].endswith("/providers/12456470")


def test_update_intake_names_the_callers_intake_whatever_the_answer_says(
    doc: tuple[Documented, Gateway],
) -> None:
    upstream, gateway = doc
    upstream.literal = True  # the example answers 56e8c536-… to a POST to 57a0705e-…
    payload = mutate(
        gateway,
        "updateIntake",
        f'input: {{id: "{OLD_INTAKE_GID}", location: "CA"}}',
        "intakeId intake { id databaseId reasonForVisit }",
    )
    assert payload["intakeId"] == OLD_INTAKE_GID
    assert payload["intake"] == {
        "id": OLD_INTAKE_GID,
        "databaseId": OLD_INTAKE,
        "reasonForVisit": "the reason",
    }
    assert upstream.paths == [f"/intakes/{OLD_INTAKE}", f"/intakes/{OLD_INTAKE}"]


def test_close_visit_names_the_callers_visit_whatever_the_answer_says(
    doc: tuple[Documented, Gateway],
) -> None:
    upstream, gateway = doc
    upstream.literal = True
    payload = mutate(
        gateway,
        "closeVisit",
        f'input: {{id: "{VISIT_GID}"}}',
        "visitId visit { id databaseId status }",
    )
    assert payload == {
        "userErrors": [],
        "visitId": VISIT_GID,
        "visit": {"id": VISIT_GID, "databaseId": DETAIL_VISIT, "status": "IN_PROGRESS"},
    }
    assert upstream.paths == ["/visits/close", f"/visits/{DETAIL_VISIT}"]


def test_a_prescription_keeps_its_zeros_and_its_raw_record(doc: tuple[Documented, Gateway]) -> None:
    upstream, gateway = doc
    query = """query($id: ID!) { visit(id: $id) { prescriptionsBeforeVisit {
        databaseId drugId ndc rxNormCode quantity quantityUnit refills daysSupply prescriberName raw
        } } }"""
    [rx] = ok(run(gateway, query, {"id": VISIT_GID}))["visit"]["prescriptionsBeforeVisit"]
    documented = example("visit_get")["data"]["prescriptionsBeforeVisit"][0]
    assert rx == {
        "databaseId": "97316",
        "drugId": "69117",
        "ndc": "00122206038",  # leading zeros kept: a code, not a number
        "rxNormCode": "260654",
        "quantity": 60.0,
        "quantityUnit": "Tablet",
        "refills": 0,
        "daysSupply": 0,
        "prescriberName": "Dr. John Will, M.D.",
        "raw": documented,
    }
    assert upstream.calls == {"GET /visits/{id}": 1}


def test_a_refused_booking_keeps_the_intake_created_beside_it(
    doc: tuple[Documented, Gateway],
) -> None:
    upstream, gateway = doc
    upstream.refuse["POST /appointments"] = 403
    body = run(
        gateway,
        f"""mutation {{
          intake: createIntake(input: {{reasonForVisit: "Test"}}) {{ intakeId }}
          booking: createAppointment(input: {{memberId: "{gid("Member", "575")}",
            start: "2030-08-08T15:15:00Z", end: "2030-08-08T15:30:00Z",
            intakeId: "{OLD_INTAKE_GID}"}}) {{
            visitId userErrors {{ code }} }} }}""",
    )
    assert body["data"]["intake"] == {"intakeId": gid("Intake", NEW_INTAKE)}
    assert body["data"]["booking"] is None
    [error] = body["errors"]
    assert error["path"] == ["booking"]
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert "127.0.0.1" not in json.dumps(body)
    assert upstream.calls == {"POST /intakes": 1, "POST /appointments": 1}
