"""The api_v3 endpoints and the lean ASGI pipeline that serves them (log, faults, auth, JSON)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from . import _render as render
from ._auth import Auth, authenticate
from ._config import API_PREFIX
from ._errors import ApiError, invalid, missing
from ._http import (
    ClientGone,
    decode_headers,
    media_type,
    parse_body,
    parse_query,
    read_body,
    send_json,
    send_misbehaviour,
)
from ._log import NOT_SERVED, FaultInjector, LogEntry, RequestLog
from ._model import CLOSE_REASONS, MAX_AVAILABILITY_RANGE, Caller, Visit, VisitType
from ._params import Params
from ._routing import Match, Route, Router
from ._store import Store, VisitFilter

Json = dict[str, Any]

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
_BODYLESS = frozenset({"GET", "HEAD"})


@dataclass(slots=True)
class Context:
    store: Store
    caller: Caller
    path: dict[str, str]
    query: Params
    body: Params


Handler = Callable[[Context], Json]


@dataclass(frozen=True, slots=True)
class Endpoint:
    handler: Handler
    auth: Auth


# -- helpers -------------------------------------------------------------------------------------


def _paging(query: Params) -> tuple[int, int]:
    """`page` is 1-based; `limit` defaults to 20 and may not exceed 100 (inferred paging)."""
    page = query.integer("page", minimum=1) or 1
    limit = query.integer("limit", minimum=1, maximum=MAX_LIMIT) or DEFAULT_LIMIT
    return page, limit


def _detail(ctx: Context, visit: Visit, *, full: bool = True) -> Json:
    return render.visit_detail(ctx.store.state, visit, ctx.caller.user, ctx.store.now(), full=full)


# -- users and rooms -----------------------------------------------------------------------------


def sso(ctx: Context) -> Json:
    user = ctx.store.sso(ctx.caller.account, ctx.body)
    fields = (ctx.query.text("fields") or "").split(",")
    return {"data": render.sso_user(user, now=ctx.store.now(), with_vsee="vsee" in fields)}


def list_rooms(ctx: Context) -> Json:
    page, limit = _paging(ctx.query)
    rooms = ctx.store.rooms(ctx.caller.account)
    offset = (page - 1) * limit
    return {
        "data": [render.room_item(room) for room in rooms[offset : offset + limit]],
        "total": len(rooms),
        "page": page,
        "limit": limit,
    }


def get_room(ctx: Context) -> Json:
    return {"data": render.room_detail(ctx.store.room(ctx.caller.account, ctx.path["code"]))}


def room_providers(ctx: Context) -> Json:
    room = ctx.store.room(ctx.caller.account, ctx.path["code"])
    return {"data": [render.room_provider(p) for p in ctx.store.room_providers(room)]}


def room_provider(ctx: Context) -> Json:
    room = ctx.store.room(ctx.caller.account, ctx.path["code"])
    provider = ctx.store.room_provider(room, ctx.path["id"])
    return {"data": render.room_provider_detail(ctx.store.state, provider)}


# -- visits --------------------------------------------------------------------------------------


def list_visits(ctx: Context) -> Json:
    query = ctx.query
    page, limit = _paging(query)
    flt = VisitFilter(
        types=query.integers("type"),
        statuses=query.integers("status"),
        member_id=query.integer("member_id", minimum=0),
        provider_id=query.integer("provider_id", minimum=0),
        room_code=query.text("room_code"),
        start_from=query.integer("from"),
        start_to=query.integer("to"),
    )
    total, visits = ctx.store.list_visits(ctx.caller, flt, page=page, limit=limit)
    state = ctx.store.state
    return {
        "data": [render.visit_item(state, visit) for visit in visits],
        "total": total,
        "page": page,
        "limit": limit,
    }


def current_visit(ctx: Context) -> Json:
    visit = ctx.store.current_visit(ctx.caller)
    return {"data": _detail(ctx, visit) if visit is not None else None}


def get_visit(ctx: Context) -> Json:
    return {"data": _detail(ctx, ctx.store.visit(ctx.caller, ctx.path["id"]))}


def update_visit(ctx: Context) -> Json:
    if ctx.query.text("version") != "2":
        raise invalid("version", "this endpoint needs ?version=2")
    body = ctx.body
    visit = ctx.store.visit(ctx.caller, ctx.path["id"])
    ctx.store.update_visit(
        ctx.caller,
        visit,
        start=body.integer("start", minimum=0),
        end=body.integer("end", minimum=0),
        provider_id=body.integer("provider_id", minimum=0),
    )
    return {"data": render.visit_updated(ctx.store.state, visit, ctx.caller.user, ctx.store.now())}


def close_visit(ctx: Context) -> Json:
    visit_ref = ctx.body.need_text("id")
    reason = ctx.body.text("reason")
    if reason is not None and reason not in CLOSE_REASONS:
        raise invalid("reason", "one of " + ", ".join(sorted(CLOSE_REASONS)))
    visit = ctx.store.visit(ctx.caller, visit_ref)
    ctx.store.close_visit(ctx.caller, visit, reason)
    return {"data": {"id": str(visit.id)}}


def add_walkin(ctx: Context) -> Json:
    body = ctx.body
    visit = ctx.store.add_walkin(
        ctx.caller,
        intake_id=body.need_text("intake_id"),
        provider_id=body.integer("provider_id", minimum=0),
        room_code=body.text("room_code"),
    )
    return {"data": render.walkin(ctx.store.state, visit)}


def add_econsult(ctx: Context) -> Json:
    body = ctx.body
    visit = ctx.store.add_econsult(
        ctx.caller,
        intake_id=body.need_text("intake_id"),
        room_code=body.text("room_code"),
    )
    return {"data": render.econsult(ctx.store.state, visit, ctx.caller.user)}


def availability(ctx: Context) -> Json:
    query = ctx.query
    start = query.need_integer("start", minimum=0)
    end = query.need_integer("end", minimum=0)
    if end <= start:
        raise invalid("end", "must be after start")
    if end - start > MAX_AVAILABILITY_RANGE:
        raise invalid("end", "the range may span at most 31 days")
    slots = ctx.store.availability(
        ctx.caller,
        start=start,
        end=end,
        duration=query.integer("duration", minimum=5, maximum=480),
        member_ref=query.text("member_id"),
        provider_id=query.integer("provider_id", minimum=1),
        room_code=query.text("room_code"),
        consultation_id=query.text("consultation_id"),
        intake_id=query.text("intake_id"),
    )
    return {
        "data": [
            {"start": s.start, "end": s.end, "providers": [str(p) for p in s.provider_ids]}
            for s in slots
        ]
    }


def book_appointment(ctx: Context) -> Json:
    body = ctx.body
    visit_type = body.integer("type")
    if visit_type not in (None, VisitType.APPOINTMENT):
        raise invalid("type", "appointments are type 2")
    intake_key = body.first("intakeId", "intake_id")
    if intake_key is None:
        raise missing("intakeId")
    visit = ctx.store.book_appointment(
        ctx.caller,
        member_ref=body.text("member_id"),
        slot_start=body.need_integer("slot_start", minimum=0),
        slot_end=body.need_integer("slot_end", minimum=0),
        intake_id=body.need_text(intake_key),
        provider_id=body.integer("provider_id", minimum=0),
        room_code=body.text("room_code"),
    )
    # VSee's example answer carries this stray top-level key; kept for fidelity.
    return {"data": _detail(ctx, visit, full=False), "s": "ms"}


# -- intakes -------------------------------------------------------------------------------------


def create_intake(ctx: Context) -> Json:
    return {"data": render.intake_created(ctx.store.create_intake(ctx.caller, ctx.body))}


def update_intake(ctx: Context) -> Json:
    intake = ctx.store.intake(ctx.caller, ctx.path["id"])
    ctx.store.update_intake(ctx.caller, intake, ctx.body)
    return {"data": {"id": intake.id}}


def get_intake(ctx: Context) -> Json:
    return {"data": render.intake(ctx.store.intake(ctx.caller, ctx.path["id"]))}


ROUTES: list[Route[Endpoint]] = [
    Route("POST", "/users/sso", Endpoint(sso, Auth.APP)),
    Route("GET", "/rooms", Endpoint(list_rooms, Auth.ACCOUNT)),
    Route("GET", "/rooms/{code}", Endpoint(get_room, Auth.ACCOUNT)),
    Route("GET", "/rooms/{code}/providers", Endpoint(room_providers, Auth.ACCOUNT)),
    Route("GET", "/rooms/{code}/providers/{id}", Endpoint(room_provider, Auth.ACCOUNT)),
    Route("GET", "/visits", Endpoint(list_visits, Auth.USER)),
    Route("GET", "/visits/current", Endpoint(current_visit, Auth.USER)),
    Route("GET", "/visits/{id}", Endpoint(get_visit, Auth.USER)),
    Route("POST", "/visits/{id}", Endpoint(update_visit, Auth.USER)),
    Route("POST", "/visits/close", Endpoint(close_visit, Auth.USER)),
    Route("POST", "/visits/add_walkin", Endpoint(add_walkin, Auth.USER)),
    Route("POST", "/visits/add_econsult", Endpoint(add_econsult, Auth.USER)),
    Route("GET", "/availability", Endpoint(availability, Auth.USER)),
    Route("POST", "/appointments", Endpoint(book_appointment, Auth.USER)),
    # VSee's docs head the booking section "POST /visits" while the example posts to
    # /appointments; both are served.
    Route("POST", "/visits", Endpoint(book_appointment, Auth.USER)),
    Route("POST", "/intakes", Endpoint(create_intake, Auth.USER)),
    Route("POST", "/intakes/{id}", Endpoint(update_intake, Auth.USER)),
    Route("GET", "/intakes/{id}", Endpoint(get_intake, Auth.USER)),
]


class ApiMiddleware:
    """Serves everything under the API prefix itself; other paths go to the wrapped app.

    Pure ASGI on purpose: the API path costs a header decode, a dict lookup or a regex, the
    handler and one orjson dump; no Request/Response objects.
    """

    def __init__(
        self, app: ASGIApp, *, store: Store, log: RequestLog, faults: FaultInjector
    ) -> None:
        self.app = app
        self.store = store
        self.log = log
        self.faults = faults
        self.router = Router(ROUTES)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(API_PREFIX):
            rest: str = scope["path"][len(API_PREFIX) :]
            if not rest or rest[0] == "/":
                await self._serve(scope, receive, send, rest or "/")
                return
        await self.app(scope, receive, send)

    async def _serve(self, scope: Scope, receive: Receive, send: Send, path: str) -> None:
        method: str = scope["method"]
        headers = decode_headers(scope["headers"])
        query = parse_query(scope["query_string"])
        content_type = headers.get("content-type")
        body: Json | None = None
        body_error: ApiError | None = None
        if method not in _BODYLESS:
            try:
                raw = await read_body(receive)
            except ClientGone:
                return
            try:
                body = await parse_body(content_type, raw)
            except ApiError as exc:
                body_error = exc  # answered after faults and auth, like any other 400
        match = self.router.match(method, path)
        # Logged on arrival, so a request is counted once it reached the sandbox: a slow answer
        # finishing later never lands in a log a test cleared in the meantime.
        entry = LogEntry(
            method=method,
            path=path,
            route=match.key,
            query=query,
            headers=headers,
            content_type=media_type(content_type),
            body=body,
            status=500,  # what the log keeps if answering crashes
        )
        self.log.record(entry)
        # Transport faults (see _log.MISBEHAVIOURS): some answer instead of serving the request,
        # the others serve it and then break the answer.
        misbehaviour = self.faults.misbehaviour(match.key)
        entry.fault = misbehaviour
        if misbehaviour in NOT_SERVED:
            entry.status = await send_misbehaviour(send, misbehaviour, None, 0.0)
            return
        status, payload = await self._answer(match, headers, query, body, body_error)
        entry.status = status
        if misbehaviour is not None:
            stall = self.faults.faults.stall_ms / 1000.0
            await send_misbehaviour(send, misbehaviour, payload, stall)
            return
        await send_json(send, status, payload)

    async def _answer(
        self,
        match: Match[Endpoint],
        headers: dict[str, str],
        query: Json,
        body: Json | None,
        body_error: ApiError | None,
    ) -> tuple[int, Json]:
        delay = self.faults.delay()
        if delay:
            await asyncio.sleep(delay)
        try:
            failure = self.faults.failure(match.key)
            if failure is not None:
                raise ApiError(failure)
            if match.route is None:
                raise ApiError(match.status, f"No route for {match.key}")
            endpoint = match.route.handler
            caller = authenticate(self.store, headers, endpoint.auth)
            if body_error is not None:
                raise body_error
            ctx = Context(self.store, caller, match.params, Params(query), Params(body))
            return 200, endpoint.handler(ctx)
        except ApiError as exc:
            return exc.status, exc.body()
