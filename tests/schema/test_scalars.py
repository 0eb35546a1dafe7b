"""DateTime and Date keep their contracts: offsets required on input, UTC `Z` on output."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from gateway.schema import export_sdl
from gateway.schema.scalars import _parse_date, _parse_datetime, _serialize_datetime


def test_output_is_utc_with_z() -> None:
    moment = datetime(2026, 1, 31, 9, 30, tzinfo=timezone(timedelta(hours=2)))
    assert _serialize_datetime(moment) == "2026-01-31T07:30:00Z"
    assert _serialize_datetime(datetime(2026, 1, 31, 9, 30, 0, 5, tzinfo=UTC)) == (
        "2026-01-31T09:30:00.000005Z"
    )


@pytest.mark.parametrize(
    ("sent", "instant"),
    [
        ("2026-01-31T09:30:00Z", datetime(2026, 1, 31, 9, 30, tzinfo=UTC)),
        ("2026-01-31T11:30:00+02:00", datetime(2026, 1, 31, 9, 30, tzinfo=UTC)),
        ("2026-01-31t09:30:00.123456789z", datetime(2026, 1, 31, 9, 30, 0, 123456, tzinfo=UTC)),
    ],
)
def test_input_with_an_offset_is_read_as_that_instant(sent: str, instant: datetime) -> None:
    assert _parse_datetime(sent) == instant


@pytest.mark.parametrize(
    "sent", ["2026-01-31T09:30:00", "2026-01-31", "yesterday", 1769851800, "9" * 100]
)
def test_input_without_an_offset_is_refused(sent: object) -> None:
    with pytest.raises(ValueError, match="offset"):
        _parse_datetime(sent)


def test_dates_and_the_contract_in_the_sdl() -> None:
    assert _parse_date("2026-01-31").isoformat() == "2026-01-31"
    with pytest.raises(ValueError, match="full-date"):
        _parse_date("31/01/2026")
    sdl = export_sdl()
    assert 'scalar DateTime @specifiedBy(url: "https://www.rfc-editor.org/rfc/rfc3339' in sdl
    assert 'scalar Date @specifiedBy(url: "https://www.rfc-editor.org/rfc/rfc3339' in sdl


@pytest.mark.parametrize(
    ("literal", "says"),
    [
        ('"yesterday"', "RFC 3339"),
        ('"2026-13-40T00:00:00Z"', "month must be in 1..12"),
        ('"2026-02-30T00:00:00Z"', "day is out of range"),
    ],
)
async def test_a_literal_the_scalar_refuses_is_the_callers_mistake(
    literal: str, says: str, caplog: pytest.LogCaptureFixture
) -> None:
    # graphql-core keeps the scalar's ValueError as the error's cause; that once made these
    # INTERNAL_SERVER_ERROR ("unexpected error resolving", logged with a trace).
    from gateway.schema import build_schema

    document = f'{{ availability(start: {literal}, end: "2026-01-02T00:00:00Z") {{ start }} }}'
    result = await build_schema().execute(document)
    assert result.data is None
    assert [e.extensions for e in result.errors or []] == [{"code": "GRAPHQL_VALIDATION_FAILED"}]
    assert says in result.errors[0].message  # type: ignore[index]
    assert "unexpected error" not in caplog.text
