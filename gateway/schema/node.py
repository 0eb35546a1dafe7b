"""Global object identification: the ``Node`` interface and opaque ids (type + VSee id).

VSee's ids are unique per kind only (members, providers and hosts share one user-id space),
so a client cache keyed by id alone would merge a member with the provider of the same number.
A global id is ``base64("Type:vsee-id")``: distinct per type, opaque, and decoded back to VSee's
id (kept beside it as ``databaseId``) whenever a caller sends one.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

import strawberry

from gateway.loaders import safe_segment
from gateway.upstream import InvalidInput, UpstreamBadResponse

from ._convert import as_id

# Longer than any id this API gives out ("Provider:" + a 64-character VSee id, in base64).
MAX_GLOBAL_ID = 200

# The kinds of VSee id (as ``safe_segment`` names them) a global id of each type carries.
_KIND_OF_TYPE = {
    "Visit": "visit id",
    "Intake": "intake id",
    "Provider": "provider id",
    "Member": "member id",
    "Room": "room code",
}


# The kinds of id an input names by global id, and the type whose global id it must be.
NODE_ID_KINDS = {
    "visit id": "Visit",
    "intake id": "Intake",
    "provider id": "Provider",
    "member id": "Member",
}


@strawberry.interface(
    description="An object with a global id, unique across all types; `node(id:)` reads it again."
)
class Node:
    id: strawberry.ID = strawberry.field(
        description="Opaque global id (type and VSee id); use `databaseId` for VSee's own id."
    )


def global_id(type_name: str, key: object) -> strawberry.ID:
    """The global id of a ``type_name`` whose VSee id (or derived key) is ``key``."""
    return strawberry.ID(base64.urlsafe_b64encode(f"{type_name}:{key}".encode()).decode())


def parse_global_id(value: object, *, field: str) -> tuple[str, str]:
    """``(type name, VSee id)`` of a global id this API gave out, else ``InvalidInput``."""
    text = str(value).strip()
    if not text or len(text) > MAX_GLOBAL_ID:
        raise InvalidInput(f"`{field}` is not an id this API gave out", field=field)
    try:
        decoded = base64.urlsafe_b64decode(text.encode("ascii")).decode()
    except (binascii.Error, UnicodeError, ValueError):
        raise InvalidInput(f"`{field}` is not an id this API gave out", field=field) from None
    type_name, sep, key = decoded.partition(":")
    if not sep or not key or type_name not in _KIND_OF_TYPE:
        raise InvalidInput(f"`{field}` is not an id this API gave out", field=field)
    return type_name, key


def vsee_id(type_name: str, value: object, *, field: str) -> str:
    """VSee's id inside a global id of ``type_name``, checked as a path segment."""
    found, key = parse_global_id(value, field=field)
    if found != type_name:
        raise InvalidInput(f"`{field}` must be the id of a {type_name}, not a {found}", field=field)
    return safe_segment(_KIND_OF_TYPE[type_name], key, field=field)


def key_of(raw: Mapping[str, Any], what: str, *keys: str) -> str:
    """VSee's id of an object it sent; one without any is not an answer this API can key."""
    for key in keys or ("id",):
        found = as_id(raw.get(key))
        if found:
            return found
    raise UpstreamBadResponse(f"VSee answered a {what} without an id")
