"""Which VSee keys a selection needs, and when an answer lacks one."""

from __future__ import annotations

from strawberry.types.nodes import SelectedField

from gateway.loaders import FREE, VISIT_SPEC, Requirement, keys, lacks, requirements
from gateway.loaders._loaders import merge


def test_requirements_follow_the_selection_and_nested_specs() -> None:
    spec = {
        "a": keys("a", "alt"),
        "free": FREE,
        "box": keys("box", nested={"inner": keys("inner")}),
    }

    def field(name: str, *inner: SelectedField) -> SelectedField:
        return SelectedField(name=name, directives={}, arguments={}, selections=list(inner))

    found = requirements([field("a"), field("free"), field("box", field("inner"))], spec)
    assert set(found) == {
        Requirement(("a", "alt")),
        Requirement(("box",), (Requirement(("inner",)),)),
    }
    assert not lacks({"alt": 1, "box": {"inner": None}}, found)  # a present null is an answer
    assert not lacks({"a": 1, "box": None}, found)  # a null object has nothing more to tell
    assert lacks({"box": {"inner": 1}}, found)
    assert lacks({"a": 1, "box": {}}, found)


def test_a_documented_list_row_lacks_intake_and_room_but_not_its_own_fields() -> None:
    row = {"id": "1", "status": "20", "room_id": None, "provider": {"id": "2"}, "member_id": "3"}
    row_only = requirements([], VISIT_SPEC)
    assert not lacks(row, row_only)

    def field(name: str) -> SelectedField:
        return SelectedField(name=name, directives={}, arguments={}, selections=[])

    assert not lacks(row, requirements([field("status"), field("provider")], VISIT_SPEC))
    assert lacks(row, requirements([field("intake")], VISIT_SPEC))
    assert lacks(row, requirements([field("room")], VISIT_SPEC))


def test_merge_lays_the_detail_over_the_partial_one_level_deep() -> None:
    row = {"id": "1", "start": "10", "member": {"id": "3", "dob": "2000-01-01"}}
    detail = {"id": "1", "start": 10, "member": {"id": "3", "photo": None}, "room_code": "r"}
    assert merge(row, detail) == {
        "id": "1",
        "start": 10,
        "member": {"id": "3", "dob": "2000-01-01", "photo": None},
        "room_code": "r",
    }
