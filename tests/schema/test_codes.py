"""Bare VSee codes become enums that keep the raw code beside them."""

from __future__ import annotations

from gateway.schema.enums import IntakeType, UserType
from gateway.schema.intakes import Intake
from gateway.schema.people import UserRef


def test_user_types_keep_their_code() -> None:
    creator = UserRef.from_raw({"id": "15729940", "type": 160})
    assert (creator.user_type, creator.user_type_code) == (UserType.APP, 160)
    member = UserRef.from_raw({"id": "575", "type": "200"})
    assert (member.user_type, member.user_type_code) == (UserType.MEMBER, 200)
    unknown = UserRef.from_raw({"id": "9", "type": 400})
    assert (unknown.user_type, unknown.user_type_code) == (UserType.UNKNOWN, 400)


def test_intake_types_use_the_visit_vocabulary() -> None:
    assert Intake.from_raw({"id": "abc-1", "type": "2"}).type is IntakeType.APPOINTMENT
    assert Intake.from_raw({"id": "abc-1", "type": 1}).type is IntakeType.WALK_IN
