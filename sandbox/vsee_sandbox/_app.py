"""`create_app`: the API behind `ApiMiddleware` plus the /_sandbox test and benchmark knobs."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ._api import ApiMiddleware
from ._config import CONTROL_PREFIX, SSO_API_KEY, SSO_API_SECRET, SandboxConfig
from ._log import FaultInjector, Faults, RequestLog
from ._model import UserType, VisitStatus
from ._store import Store


class _Json(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class Sandbox:
    """One sandbox: its state, request log and faults, and the knobs that reach them."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.store = Store(config.seed, config.now)
        self.log = RequestLog()
        self.faults = FaultInjector(config)

    def reset(self) -> None:
        """Back to the seeded state, an empty log and the configured faults."""
        self.store.reset()
        self.log.clear()
        self.faults.reset()

    # -- /_sandbox endpoints ---------------------------------------------------------------

    async def get_requests(self, request: Request) -> Response:
        since = request.query_params.get("since", "0")
        return _Json(self.log.as_json(int(since) if since.isdigit() else 0))

    async def clear_requests(self, request: Request) -> Response:
        self.log.clear()
        return _Json({"ok": True})

    async def get_faults(self, request: Request) -> Response:
        return _Json(self.faults.faults.as_json())

    async def put_faults(self, request: Request) -> Response:
        try:
            faults = Faults.from_json(orjson.loads(await request.body()))
        except (orjson.JSONDecodeError, ValueError) as exc:
            return _Json({"code": 400, "message": f"Invalid faults: {exc}"}, status_code=400)
        self.faults.faults = faults
        return _Json(faults.as_json())

    async def post_reset(self, request: Request) -> Response:
        self.reset()
        return _Json({"ok": True})

    async def get_users(self, request: Request) -> Response:
        state = self.store.state
        accounts = []
        for account in state.accounts.values():
            users = [
                {
                    "id": str(user.id),
                    "type": int(user.type),
                    "type_name": UserType(user.type).name.lower(),
                    "account_code": user.account_code,
                    "code": user.code,
                    "first_name": user.first_name,
                    "last_name": user.last_name,
                    "email": user.email,
                    "token": user.token,
                    **({"rooms": user.room_codes} if user.type == UserType.PROVIDER else {}),
                }
                for user in state.users.values()
                if user.account_code == account.code
            ]
            rooms = [
                room.code for room in state.rooms.values() if room.account_code == account.code
            ]
            accounts.append(
                {"code": account.code, "name": account.name, "rooms": rooms, "users": users}
            )
        return _Json(
            {"accounts": accounts, "sso": {"api_key": SSO_API_KEY, "api_secret": SSO_API_SECRET}}
        )

    async def start_visit(self, request: Request) -> Response:
        """The provider starts the call (in VSee's own apps: api_v3 has no endpoint for it):
        a waiting or scheduled visit goes in progress, for live-update tests and benchmarks."""
        raw = request.path_params["id"]
        visit = self.store.state.visits.get(int(raw)) if raw.isdigit() else None
        if visit is None:
            return _Json({"code": 404, "message": "Visit not found"}, status_code=404)
        if visit.status not in (VisitStatus.WAITING, VisitStatus.SCHEDULED):
            return _Json({"code": 422, "message": "The visit is not waiting"}, status_code=422)
        now = self.store.now()
        visit.status = VisitStatus.IN_PROGRESS
        visit.actual_start = now
        visit.modified = now
        return _Json({"ok": True})

    async def health(self, request: Request) -> Response:
        return _Json({"ok": True})

    def routes(self) -> list[Route]:
        p = CONTROL_PREFIX
        return [
            Route(f"{p}/requests", self.get_requests, methods=["GET"]),
            Route(f"{p}/requests", self.clear_requests, methods=["DELETE"]),
            Route(f"{p}/faults", self.get_faults, methods=["GET"]),
            Route(f"{p}/faults", self.put_faults, methods=["PUT"]),
            Route(f"{p}/reset", self.post_reset, methods=["POST"]),
            Route(f"{p}/users", self.get_users, methods=["GET"]),
            Route(f"{p}/health", self.health, methods=["GET"]),
            Route(f"{p}/visits/{{id}}/start", self.start_visit, methods=["POST"]),
        ]


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    detail = exc.detail if isinstance(exc, HTTPException) else "Internal Server Error"
    return _Json({"code": status, "message": detail}, status_code=status)


def create_app(config: SandboxConfig | None = None) -> Starlette:
    """A fresh sandbox: seeded state, empty request log, faults from `config`."""
    sandbox = Sandbox(config or SandboxConfig())
    app = Starlette(
        routes=sandbox.routes(),
        middleware=[
            Middleware(ApiMiddleware, store=sandbox.store, log=sandbox.log, faults=sandbox.faults)
        ],
        exception_handlers={HTTPException: _http_error},
    )
    app.state.sandbox = sandbox
    return app
