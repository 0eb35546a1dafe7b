"""The benchmark's screens as Hive Gateway's schema (generated from peers/openapi.yaml) asks them.

Mesh's OpenAPI source turns every endpoint into a root field named by its operationId, keeps
VSee's field names and envelopes (``{ data { ... } }``), and leaves VSee's codes and epochs as
they come (no enums, no date-times, no name fallbacks: the client does those). Each document
selects the same VSee data the gateway's screen shows, with these differences:

- home: slots list provider ids; the providers' names come from one top-level
  ``roomProviders(code)`` the client joins (a generated schema cannot hang the room's provider
  list under each slot). Same upstream calls as the gateway's and Apollo's screens.
- VSee's list rows name neither their intake nor their room: every row's ``detail`` (added in
  peers/mesh.config.ts with ``@resolveTo``, one GET /visits/{id} per row, as the gateway and
  Apollo read it) gives the room code, the intake it embeds and the member's contact fields.
- detail: ``call_logs`` is VSee's object as JSON (its per-leg keys are numbered), intake
  attachments are left out (VSee sends ``""`` or a list), so is each prescription's ``raw``.
"""

from __future__ import annotations

import time
from datetime import datetime

import run

HOME = """query Home($start: Int!, $end: Int!, $room: String!, $from: Int!) {
  currentVisit { data { id code status start end
    provider { id first_name last_name full_name title photo } room { code name } } }
  visits(from: $from, page: 1, limit: 5) { total
    data { id code type status start end
      provider { id first_name last_name full_name title photo }
      detail { room_code intake { id reason_for_visit type } } } }
  availability(start: $start, end: $end, duration: 15, room_code: $room) {
    data { start end providers } }
  roomProviders(code: $room) { data { id first_name last_name full_name title } }
}"""

_SECTION = "{ data modified modifiedBy }"
DETAIL = f"""query VisitDetail($id: String!) {{
  visit(id: $id) {{ data {{
    id code type subtype status start end actual_start actual_end expiry created modified
    state account_code room_code member_id provider_id intake_id invoice_id visit_group_id
    related_walkin_id is_test isEditExpired
    intake {{ id type reason_for_visit location phone consent member_id provider_id room_code
      visit_id created modified
      consultation {{ id description duration amount currency charge group slots
        visible_to_patient }}
      medical_profile {{ _id user_id created {{ sec usec }} modified {{ sec usec }}
        conditions {_SECTION} family_conditions {_SECTION} social_history {_SECTION}
        health_habits {_SECTION} surgeries {_SECTION} medications {_SECTION}
        allergies {_SECTION} }} }}
    provider {{ id code username first_name last_name full_name title suffix email phone subtype
      vseeid photo status short_bio }}
    member {{ id code first_name last_name full_name username email phone dob gender vseeid photo
      active }}
    room {{ id code name slug domain }}
    payment {{ id amount duration description }}
    invoice {{ id status amount_due currency livemode created modified }}
    meeting {{ meeting_id conference_pin expiry hosts phone_numbers recording_auto_start }}
    call_logs
    postvisit {{ id member_id visit_id draft modifiedBy reason_for_visit physical_exam
      assessment_plan diagnosis patient_instructions disposition created modified
      attachments {{ _id name path size }} }}
    prescriptions {{ ID DrugID NDC RxNormCode Drug Directions Qty QtyQual Refills DaysSupply
      Status PrescriberName PrescriptionDate }}
    prescriptionsBeforeVisit {{ ID Drug Directions Status PrescriptionDate }}
    hosts {{ id username email phone full_name title suffix timezone vseeid role }}
    creator {{ id code vseeid type first_name last_name account_code }}
    account {{ code name domain }}
  }} }}
}}"""

DASHBOARD = """query Dashboard {
  visits(page: 1, limit: 100) { total page limit
    data { id code type status start end
      member { id first_name last_name full_name }
      provider { id first_name last_name full_name title }
      detail { room_code member { email phone dob gender }
        intake { id reason_for_visit type location phone } } } }
}"""

CREATE_INTAKE = """mutation CreateIntake($reason: String!) {
  createIntake(input: {reason_for_visit: $reason, type: 2, reset: true}) {
    data { id reason_for_visit type } }
}"""

SLOTS = """query Slots($start: Int!, $end: Int!) {
  availability(start: $start, end: $end, duration: 15) { data { start end providers } }
}"""

BOOK = """mutation Book($member: String!, $start: Int!, $end: Int!, $intake: String!,
    $provider: String) {
  createAppointment(input: {member_id: $member, slot_start: $start, slot_end: $end, type: 2,
      intakeId: $intake, provider_id: $provider}) {
    data { id status start end provider { id full_name } } }
}"""


def _epoch(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp())


class HomeScreen(run.HomeScreen):
    async def gateway(self, load: run.Load, vu: run.VU, out: list[run.Outcome]) -> None:
        v = vu.variables
        variables = {
            "start": _epoch(v["start"]),
            "end": _epoch(v["end"]),
            "room": v["room"],
            "from": int(time.time()),
        }
        elapsed, data = await run.graphql(load, vu, HOME, variables)
        if data["visits"] is None or data["availability"] is None:
            raise run.Failure("home came back without visits or slots")
        out.append(run.Outcome(elapsed))


class DetailScreen(run.DetailScreen):
    async def gateway(self, load: run.Load, vu: run.VU, out: list[run.Outcome]) -> None:
        elapsed, data = await run.graphql(load, vu, DETAIL, {"id": vu.visit_id})
        if not (data["visit"] or {}).get("data"):
            raise run.Failure("visit detail came back empty")
        out.append(run.Outcome(elapsed))


class DashboardScreen(run.DashboardScreen):
    async def gateway(self, load: run.Load, vu: run.VU, out: list[run.Outcome]) -> None:
        elapsed, data = await run.graphql(load, vu, DASHBOARD, {})
        rows = data["visits"]["data"]
        if len(rows) != 100 or any(not (row["detail"] or {}).get("intake") for row in rows):
            raise run.Failure("dashboard page did not hold 100 visits, each with its intake")
        out.append(run.Outcome(elapsed))


class BookingScreen(run.BookingScreen):
    async def gateway(self, load: run.Load, vu: run.VU, out: list[run.Outcome]) -> None:
        if not vu.gateway_pairs:
            raise run.Exhausted
        slot_start, slot_end, provider = vu.gateway_pairs.pop(0)
        elapsed, data = await run.graphql(load, vu, CREATE_INTAKE, {"reason": "benchmark"})
        intake = (data["createIntake"] or {}).get("data") or {}
        if not intake.get("id"):
            raise run.Failure("createIntake answered no intake id")
        out.append(run.Outcome(elapsed))
        day = slot_start - slot_start % run.DAY
        elapsed, data = await run.graphql(load, vu, SLOTS, {"start": day, "end": day + run.DAY})
        if not any(
            int(s["start"]) == slot_start and provider in s["providers"]
            for s in data["availability"]["data"]
        ):
            raise run.Failure("availability: the VU's own slot was not offered")
        out.append(run.Outcome(elapsed))
        elapsed, data = await run.graphql(
            load,
            vu,
            BOOK,
            {
                "member": vu.user_id,
                "start": slot_start,
                "end": slot_end,
                "intake": intake["id"],
                "provider": provider,
            },
        )
        if not (data["createAppointment"] or {}).get("data"):
            raise run.Failure("createAppointment answered no visit")
        out.append(run.Outcome(elapsed))


SCREENS: dict[str, run.Screen] = {
    "home": HomeScreen(),
    "detail": DetailScreen(),
    "dashboard": DashboardScreen(),
    "booking": BookingScreen(),
}
