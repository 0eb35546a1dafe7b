"""HTTP caching headers for every response, right by construction: private unless credential-free.

VSee's credential headers are custom (``X-ApiToken``...), so HTTP's rule that shared caches do not
store answers to ``Authorization`` requests does not protect them. This middleware sits outside
every route, so no handler can forget it: each response gets ``Vary`` naming the credential
headers and ``Accept``, and ``Cache-Control: private, no-store`` unless the request carried no
credential at all *and* the route itself declared its answer public (GraphiQL's static files).
"""

from __future__ import annotations

import functools

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CREDENTIAL_HEADERS = ("X-ApiToken", "X-AccountCode", "X-ApiKey", "Authorization")
VARY = ("Accept", *CREDENTIAL_HEADERS)
PRIVATE = b"private, no-store"

_CREDENTIAL_NAMES = frozenset(name.lower().encode() for name in CREDENTIAL_HEADERS)
# A credential header with bytes VSee could never be sent (the value itself is never echoed).
CREDENTIAL_BYTES_PROBLEM = "The {} header must be printable ASCII (no control or non-ASCII bytes)."


def has_credentials(headers: list[tuple[bytes, bytes]]) -> bool:
    """Whether the request carries any (even empty-looking) credential header."""
    return any(name.lower() in _CREDENTIAL_NAMES for name, _ in headers)


@functools.lru_cache(maxsize=64)
def _merged_vary(existing: tuple[bytes, ...]) -> bytes:
    """The Vary of a response that had ``existing``: in practice a handful of distinct values,
    all the gateway's own, so each is merged once per process."""
    names: list[str] = []
    seen: set[str] = set()
    for value in [*existing, ", ".join(VARY).encode()]:
        for part in value.decode("latin-1").split(","):
            name = part.strip()
            if name and name.lower() not in seen:
                seen.add(name.lower())
                names.append(name)
    return ", ".join(names).encode("latin-1")


class CachingHeadersMiddleware:
    """Sets ``Cache-Control`` and ``Vary`` on every HTTP response of the wrapped app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        credentialed = has_credentials(scope.get("headers") or [])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[tuple[bytes, bytes]] = []
                vary: list[bytes] = []
                cache_control: bytes | None = None
                for name, value in message.get("headers", []):
                    lowered = name.lower()
                    if lowered == b"vary":
                        vary.append(value)
                    elif lowered == b"cache-control":
                        cache_control = value
                    else:
                        headers.append((name, value))
                public = (
                    not credentialed
                    and cache_control is not None
                    and cache_control.strip().lower().startswith(b"public")
                )
                headers.append(
                    (b"cache-control", cache_control if public and cache_control else PRIVATE)
                )
                headers.append((b"vary", _merged_vary(tuple(vary))))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
