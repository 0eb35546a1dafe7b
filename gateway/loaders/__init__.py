"""Data access for resolvers: per-request loaders, fetching strategies, the availability cache."""

from ._availability import AvailabilityQuery, AvailabilityService
from ._idempotency import IdempotencyStore
from ._loaders import Raw, RequestLoaders
from ._paths import InvalidId, safe_segment
from ._selection import (
    FREE,
    Info,
    Requirement,
    Requirements,
    Source,
    Spec,
    keys,
    lacks,
    needs,
    requirements,
    selected_names,
)
from ._specs import (
    ACCOUNT_SPEC,
    CALL_LOG_SPEC,
    INTAKE_SPEC,
    INVOICE_SPEC,
    MEETING_SPEC,
    MEMBER_SPEC,
    PAYMENT_SPEC,
    POSTVISIT_SPEC,
    PROVIDER_SPEC,
    ROOM_SPEC,
    ROOT_VISIT_SPEC,
    USER_REF_SPEC,
    VISIT_SPEC,
)
from ._strategies import PROVIDER_LIST_FIELDS, complete_rows, provider_raw, wants_provider_detail
from ._writes import RequestWrites

__all__ = [
    "ACCOUNT_SPEC",
    "CALL_LOG_SPEC",
    "FREE",
    "INTAKE_SPEC",
    "INVOICE_SPEC",
    "MEETING_SPEC",
    "MEMBER_SPEC",
    "PAYMENT_SPEC",
    "POSTVISIT_SPEC",
    "PROVIDER_LIST_FIELDS",
    "PROVIDER_SPEC",
    "ROOM_SPEC",
    "ROOT_VISIT_SPEC",
    "USER_REF_SPEC",
    "VISIT_SPEC",
    "AvailabilityQuery",
    "AvailabilityService",
    "IdempotencyStore",
    "Info",
    "InvalidId",
    "Raw",
    "RequestLoaders",
    "RequestWrites",
    "Requirement",
    "Requirements",
    "Source",
    "Spec",
    "complete_rows",
    "keys",
    "lacks",
    "needs",
    "provider_raw",
    "requirements",
    "safe_segment",
    "selected_names",
    "wants_provider_detail",
]
