"""People: members (patients), providers, the users VSee embeds, and the clinic's account."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Annotated, cast

import strawberry

from gateway.loaders import (
    Raw,
    provider_raw,
    wants_provider_detail,
)
from gateway.upstream import Credentials

from ._base import full_name
from ._convert import (
    as_bool,
    as_code,
    as_date,
    as_text,
    as_url,
    is_absent,
)
from .context import Info
from .enums import (
    Gender,
    ProviderStatus,
    UserType,
    from_code,
)
from .node import Node, global_id, key_of, vsee_id
from .scalars import URL


def photo_url(value: object) -> URL | None:
    return cast(URL | None, as_url(value, "photo URL"))


@strawberry.type(description="A clinic account (tenant) on VSee.")
class Account:
    code: str | None = strawberry.field(description="Account code, sent as X-AccountCode.")
    name: str | None = strawberry.field(description='The account\'s display name, e.g. "VClinic".')
    domain: str | None = strawberry.field(
        description="The account's web domain, e.g. vclinic.vseepreview.com; null when VSee sends "
        "none."
    )

    @classmethod
    def from_raw(cls, raw: Raw) -> Account:
        return cls(
            code=as_text(raw.get("code")),
            name=as_text(raw.get("name")),
            domain=as_text(raw.get("domain")),
        )


@strawberry.type(
    description="A patient. Not a `Node`: VSee has no member endpoint, so nothing could read a "
    "member again by id (`node(id:)` answers null for one). Its `id` is still a stable global "
    "id (`Member` + VSee's member id, distinct from a provider's with the same VSee id), so a "
    "normalized client cache keeps one entry per member whichever answer embedded it."
)
class Member:
    id: strawberry.ID = strawberry.field(description="Global id (`Member` + VSee's member id).")
    database_id: strawberry.ID = strawberry.field(description="VSee's own member (patient) id.")
    code: str | None = strawberry.field(description="The member's code (external id).")
    first_name: str | None = strawberry.field(description="Given name (`first_name`).")
    last_name: str | None = strawberry.field(description="Family name (`last_name`).")
    full_name: str | None = strawberry.field(
        description="VSee's full_name, or first and last name joined when it sends none."
    )
    username: str | None = strawberry.field(description="Login name (often the email).")
    email: str | None = strawberry.field(description="Email address.")
    phone: str | None = strawberry.field(
        description="Phone number as VSee stores it (no format enforced)."
    )
    dob: date | None = strawberry.field(description="Date of birth.")
    gender: Gender = strawberry.field(
        description="Inferred: VSee's `gender` code read as 1 male, 2 female; UNKNOWN for anything "
        "else."
    )
    vsee_id: str | None = strawberry.field(description="VSee messenger id.")
    photo: URL | None = strawberry.field(
        description="The member's photo, as the absolute URL VSee sends; null when none, or "
        "when VSee's value is not an absolute http(s) URL (counted as unconvertible)."
    )
    is_active: bool | None = strawberry.field(
        description="Whether the member's account is active (`active`)."
    )

    @classmethod
    def from_raw(cls, raw: Raw) -> Member:
        key = key_of(raw, "member")
        return cls(
            id=global_id("Member", key),
            database_id=strawberry.ID(key),
            code=as_text(raw.get("code")),
            first_name=as_text(raw.get("first_name")),
            last_name=as_text(raw.get("last_name")),
            full_name=full_name(raw),
            username=as_text(raw.get("username")),
            email=as_text(raw.get("email")),
            phone=as_text(raw.get("phone")),
            dob=as_date(raw.get("dob")),
            gender=from_code(Gender, raw.get("gender")),
            vsee_id=as_text(raw.get("vseeid")),
            photo=photo_url(raw.get("photo")),
            is_active=as_bool(raw.get("active")),
        )


@strawberry.type(description="A clinician who sees members in a room.")
class Provider(Node):
    id: strawberry.ID = strawberry.field(description="Global id (`Provider` + VSee's user id).")
    database_id: strawberry.ID = strawberry.field(description="VSee's own provider (user) id.")
    code: str | None = strawberry.field(description="The provider's code (external id).")
    username: str | None = strawberry.field(description="Login name (often the email).")
    first_name: str | None = strawberry.field(description="Given name (`first_name`).")
    last_name: str | None = strawberry.field(description="Family name (`last_name`).")
    full_name: str | None = strawberry.field(
        description="VSee's full_name, or first and last name joined when it sends none."
    )
    title: str | None = strawberry.field(description='Title shown before the name, e.g. "Dr."')
    suffix: str | None = strawberry.field(description='Suffix after the name, e.g. "MD".')
    email: str | None = strawberry.field(description="Email address.")
    phone: str | None = strawberry.field(
        description="Phone number as VSee stores it (no format enforced)."
    )
    subtype: str | None = strawberry.field(description="VSee provider subtype code.")
    vsee_id: str | None = strawberry.field(description="VSee messenger id (`vseeid`).")
    photo: URL | None = strawberry.field(
        description="The provider's photo, as the absolute URL VSee sends (on VSee's file "
        "host, with its own `auth_code`); null when none, or when VSee's value is not an "
        "absolute http(s) URL (counted as unconvertible)."
    )
    status: ProviderStatus | None = strawberry.field(
        description="The provider's `status` from the room's provider list (its meaning is "
        "inferred, see ProviderStatus); null when VSee sends none."
    )
    status_code: str | None = strawberry.field(
        description='VSee\'s raw provider `status`, as text (e.g. "20").'
    )
    short_bio: str | None = strawberry.field(
        description="Short biography shown to members (`short_bio`)."
    )

    @classmethod
    def from_raw(cls, raw: Raw) -> Provider:
        key, status = key_of(raw, "provider"), raw.get("status")
        # The raw text, but a code written as a number (20, 20.0) reads as VSee's "20".
        code = as_code(status)
        status_code = as_text(status) if code is None else str(code)
        return cls(
            id=global_id("Provider", key),
            database_id=strawberry.ID(key),
            code=as_text(raw.get("code")),
            username=as_text(raw.get("username")),
            first_name=as_text(raw.get("first_name")),
            last_name=as_text(raw.get("last_name")),
            full_name=full_name(raw),
            title=as_text(raw.get("title")),
            suffix=as_text(raw.get("suffix")),
            email=as_text(raw.get("email")),
            phone=as_text(raw.get("phone")),
            subtype=as_text(raw.get("subtype")),
            vsee_id=as_text(raw.get("vseeid")),
            photo=photo_url(raw.get("photo")),
            status=None if is_absent(status) else from_code(ProviderStatus, status),
            status_code=status_code,
            short_bio=as_text(raw.get("short_bio")),
        )


@strawberry.type(description="A user referenced by a visit (its creator), as VSee embeds it.")
class UserRef:
    id: strawberry.ID = strawberry.field(description="Global id (`UserRef` + VSee's user id).")
    database_id: strawberry.ID = strawberry.field(description="VSee's own user id.")
    code: str | None = strawberry.field(description="The user's code (external id).")
    vsee_id: str | None = strawberry.field(description="VSee messenger id (`vseeid`).")
    user_type: UserType = strawberry.field(description="What kind of user this is.")
    user_type_code: int | None = strawberry.field(
        description="VSee's raw user `type` code (200 member, 160 API/app creator, 600 guest)."
    )
    first_name: str | None = strawberry.field(
        description="Given name (`first_name`); VSee sends null for API/app users."
    )
    last_name: str | None = strawberry.field(
        description="Family name (`last_name`); VSee sends null for API/app users."
    )
    account_code: str | None = strawberry.field(
        description="Code of the account the user belongs to."
    )

    @classmethod
    def from_raw(cls, raw: Raw) -> UserRef:
        key = key_of(raw, "user")
        return cls(
            id=global_id("UserRef", key),
            database_id=strawberry.ID(key),
            code=as_text(raw.get("code")),
            vsee_id=as_text(raw.get("vseeid")),
            user_type=from_code(UserType, raw.get("type")),
            user_type_code=as_code(raw.get("type")),
            first_name=as_text(raw.get("first_name")),
            last_name=as_text(raw.get("last_name")),
            account_code=as_text(raw.get("account_code")),
        )


@strawberry.type(
    description="What the gateway knows about the caller's credentials without asking VSee, and "
    "nothing more. It does not say who the caller is: VSee's api_v3 documents no who-am-I "
    "call, and an identity guessed from visits would mislabel a provider's credentials as a "
    "member. A member app learns its member id from the SSO sign-in its partner's backend "
    "performs (VSee's POST /users/sso answers the member id beside the token, and needs an "
    "API secret mobile apps never hold), and gets it from that backend with the token; a "
    "who-am-I call is a question for VSee. Nothing here is checked with VSee (a made-up token "
    "reads the same), and nothing is derived from the token: not echoed, not hashed."
)
class Viewer:
    account_code: str | None = strawberry.field(
        description="The clinic account the credentials are scoped to (`X-AccountCode`), as "
        "presented; null when the request names none."
    )
    has_api_token: bool = strawberry.field(
        description="Whether the request presented a VSee API token (`X-ApiToken`, or "
        "`Authorization: Bearer`). Not verified: VSee checks it on the first field that calls it."
    )
    has_api_key: bool = strawberry.field(
        description="Whether the request presented a VSee application key (`X-ApiKey`), which "
        "some VSee endpoints (e.g. e-consults) want beside the token."
    )

    @classmethod
    def of(cls, credentials: Credentials | None, headers: Mapping[str, str] | None) -> Viewer:
        if credentials is not None:
            return cls(
                account_code=credentials.account_code,
                has_api_token=True,
                has_api_key=credentials.api_key is not None,
            )
        # Incomplete credentials (the gateway then calls VSee for nothing): say which part came.
        headers = headers or {}
        scheme, _, bearer = (headers.get("authorization") or "").partition(" ")
        return cls(
            account_code=(headers.get("x-accountcode") or "").strip() or None,
            has_api_token=bool(
                (headers.get("x-apitoken") or "").strip()
                or (scheme.lower() == "bearer" and bearer.strip())
            ),
            has_api_key=bool((headers.get("x-apikey") or "").strip()),
        )


@strawberry.type
class PeopleQueries:
    @strawberry.field(
        description="The caller's credentials as the gateway sees them: the account they are "
        "scoped to and which parts were presented, answered without any VSee call. Not who "
        "the caller is (see Viewer)."
    )
    def viewer(self, info: Info) -> Viewer:
        request = info.context.request
        return Viewer.of(info.context.credentials, getattr(request, "headers", None))

    @strawberry.field(
        description="A provider by global id. VSee reads providers only within a room, so one "
        "named by id alone is found in the account's rooms' provider lists, read a page of 100 "
        "rooms at a time up to the account's first 500 rooms (past them, an error with code "
        "SEARCH_LIMIT_REACHED, never a null for a provider not searched for); its detail is "
        "read when the selection needs more than a list holds."
    )
    async def provider(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The provider's global id.")],
    ) -> Provider | None:
        key = vsee_id("Provider", id, field="id")
        return await load_provider(info, key, None, detail=wants_provider_detail(info))


async def load_provider(
    info: Info, provider_id: str, room_code: str | None, *, detail: bool
) -> Provider | None:
    raw = await provider_raw(info.context.loaders, provider_id, room_code, detail=detail)
    return None if raw is None else Provider.from_raw(raw)
