"""Bare VSee codes become enums that keep the raw code beside them."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from gateway.schema import conversion_observers
from gateway.schema.billing import Invoice
from gateway.schema.clinical import Prescription
from gateway.schema.enums import (
    IntakeType,
    InvoiceStatus,
    PrescriptionStatus,
    ProviderStatus,
    UserType,
    VisitStatus,
    from_code,
)
from gateway.schema.intakes import Intake
from gateway.schema.people import Provider, UserRef


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


def _counted(build: Callable[[], object]) -> list[str]:
    seen: list[str] = []
    conversion_observers.append(seen.append)
    try:
        build()
    finally:
        conversion_observers.remove(seen.append)
    return seen


def test_invoice_status_is_an_enum_beside_its_code() -> None:
    # POST /visits/add_econsult's invoice (the docs' only one) has status 10.
    invoice = Invoice.from_raw({"status": 10, "id": "6050d2e5"})
    assert (invoice.status, invoice.status_code) == (InvoiceStatus.CODE_10, 10)
    assert Invoice.from_raw({"status": "10"}).status is InvoiceStatus.CODE_10
    missing = Invoice.from_raw({"id": "x"})
    assert (missing.status, missing.status_code) == (None, None)


def test_provider_status_is_an_enum_beside_its_raw_text() -> None:
    provider = Provider.from_raw({"id": "7", "status": 20})
    assert (provider.status, provider.status_code) == (ProviderStatus.CODE_20, "20")
    assert Provider.from_raw({"id": "7", "status": "20"}).status is ProviderStatus.CODE_20
    silent = Provider.from_raw({"id": "7"})
    assert (silent.status, silent.status_code) == (None, None)


def test_prescription_status_is_an_enum_beside_its_raw_text() -> None:
    rx = Prescription.from_raw({"ID": "97316", "Status": "Current"})
    assert (rx.status, rx.status_code) == (PrescriptionStatus.CURRENT, "Current")
    assert Prescription.from_raw({"ID": "1", "Status": ""}).status is None


def test_unknown_codes_are_unknown_and_counted_never_an_error() -> None:
    cases: list[tuple[Callable[[], object], str]] = [
        (lambda: Invoice.from_raw({"status": 99}), "InvoiceStatus code"),
        (lambda: Provider.from_raw({"id": "7", "status": 1}), "ProviderStatus code"),
        (lambda: Prescription.from_raw({"Status": "Discontinued"}), "PrescriptionStatus code"),
        (lambda: UserRef.from_raw({"id": "9", "type": 400}), "UserType code"),
        (lambda: from_code(VisitStatus, "70"), "VisitStatus code"),
    ]
    for build, kind in cases:
        assert _counted(build) == [kind]
    assert Invoice.from_raw({"status": 99}).status is InvoiceStatus.UNKNOWN
    assert Invoice.from_raw({"status": 99}).status_code == 99
    unknown_provider = Provider.from_raw({"id": "7", "status": "busy"})
    assert (unknown_provider.status, unknown_provider.status_code) == (
        ProviderStatus.UNKNOWN,
        "busy",
    )
    rx = Prescription.from_raw({"Status": "Discontinued"})
    assert (rx.status, rx.status_code) == (PrescriptionStatus.UNKNOWN, "Discontinued")
    # Known codes and absent ones are not failures.
    assert _counted(lambda: Invoice.from_raw({"status": 10, "id": "x"})) == []
    assert _counted(lambda: Provider.from_raw({"id": "7"})) == []
    assert _counted(lambda: from_code(VisitStatus, None)) == []


# Adversarial review (issue 13): odd codes. A code is an integer however VSee writes it ("20",
# 20, 20.0); anything else is not a code, never the nearest one, and never a GraphQL error.
def test_the_same_code_in_any_spelling_is_one_member() -> None:
    for raw in (10, "10", 10.0, " 10 "):
        invoice = Invoice.from_raw({"status": raw})
        assert (invoice.status, invoice.status_code) == (InvoiceStatus.CODE_10, 10), raw
    for raw in (20, "20", 20.0):
        assert Provider.from_raw({"id": "7", "status": raw}).status is ProviderStatus.CODE_20


def test_a_number_that_is_not_an_integer_is_no_code() -> None:
    # "10.5" is not invoice status 10, nor "20.5" provider status 20, nor "1e1" code 10.
    for raw in ("10.5", 10.5, "1e1"):
        invoice = Invoice.from_raw({"status": raw})
        assert (invoice.status, invoice.status_code) == (InvoiceStatus.UNKNOWN, None), raw
        assert _counted(partial(Invoice.from_raw, {"status": raw})) == ["InvoiceStatus code"]
    provider = Provider.from_raw({"id": "7", "status": "20.5"})
    assert (provider.status, provider.status_code) == (ProviderStatus.UNKNOWN, "20.5")
    assert from_code(VisitStatus, "20.5") is VisitStatus.UNKNOWN


def test_vsee_placeholders_are_absent_not_unknown() -> None:
    for raw in ("", "--", "  "):
        invoice = Invoice.from_raw({"status": raw})
        assert (invoice.status, invoice.status_code) == (None, None), raw
        assert _counted(partial(Invoice.from_raw, {"status": raw})) == []


def test_booleans_and_objects_are_no_code_and_are_counted() -> None:
    for raw in (True, False, {"code": 10}, [10]):
        invoice = Invoice.from_raw({"status": raw})
        assert (invoice.status, invoice.status_code) == (InvoiceStatus.UNKNOWN, None), raw
        assert _counted(partial(Invoice.from_raw, {"status": raw})) == ["InvoiceStatus code"]


def test_a_code_beyond_graphql_int_is_unknown_not_an_error() -> None:
    # GraphQL's Int is 32-bit: a raw code of 3000000000 made `statusCode` a field error.
    invoice = Invoice.from_raw({"status": 3_000_000_000})
    assert (invoice.status, invoice.status_code) == (InvoiceStatus.UNKNOWN, None)
    ref = UserRef.from_raw({"id": "9", "type": "99999999999"})
    assert (ref.user_type, ref.user_type_code) == (UserType.UNKNOWN, None)
    # A long digit string is refused by its length, before int() (linear, no 4300-digit error).
    assert _counted(lambda: Invoice.from_raw({"status": "9" * 100_000})) == ["InvoiceStatus code"]
