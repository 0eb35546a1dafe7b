"""User errors name the caller's input fields, also when VSee names its REST parameter."""

from __future__ import annotations

from gateway.schema._mutation import UserError, UserErrorCode, _input_path


def test_vsees_parameter_names_map_back_to_the_input() -> None:
    fields = {"slot_start": "input.start", "intakeId": "input.intakeId"}
    assert _input_path("Invalid parameter: slot_start (must be later)", fields) == "input.start"
    assert _input_path("Invalid parameter: intakeId", fields) == "input.intakeId"
    # A parameter the mutation did not send, or no parameter at all, names no field.
    assert _input_path("Invalid parameter: other", fields) is None
    assert _input_path("Forbidden", fields) is None


def test_a_field_is_a_path_of_names() -> None:
    error = UserError.at("input.attachmentIds.1", "bad", UserErrorCode.INVALID)
    assert error.field == ["input", "attachmentIds", "1"]
    assert UserError.at(None, "bad", UserErrorCode.REJECTED).field is None
