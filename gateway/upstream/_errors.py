"""The one exception hierarchy for everything that can go wrong talking to VSee.

    GatewayError                 code
    ├── UpstreamError
    │   ├── UpstreamUnavailable  UPSTREAM_UNAVAILABLE  (connection refused, 5xx, bad body)
    │   │   └── UpstreamTimeout  UPSTREAM_TIMEOUT
    │   └── UpstreamRejected     (VSee answered 4xx; ``status`` and VSee's message kept)
    │       ├── BadRequest       BAD_USER_INPUT        (400, 422)
    │       ├── Unauthenticated  UNAUTHENTICATED       (401)
    │       ├── Forbidden        FORBIDDEN             (403)
    │       ├── NotFound         NOT_FOUND             (404)
    │       └── Conflict         CONFLICT              (409)
    ├── MissingCredentials       UNAUTHENTICATED       (no upstream call was made)
    └── InvalidInput             BAD_USER_INPUT        (caught before any upstream call)

Messages are safe to show to callers: they never carry an upstream URL, a token or a trace.
"""

from __future__ import annotations


class GatewayError(Exception):
    """Base class; ``code`` goes into a GraphQL error's ``extensions.code``."""

    code = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class MissingCredentials(GatewayError):
    code = "UNAUTHENTICATED"

    def __init__(self, message: str = "X-ApiToken and X-AccountCode headers are required") -> None:
        super().__init__(message)


class InvalidInput(GatewayError):
    """The caller's input cannot be right; nothing was sent to VSee."""

    code = "BAD_USER_INPUT"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class UpstreamError(GatewayError):
    """VSee could not give a usable answer."""

    def __init__(self, message: str, *, endpoint: str = "") -> None:
        super().__init__(message)
        self.endpoint = endpoint


class UpstreamUnavailable(UpstreamError):
    code = "UPSTREAM_UNAVAILABLE"


class UpstreamTimeout(UpstreamUnavailable):
    code = "UPSTREAM_TIMEOUT"


class UpstreamRejected(UpstreamError):
    """VSee refused the request with a 4xx status."""

    code = "BAD_USER_INPUT"

    def __init__(self, message: str, *, status: int, endpoint: str = "") -> None:
        super().__init__(message, endpoint=endpoint)
        self.status = status


class BadRequest(UpstreamRejected):
    code = "BAD_USER_INPUT"


class Unauthenticated(UpstreamRejected):
    code = "UNAUTHENTICATED"


class Forbidden(UpstreamRejected):
    code = "FORBIDDEN"


class NotFound(UpstreamRejected):
    code = "NOT_FOUND"


class Conflict(UpstreamRejected):
    code = "CONFLICT"


_BY_STATUS: dict[int, type[UpstreamRejected]] = {
    400: BadRequest,
    401: Unauthenticated,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    422: BadRequest,
}


def rejected_for_status(status: int) -> type[UpstreamRejected]:
    return _BY_STATUS.get(status, BadRequest)
