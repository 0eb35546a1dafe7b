"""A real HTTP proxy in front of the sandbox that breaks VSee's answers the same way every time.

Modes (set with ``Mangler.mode``): ``drop`` removes some keys from every object of the answer,
``retype`` gives some values the wrong JSON type, ``nulls`` makes some values null, ``rows``
fails (500) the reads of one object by id for some ids, ``status:<code>`` answers every call
with that status. Which keys, values or ids is decided by a checksum of the request path and
the key, so both gateways of a pair meet exactly the same faults.

Calls are answered one at a time, in the order they arrive. When two fields fail, which error
reaches the answer first decides what the spec's null propagation keeps (an error under a
position already nulled is dropped); served in call order, that is decided by the order the
executor made its calls (which must be the same), not by network timing.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import zlib
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

_BY_ID = re.compile(r"/(visits|intakes|rooms/[^/]+/providers|rooms)/[^/]+$")


def _picked(*parts: str, every: int = 3) -> bool:
    return zlib.crc32("|".join(parts).encode()) % every == 0


def _wrong_type(value: Any) -> Any:
    if isinstance(value, bool):
        return "yes"
    if isinstance(value, int | float):
        return str(value) + "x"
    if isinstance(value, str):
        return {"value": value}
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return {"items": value}
    return 0


def _mangle(value: Any, mode: str, salt: str) -> Any:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, inner in value.items():
            if _picked(salt, key):
                if mode == "drop":
                    continue
                if mode == "nulls":
                    out[key] = None
                    continue
                if mode == "retype":
                    out[key] = _wrong_type(inner)
                    continue
            out[key] = _mangle(inner, mode, f"{salt}/{key}")
        return out
    if isinstance(value, list):
        return [_mangle(inner, mode, f"{salt}/{i}") for i, inner in enumerate(value)]
    return value


class Mangler:
    """The proxy app and its knobs; ``counts`` holds every call it received, by method and path."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.mode = ""
        self.counts: Counter[str] = Counter()
        self.client: httpx.AsyncClient | None = None
        self.lock = asyncio.Lock()
        self.app = Starlette(
            routes=[Route("/{path:path}", self.forward, methods=["GET", "POST", "PUT", "DELETE"])],
            lifespan=self._lifespan,
        )

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        async with httpx.AsyncClient(base_url=self.upstream, timeout=30) as client:
            self.client = client
            yield

    def clear(self) -> None:
        self.counts.clear()

    async def forward(self, request: Request) -> Response:
        body = await request.body()
        async with self.lock:
            return await self._answer(request, body)

    async def _answer(self, request: Request, content: bytes) -> Response:
        path = request.url.path
        self.counts[f"{request.method} {path}"] += 1
        mode = self.mode
        if mode.startswith("status:"):
            status = int(mode.partition(":")[2])
            body = {"code": status, "message": "Mangled failure"}
            return Response(orjson.dumps(body), status, media_type="application/json")
        if mode == "rows" and _BY_ID.search(path) and _picked(path, every=2):
            body = {"code": 500, "message": "Mangled row failure"}
            return Response(orjson.dumps(body), 500, media_type="application/json")
        headers = {
            key: value
            for key, value in request.headers.items()
            if key.lower() not in ("host", "content-length", "connection")
        }
        assert self.client is not None
        answer = await self.client.request(
            request.method,
            path,
            params=request.query_params,
            headers=headers,
            content=content,
        )
        content = answer.content
        if mode in ("drop", "retype", "nulls") and answer.headers.get(
            "content-type", ""
        ).startswith("application/json"):
            decoded = orjson.loads(content)
            if isinstance(decoded, dict) and "data" in decoded:
                decoded["data"] = _mangle(decoded["data"], mode, path)
            content = orjson.dumps(decoded)
        return Response(content, answer.status_code, media_type=answer.headers.get("content-type"))
