"""Every sandbox behaviour VSee's docs do not show, listed in one place with why it was chosen.

The rest of the sandbox reproduces VSee's documented answers exactly (same keys, same JSON
types; sandbox/tests/test_contract.py compares them both ways with the docs' example bodies).
What is listed here is our best reading where the docs are silent; correct it here, and in
the gateway's schema descriptions that say "inferred", when VSee tells otherwise.
"""

from __future__ import annotations

# Keys the sandbox adds beside `data`, per route, for paging (VSee documents no paging for
# GET /visits; GET /rooms is documented as taking `page`/`limit` but without an answer shape).
PAGING_KEYS = frozenset({"total", "page", "limit"})
ENVELOPE_KEYS: dict[str, frozenset[str]] = {
    "GET /visits": PAGING_KEYS,
    "GET /rooms": PAGING_KEYS,
}

# Keys of GET /rooms rows and GET /rooms/:code beyond the ones known to be confirmed
# (slug, name, domain, code, created, modified): the room VSee embeds in a visit carries them.
ROOM_KEYS = frozenset({"id", "account_code"})
# Keys GET /rooms/:code/providers/:id adds to the room's provider list row ("provider detail").
PROVIDER_DETAIL_KEYS = frozenset(
    {"type", "email", "phone", "full_name", "gender", "timezone", "active", "tos"}
    | {"specialties", "rooms"}
)

INFERRED: dict[str, str] = {
    "paging": "GET /visits and GET /rooms take `page` (from 1) and `limit` (20 by default, "
    "at most 100) and answer `total`, `page` and `limit` beside `data`.",
    "visit filters": "GET /visits takes `type`, `status`, `member_id`, `provider_id`, "
    "`room_code`, `from`/`to` (on `start`; `from` inclusive, `to` exclusive).",
    "visit statuses": "40 is completed and 50 cancelled; the docs show only 10, 20 and 30, "
    "without saying what they mean: 10 a waiting walk-in, 20 scheduled (or an e-consult "
    "awaiting acceptance) and 30 in progress are read from the examples.",
    "error statuses": "Errors other than 400 (401 unauthenticated, 403 forbidden, 404 not "
    "found, 409 slot taken, 422 unusable input, 5xx) use the documented 400 body "
    '`{"code": <status>, "message": ...}`.',
    "GET /visits/current": "answers the GET /visits/:id shape of the visit in progress, or "
    "`data: null` when there is none.",
    "POST /visits/:id?version=2": "answers the booking answer's keys without `id`; the docs "
    "show its head and elide the rest.",
    "provider detail": "GET /rooms/:code/providers/:id adds type, email, phone, full_name, "
    "gender, timezone, active, tos, specialties and rooms to the room list's fields.",
    "provider type": "providers are user type 400.",
    "room keys": "GET /rooms rows and GET /rooms/:code also carry the room's `id` and "
    "`account_code`, as the room embedded in a visit does.",
    "availability filters": "GET /availability also takes `provider_id` and `room_code`; "
    "`duration` defaults to the consultation's (or the room's first) length when omitted.",
    "list provider": "a GET /visits row of a visit without a provider has `provider: null`.",
}
