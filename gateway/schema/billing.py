"""Billing: money, a visit's payment and invoice, and the consultations a room sells."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import strawberry

from gateway.loaders import (
    Raw,
)

from ._convert import (
    as_bool,
    as_code,
    as_datetime,
    as_decimal_str,
    as_id,
    as_int,
    as_text,
    is_absent,
)
from .enums import InvoiceStatus, from_code


@strawberry.enum(
    description="ISO 4217 currencies VSee clinics bill in (inferred list: VSee's docs show only "
    "USD); any other code is OTHER, with the code itself in `Money.currencyCode`."
)
class CurrencyCode(Enum):
    USD = strawberry.enum_value("USD", description="US dollar.")
    EUR = strawberry.enum_value("EUR", description="Euro.")
    GBP = strawberry.enum_value("GBP", description="Pound sterling.")
    CAD = strawberry.enum_value("CAD", description="Canadian dollar.")
    AUD = strawberry.enum_value("AUD", description="Australian dollar.")
    NZD = strawberry.enum_value("NZD", description="New Zealand dollar.")
    SGD = strawberry.enum_value("SGD", description="Singapore dollar.")
    INR = strawberry.enum_value("INR", description="Indian rupee.")
    JPY = strawberry.enum_value("JPY", description="Japanese yen.")
    MXN = strawberry.enum_value("MXN", description="Mexican peso.")
    OTHER = strawberry.enum_value("OTHER", description="A code not listed here.")


@strawberry.type(description="An amount of money as an exact decimal, with its currency.")
class Money:
    amount: Decimal = strawberry.field(description='The amount, e.g. "25.00".')
    currency: CurrencyCode | None = strawberry.field(
        description="The currency, when VSee gives one."
    )
    currency_code: str | None = strawberry.field(
        description="The currency code exactly as VSee sent it (upper-cased)."
    )

    @classmethod
    def of(cls, amount: Any, currency: Any = None) -> Money | None:
        text = as_decimal_str(amount)
        if text is None:
            return None
        code = as_text(currency)
        code = code.upper() if code else None
        known = CurrencyCode._value2member_map_.get(code) if code else None
        return cls(
            amount=Decimal(text),
            currency=None if code is None else known or CurrencyCode.OTHER,  # type: ignore[arg-type]
            currency_code=code,
        )


# Payment, Invoice and Consultation are values embedded in their visit or room, with no VSee
# endpoint of their own: they carry VSee's id as `databaseId`, never as `id`, so a normalized
# client cache (Apollo's keys `__typename:id`) keeps them inside their parent instead of making
# entities it could never refetch (and, for id-less ones, merging them all into one).
@strawberry.type(
    description="What a visit costs: a value embedded in its visit (no `id`: VSee has no "
    "endpoint to read a payment again)."
)
class Payment:
    database_id: strawberry.ID | None = strawberry.field(
        description="VSee's payment id (`id`); null when VSee sends none."
    )
    amount: Money | None = strawberry.field(description="The amount charged, as VSee lists it.")
    duration_minutes: int | None = strawberry.field(description="Minutes paid for.")
    description: str | None = strawberry.field(
        description="VSee's text for the charge, e.g. \"Cloud Clinic Default One-time Charge "
        'Message".'
    )

    @classmethod
    def from_raw(cls, raw: Raw, currency: Any = None) -> Payment:
        pid = as_id(raw.get("id"))
        return cls(
            database_id=strawberry.ID(pid) if pid else None,
            amount=Money.of(raw.get("amount"), raw.get("currency") or currency),
            duration_minutes=as_int(raw.get("duration")),
            description=as_text(raw.get("description")),
        )


@strawberry.type(
    description="The invoice raised for a visit: a value embedded in its visit (no `id`: VSee "
    "has no endpoint to read an invoice again)."
)
class Invoice:
    database_id: strawberry.ID | None = strawberry.field(
        description="VSee's invoice id (`id`, also the visit's `invoiceId`); null when VSee sends "
        "none."
    )
    status: InvoiceStatus | None = strawberry.field(
        description="Where the invoice stands; null when VSee sends no status, UNKNOWN for a "
        "code this gateway does not know."
    )
    status_code: int | None = strawberry.field(
        description='VSee\'s raw invoice `status` code, e.g. 10 (sent as 10 or "10"); null when '
        "VSee sends none, or a value that is no 32-bit integer (`status` is then UNKNOWN)."
    )
    amount_due: Money | None = strawberry.field(description="What is still to pay (`amount_due`).")
    is_live: bool | None = strawberry.field(description="False for test-mode invoices.")
    created_at: datetime | None = strawberry.field(
        description="When VSee created the invoice (`created`)."
    )
    updated_at: datetime | None = strawberry.field(
        description="When the invoice last changed (`modified`)."
    )

    @classmethod
    def from_raw(cls, raw: Raw) -> Invoice:
        iid, status = as_id(raw.get("id")), raw.get("status")
        return cls(
            database_id=strawberry.ID(iid) if iid else None,
            status=None if is_absent(status) else from_code(InvoiceStatus, status),
            status_code=as_code(status),
            amount_due=Money.of(raw.get("amount_due"), raw.get("currency")),
            is_live=as_bool(raw.get("livemode")),
            created_at=as_datetime(raw.get("created")),
            updated_at=as_datetime(raw.get("modified")),
        )


@strawberry.type(
    description="A paid or free consultation a room offers: a value embedded in its room or "
    "intake (no `id`: VSee reads consultations only inside their room)."
)
class Consultation:
    database_id: strawberry.ID | None = strawberry.field(
        description="VSee's consultation id, as listed in the room's `payment.consultations` "
        "and as `consultationId` takes it; null when VSee sends none."
    )
    description: str | None = strawberry.field(
        description="The consultation's name as the clinic set it."
    )
    duration_minutes: int | None = strawberry.field(description="Minutes.")
    price: Money | None = strawberry.field(
        description="What the consultation costs, as VSee lists it (`amount` and `currency`)."
    )
    charge: bool | None = strawberry.field(description="Whether the member is charged.")
    group: bool | None = strawberry.field(description="Whether it is a group consultation.")
    slots: int | None = strawberry.field(description="Slots one booking takes.")
    visible_to_patient: bool | None = strawberry.field(
        description="Whether members are offered it (`visible_to_patient`)."
    )

    @classmethod
    def from_raw(cls, raw: Raw, currency: Any = None) -> Consultation:
        cid = as_id(raw.get("id"))
        return cls(
            database_id=strawberry.ID(cid) if cid else None,
            description=as_text(raw.get("description")),
            duration_minutes=as_int(raw.get("duration")),
            price=Money.of(raw.get("amount"), raw.get("currency") or currency),
            charge=as_bool(raw.get("charge")),
            group=as_bool(raw.get("group")),
            slots=as_int(raw.get("slots")),
            visible_to_patient=as_bool(raw.get("visible_to_patient")),
        )
