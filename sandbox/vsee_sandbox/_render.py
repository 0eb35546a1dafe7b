"""Records to VSee's JSON shapes, quirks included (ids as strings here and numbers there)."""

from __future__ import annotations

from typing import Any

from ._model import (
    DAY,
    ECONSULT_EXPIRY,
    EDITABLE_STATUSES,
    USER_STATUS_ACTIVE,
    Account,
    Consultation,
    FileRecord,
    Intake,
    Postvisit,
    Room,
    State,
    User,
    UserType,
    Visit,
)

Json = dict[str, Any]

MEETING_PHONE_NUMBERS = {"US": ["+1.650.758.0255"]}
_ACTIVE = {"active": True, "tos": True}
# Post-visit note fields, in VSee's order; all are present, empty until a provider writes.
_POSTVISIT_NOTES = (
    "physical_exam",
    "assessment_plan",
    "reason_for_visit",
    "reason_for_visit_other",
    "schema",
    "diagnosis",
    "patient_instructions",
    "disposition",
    "dea",
    "npi",
)


def _sec_usec(epoch: float) -> Json:
    sec = int(epoch)
    return {"sec": sec, "usec": round((epoch - sec) * 1000) * 1000}


def _str_or_none(value: int | None) -> str | None:
    return None if value is None else str(value)


# -- rooms and people --------------------------------------------------------------------------


def room_item(room: Room) -> Json:
    return {
        "id": str(room.id),
        "slug": room.slug,
        "name": room.name,
        "domain": room.domain,
        "code": room.code,
        "account_code": room.account_code,
        "created": room.created,
        "modified": room.modified,
    }


def consultation(c: Consultation) -> Json:
    return {
        "id": c.id,
        "description": c.description,
        "duration": c.duration,
        "amount": c.amount,
        "charge": c.charge,
        "group": c.group,
        "slots": c.slots,
    }


def room_detail(room: Room) -> Json:
    return {
        **room_item(room),
        "specialties": [
            {"code": s.code, "name": s.name, "duration": s.duration} for s in room.specialties
        ],
        "payment": {
            "currency": "USD",
            "consultations": [consultation(c) for c in room.consultations],
        },
        "operation_settings": {
            "is_closed": room.is_closed,
            "close_msg": room.close_msg,
            "default_timezone": room.timezone,
        },
        "visits": {
            "walkin": {"enabled": room.walkin_enabled},
            "appointment": {"enabled": room.appointment_enabled},
        },
    }


def room_provider(provider: User) -> Json:
    return {
        "id": str(provider.id),
        "username": provider.username,
        "code": provider.code,
        "subtype": provider.subtype,
        "first_name": provider.first_name,
        "last_name": provider.last_name,
        "vseeid": provider.vseeid,
        "photo": provider.photo,
        "title": provider.title,
        "suffix": provider.suffix,
        "status": USER_STATUS_ACTIVE,
        "short_bio": provider.short_bio,
    }


def room_provider_detail(state: State, provider: User) -> Json:
    specialties = {s.code: s.name for room in state.rooms.values() for s in room.specialties}
    return {
        **room_provider(provider),
        "type": str(provider.type),
        "email": provider.email,
        "phone": provider.phone,
        "full_name": provider.full_name,
        "gender": provider.gender,
        "timezone": provider.timezone,
        "active": True,
        "tos": True,
        "specialties": [
            {"code": code, "name": specialties.get(code, code)} for code in provider.specialty_codes
        ],
        "rooms": [{"code": code, "name": state.rooms[code].name} for code in provider.room_codes],
    }


def sso_user(user: User, *, now: int, with_vsee: bool) -> Json:
    body: Json = {
        "id": str(user.id),
        "code": user.code,
        "type": str(user.type),
        "first_name": user.first_name,
        "last_name": user.last_name,
        "full_name": user.full_name,
        "username": user.username,
        "email": user.email,
        "vseeid": user.vseeid,
        "dob": user.dob,
        "account_code": user.account_code,
        "active": True,
        "tos": False,
        "subtype": user.subtype,
        "token": {
            "user_id": str(user.id),
            "token": user.token,
            "expiry": now + DAY,
            "refresh_token": {
                "user_id": str(user.id),
                "token": user.token[::-1],
                "expiry": now + 30 * DAY,
                "created": now,
            },
        },
    }
    if with_vsee:
        # Credentials for VSee's browser-call SDK; the sandbox derives a stable fake one.
        body["vsee"] = {"id": user.vseeid, "token": user.token[16:] + user.token[:16]}
    return body


def _person(u: User) -> Json:
    """What every embedded user carries; each embedding adds its own fields."""
    return {
        "id": str(u.id),
        "code": u.code,
        "first_name": u.first_name,
        "last_name": u.last_name,
        "username": u.username,
        "email": u.email,
        "vseeid": u.vseeid,
        "phone": u.phone,
        "subtype": u.subtype,
    }


def _list_provider(p: User) -> Json:
    return {**_person(p), "photo": p.photo, "title": p.title, "suffix": p.suffix} | _ACTIVE


def _list_member(m: User) -> Json:
    return {**_person(m), "dob": m.dob, "gender": m.gender} | _ACTIVE


def _detail_provider(p: User) -> Json:
    return {
        "id": str(p.id),
        "email": p.email,
        "subtype": p.subtype,
        "vseeid": p.vseeid,
        "photo": p.photo,
        "full_name": p.full_name,
        "title": p.title,
        "suffix": p.suffix,
    }


def _detail_member(m: User) -> Json:
    return {
        "id": str(m.id),
        "code": m.code,
        "email": m.email,
        "vseeid": m.vseeid,
        "photo": None,
        "full_name": m.full_name,
        "phone": m.phone,
    }


def _host(p: User) -> Json:
    return {
        "username": p.username,
        "email": p.email,
        "phone": p.phone,
        "timezone": p.timezone,
        "vseeid": p.vseeid,
        "full_name": p.full_name,
        "title": p.title,
        "suffix": p.suffix,
        "id": str(p.id),
        "photo_attachment_id": "",
        "role": "owner",
    }


def _creator(u: User) -> Json:
    named = u.type != UserType.ADMIN  # VSee's API user has no name
    return {
        "id": str(u.id),
        "code": u.code,
        "vseeid": u.vseeid,
        "type": int(u.type),
        "subtype": u.subtype,
        "first_name": u.first_name if named else None,
        "last_name": u.last_name if named else None,
        "account_code": u.account_code,
    }


# -- files, intakes, post-visits ----------------------------------------------------------------


def file_body(f: FileRecord) -> Json:
    return {
        "_id": f.id,
        "name": f.name,
        "path": f.path,
        "size": f.size,
        "ext": f.ext,
        "type": 0,
        "creator_id": str(f.creator_id),
        "remark": None,
        "using": 1,
        "modified": _sec_usec(f.modified),
        "created": _sec_usec(f.created),
    }


def intake(i: Intake, *, with_profile: bool = False) -> Json:
    """An intake as VSee keeps it: the keys its author sent (custom ones verbatim), the times,
    its visit once it has one, and its id. The member's medical profile is embedded only in a
    visit's detail (GET /visits/:id), as VSee's examples show."""
    body: Json = {}
    if i.provider_id is not None:
        # VSee answers with the spelling the client used (the seed's curl sends `provider`).
        body["provider" if i.echo_provider else "provider_id"] = str(i.provider_id)
    if i.member_given and i.member_id is not None:
        body["member_id"] = str(i.member_id)
    for key, value in (
        ("room_code", i.room_code),
        ("location", i.location),
        ("phone", i.phone),
        ("type", i.type),
    ):
        if value is not None:
            body[key] = value
    body.update(i.extra)
    body["modified"] = i.modified
    body["created"] = i.created
    if i.visit_id is not None:
        body["visit_id"] = str(i.visit_id)
    if i.invoice_id is not None:
        body["invoice_id"] = i.invoice_id
    if i.attachments is not None:
        # VSee answers "" rather than [] for an intake without attachments.
        body["attachments"] = [file_body(f) for f in i.attachments] if i.attachments else ""
    if i.reason_for_visit is not None:
        body["reason_for_visit"] = i.reason_for_visit
    if i.consultation is not None:
        body["consultation"] = i.consultation
    if with_profile and i.medical_profile is not None:
        body["medical_profile"] = i.medical_profile
    body["id"] = i.id
    return body


def intake_created(i: Intake) -> Json:
    """POST /intakes answers the new id and the custom fields only."""
    return {"id": i.id, **i.extra}


def _postvisit_notes(p: Postvisit) -> Json:
    return {
        "modifiedBy": p.modified_by,
        "draft": p.draft,
        "attachments": [file_body(f) for f in p.attachments],
        **{name: p.notes.get(name, "") for name in _POSTVISIT_NOTES},
    }


def _postvisit_head(p: Postvisit, visit: Visit) -> Json:
    return {
        "member_id": str(visit.member_id),
        "class_id": None,
        "visit_id": str(visit.id),
        "modified": p.modified,
        "created": p.created,
    }


# -- visits --------------------------------------------------------------------------------------
# One renderer per documented answer: VSee's answers differ in their keys and in the JSON types
# of the same value (ids and times as strings in lists and walk-ins, numbers elsewhere), and
# the sandbox reproduces each exactly (sandbox/tests/test_contract.py compares both ways).


def _payment(v: Visit, *, with_id: bool) -> Json:
    body: Json = {
        "duration": v.payment.duration,
        "amount": v.payment.amount,
        "description": v.payment.description,
    }
    if with_id:
        body["id"] = v.payment.id
    return body


def _string_times(v: Visit) -> Json:
    """The head of a GET /visits row and of the walk-in answer: ids and times as strings."""
    return {
        "id": str(v.id),
        "member_id": str(v.member_id),
        "provider_id": str(v.provider_id),
        "account_code": v.account_code,
        "code": v.code,
        "start": str(v.start),
        "end": str(v.end),
        "actual_start": _str_or_none(v.actual_start),
        "actual_end": _str_or_none(v.actual_end),
        "specialty_id": None,
        "state": v.state,
        "type": str(v.type),
    }


def visit_item(state: State, v: Visit) -> Json:
    """A GET /visits row: no intake id, no room code and a null room id (as VSee's example)."""
    provider = state.users.get(v.provider_id) if v.provider_id else None
    return {
        **_string_times(v),
        "subtype": str(v.subtype),
        "status": str(v.status),
        "completed_by": _str_or_none(v.completed_by),
        "created": v.created,
        "modified": v.modified,
        "room_id": None,
        "_id": str(v.id),
        "payment": _payment(v, with_id=False),
        "invoice_id": v.invoice.id,
        "provider": _list_provider(provider) if provider is not None else None,
        "member": _list_member(state.users[v.member_id]),
        "postvisit": {
            "visit_id": str(v.id),
            "modified": v.postvisit.modified,
            "created": v.postvisit.created,
            "member_id": str(v.member_id),
            **_postvisit_notes(v.postvisit),
        },
    }


def walkin(state: State, v: Visit) -> Json:
    """POST /visits/add_walkin: no room code, a null room id, no meeting, short people."""
    provider = state.users.get(v.provider_id) if v.provider_id else None
    member = state.users[v.member_id]
    return {
        **_string_times(v),
        "status": str(v.status),
        "completed_by": _str_or_none(v.completed_by),
        "created": v.created,
        "modified": v.modified,
        "room_id": None,
        "_id": str(v.id),
        "payment": _payment(v, with_id=False),
        "intake": intake(state.intakes[v.intake_id]),
        "provider": (
            {
                "id": str(provider.id),
                "first_name": provider.first_name,
                "last_name": provider.last_name,
                "vseeid": provider.vseeid,
                "title": provider.title,
            }
            if provider is not None
            else None
        ),
        "member": {
            "id": str(member.id),
            "first_name": member.first_name,
            "last_name": member.last_name,
            "vseeid": member.vseeid,
            "dob": member.dob,
            "gender": member.gender,
            "phone": member.phone,
        },
    }


def econsult(state: State, v: Visit, viewer: User | None) -> Json:
    """POST /visits/add_econsult: numbers for ids and times, invoice and expiry, no provider."""
    member = state.users[v.member_id]
    room = state.rooms[v.room_code]
    account = state.accounts[v.account_code]
    return {
        "incharge": viewer is not None and viewer.id == v.provider_id,
        "isEditExpired": v.status not in EDITABLE_STATUSES,
        "id": str(v.id),
        "member_id": v.member_id,
        "provider_id": v.provider_id,
        "account_code": v.account_code,
        "code": v.code,
        "start": v.start,
        "end": v.end,
        "actual_start": v.actual_start,
        "actual_end": v.actual_end,
        "specialty_id": None,
        "state": v.state,
        "type": v.type,
        "status": v.status,
        "completed_by": v.completed_by,
        "room_id": room.id,
        "room_code": room.code,
        "member": {
            "id": str(member.id),
            "code": member.code,
            "type": str(member.type),
            "subtype": member.subtype,
            "first_name": member.first_name,
            "last_name": member.last_name,
            "full_name": member.full_name,
            "active": True,
            "vseeid": member.vseeid,
        },
        "pending_actions": [],
        "invoice": {
            "user_id": v.invoice.user_id,
            "status": v.invoice.status,
            "currency": v.invoice.currency,
            "livemode": v.invoice.livemode,
            "amount_due": v.invoice.amount_due,
            "visit_id": str(v.id),
            "modified": v.invoice.modified,
            "created": v.invoice.created,
            "id": v.invoice.id,
        },
        "creator": _creator(state.users[v.creator_id]),
        "invoice_id": v.invoice.id,
        "intake_id": v.intake_id,
        "postvisit": _postvisit_head(v.postvisit, v),
        "account": {"domain": account.domain, "code": account.code, "name": account.name},
        "room": {"id": str(room.id), "code": room.code, "name": room.name},
        "intake": intake(state.intakes[v.intake_id]),
        "subtype": v.subtype,
        "expiry": v.expiry,
    }


def visit_detail(
    state: State, v: Visit, viewer: User | None, now: int, *, full: bool = True
) -> Json:
    """GET /visits/:id (``full``) or the booking answer of POST /appointments (not ``full``).

    Both have numbers for ids and times and the meeting; the detail adds the member's medical
    profile to the intake, the provider's notes to the post-visit, and the prescriptions.
    """
    provider = state.users.get(v.provider_id) if v.provider_id else None
    member = state.users[v.member_id]
    room = state.rooms[v.room_code]
    account = state.accounts[v.account_code]
    hosts = [provider] if provider is not None else []
    walk = v.related_walkin
    postvisit = {**_postvisit_head(v.postvisit, v), "id": v.postvisit.id}
    if full:
        postvisit.update(_postvisit_notes(v.postvisit))
    body: Json = {
        "member_id": v.member_id,
        "provider_id": v.provider_id,
        "account_code": v.account_code,
        "code": v.code,
        "start": v.start,
        "end": v.end,
        "actual_start": v.actual_start,
        "actual_end": v.actual_end,
        "specialty_id": None,
        "state": v.state,
        "type": v.type,
        "status": v.status,
        "completed_by": v.completed_by,
        "room_id": room.id,
        "room_code": room.code,
        "modified": v.modified,
        "created": v.created,
        "provider": _detail_provider(provider) if provider is not None else None,
        "member": _detail_member(member),
        "subType": v.subtype,
        "more_provider_ids": None,
        "guest_emails": None,
        "guest_mobiles": None,
        "reminder_type": None,
        "reminder_time": None,
        "host_ids": [str(p.id) for p in hosts],
        "hosts": [_host(p) for p in hosts],
        "creator": _creator(state.users[v.creator_id]),
        "pending_actions": [],
        "is_test": False,
        "meeting": {
            "recording_auto_start": False,
            "phone_numbers": MEETING_PHONE_NUMBERS,
            "hosts": [p.username for p in hosts],
            "expiry": v.end + ECONSULT_EXPIRY,
            "conference_pin": v.conference_pin,
            "meeting_id": v.meeting_id,
        },
        "one_time_link_token": v.one_time_link_token,
        "notify_list": [],
        "payment": _payment(v, with_id=True),
        "intake_id": v.intake_id,
        "related_walkin_id": str(walk.id) if walk is not None else None,
        "call_logs": _call_logs(v, provider, member, now),
        "incharge": viewer is not None and viewer.id == v.provider_id,
        "intake": intake(state.intakes[v.intake_id], with_profile=full),
        "related_walkin": (
            {"start": walk.start, "end": walk.end, "status": walk.status, "id": str(walk.id)}
            if walk is not None
            else None
        ),
        "postvisit": postvisit,
        "isEditExpired": v.status not in EDITABLE_STATUSES,
        "room": {
            "id": str(room.id),
            "code": room.code,
            "name": room.name,
            "domain": room.domain,
            "account_code": room.account_code,
            "slug": room.slug,
        },
        "account": _account(account),
    }
    if full:
        body["prescriptionsBeforeVisit"] = [
            p.data for p in member.prescriptions if p.issued < v.start
        ]
        body["prescriptions"] = [p.data for p in v.prescriptions]
    body["root_visit"] = {"id": str(v.id), "group_chat_id": None, "participants": None}
    body["id"] = str(v.id)
    body["subtype"] = v.subtype
    return body


def visit_updated(state: State, v: Visit, viewer: User | None, now: int) -> Json:
    """POST /visits/:id?version=2: the booking answer's keys without the visit's id (VSee's
    example shows its head and elides the rest; it has no `id`)."""
    body = visit_detail(state, v, viewer, now, full=False)
    del body["id"]
    return body


def _account(account: Account) -> Json:
    return {
        "code": account.code,
        "name": account.name,
        "domain": account.domain,
        "vsee_api": {
            "meeting": {
                "enabled": True,
                "guest_invite_enabled": True,
                "adhoc_group_call": {"disabled": True},
            }
        },
    }


def _call_logs(v: Visit, provider: User | None, member: User, now: int) -> Json | None:
    """Derived from the visit's actual times; a call still running is measured up to now."""
    if v.actual_start is None:
        return None
    end = v.actual_end if v.actual_end is not None else max(now, v.actual_start)
    duration = end - v.actual_start
    return {
        "total_start": v.actual_start,
        "total_end": end,
        "total_duration": duration,
        "waiting_time": v.wait_seconds,
        "provider_id_1": provider.vseeid if provider is not None else "",
        "call_start_1": v.actual_start,
        "call_duration_1": duration,
        "wait_time_1": v.wait_seconds,
        "patients": [member.vseeid],
        "source": "v2",
        "source_ids": [f"{v.actual_start * 1000}_{v.meeting_id}"],
    }
