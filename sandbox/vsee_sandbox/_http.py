"""Raw ASGI plumbing for the API: header and query decoding, body parsing, JSON answers."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncGenerator, Iterable
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.datastructures import Headers, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.types import Receive, Send

from ._errors import ApiError

JSON_HEADERS = [(b"content-type", b"application/json")]
_BRACKETS = re.compile(r"\[([^\]]*)\]")


class ClientGone(Exception):
    """The client disconnected before its request body arrived."""


def decode_headers(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    # ASGI servers already lower-case header names.
    return {name.decode("latin-1"): value.decode("latin-1") for name, value in raw}


def parse_query(raw: bytes) -> dict[str, Any]:
    if not raw:
        return {}
    return fold_pairs(parse_qsl(raw.decode("latin-1"), keep_blank_values=True))


async def read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def media_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    return content_type.split(";", 1)[0].strip().lower() or None


async def parse_body(content_type: str | None, raw: bytes) -> dict[str, Any]:
    """A request body as one mapping, whichever of VSee's three encodings it came in."""
    kind = media_type(content_type)
    if not raw.strip():
        return {}
    if kind is None:
        # curl -d without a Content-Type: JSON if it looks like JSON, else a form.
        looks_json = raw.lstrip()[:1] == b"{"
        kind = "application/json" if looks_json else "application/x-www-form-urlencoded"
    if kind == "application/json" or kind.endswith("+json"):
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise ApiError(400, "Malformed JSON body") from None
        if not isinstance(body, dict):
            raise ApiError(400, "The JSON body must be an object")
        return body
    if kind == "application/x-www-form-urlencoded":
        try:
            text = raw.decode()
        except UnicodeDecodeError:
            raise ApiError(400, "The form body is not UTF-8") from None
        return fold_pairs(parse_qsl(text, keep_blank_values=True))
    if kind == "multipart/form-data":
        return await _parse_multipart(content_type or "", raw)
    raise ApiError(400, f"Unsupported Content-Type: {kind}")


async def _parse_multipart(content_type: str, raw: bytes) -> dict[str, Any]:
    async def stream() -> AsyncGenerator[bytes, None]:
        yield raw

    headers = Headers(raw=[(b"content-type", content_type.encode("latin-1"))])
    try:
        form = await MultiPartParser(headers, stream()).parse()
    except MultiPartException as exc:
        raise ApiError(400, f"Malformed multipart body: {exc.message}") from None
    pairs: list[tuple[str, Any]] = []
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            # The API takes attachment ids, not uploads: a file part is logged by name only.
            pairs.append((name, value.filename or ""))
            await value.close()
        else:
            pairs.append((name, value))
    return fold_pairs(pairs)


def fold_pairs(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """Form fields to nested values the way PHP (VSee's backend) reads them.

    `a[]=1&a[]=2` is a list, `c[id]=x` an object, `f[0][id]=y` a list of objects; a plain
    name sent twice becomes a list (its last value is what scalar readers use).
    """
    result: dict[str, Any] = {}
    for key, value in pairs:
        start = key.find("[")
        if start <= 0 or not key.endswith("]"):
            previous = result.get(key)
            if previous is None:
                result[key] = value
            elif isinstance(previous, list):
                previous.append(value)
            else:
                result[key] = [previous, value]
            continue
        parts = [key[:start], *_BRACKETS.findall(key[start:])]
        _assign(result, parts, value)
    return {name: _listify(value) for name, value in result.items()}


def _assign(node: dict[str, Any], parts: list[str], value: Any) -> None:
    # `[]` is kept as a list under the key "" until `_listify` tidies up.
    *path, last = parts
    for part in path:
        if part == "":
            bucket: list[Any] = node.setdefault("", [])
            bucket.append({})
            node = bucket[-1]
            continue
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    if last == "":
        node.setdefault("", []).append(value)
    else:
        node[last] = value


def _listify(value: Any) -> Any:
    """Turn the `{"": [..]}` and `{"0": .., "1": ..}` stand-ins of `_assign` into lists."""
    if not isinstance(value, dict):
        return value
    if set(value) == {""}:
        return [_listify(item) for item in value[""]]
    if value and all(key.isdigit() for key in value):
        return [_listify(value[key]) for key in sorted(value, key=int)]
    return {key: _listify(item) for key, item in value.items()}


async def send_json(send: Send, status: int, payload: Any) -> None:
    body = orjson.dumps(payload)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*JSON_HEADERS, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


_HTML_PAGE = b"<!doctype html><html><body><h1>Down for maintenance</h1></body></html>"


async def send_misbehaviour(send: Send, kind: str, payload: Any, stall: float) -> int:
    """Break one HTTP exchange the way ``kind`` says (see ``_log.MISBEHAVIOURS``).

    Returns the status the client was sent (what the request log keeps).
    """
    if kind in ("html", "unavailable"):
        status = 200 if kind == "html" else 503
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"text/html"),
                    (b"content-length", str(len(_HTML_PAGE)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": _HTML_PAGE})
        return status
    body = orjson.dumps(payload)
    # Promise more than is sent, so the client knows the answer was cut off.
    declared = max(len(body), 64) + 64
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [*JSON_HEADERS, (b"content-length", str(declared).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
    if kind == "stall":
        await asyncio.sleep(stall)
    # Returning with the body incomplete makes the server close the connection (a reset).
    return 200
