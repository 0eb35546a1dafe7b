"""The one exception hierarchy for everything that can go wrong talking to VSee.

    GatewayError                 code
    ├── UpstreamError
    │   ├── UpstreamUnavailable  UPSTREAM_UNAVAILABLE  (not sent: refused, DNS; or VSee's 5xx)
    │   │   ├── UpstreamTimeout  UPSTREAM_TIMEOUT      (a read sent but unanswered, or no budget)
    │   │   └── UpstreamBadResponse UPSTREAM_BAD_RESPONSE (a 2xx that is not a data envelope)
    │   ├── OutcomeUnknown       OUTCOME_UNKNOWN       (a write sent, its answer never came)
    │   └── UpstreamRejected     (VSee answered 4xx; ``status`` and VSee's message kept)
    │       ├── BadRequest       BAD_USER_INPUT        (400, 422)
    │       ├── Unauthenticated  UNAUTHENTICATED       (401)
    │       ├── Forbidden        FORBIDDEN             (403)
    │       ├── NotFound         NOT_FOUND             (404)
    │       └── Conflict         CONFLICT              (409)
    ├── MissingCredentials       UNAUTHENTICATED       (no upstream call was made)
    ├── InvalidInput             BAD_USER_INPUT        (caught before any upstream call)
    ├── Overloaded               OVERLOADED            (shed by admission control; retry later)
    └── IdempotencyError
        ├── IdempotencyConflict  CONFLICT              (the key was used for another request)
        ├── IdempotencyInProgress IN_PROGRESS          (the key's first request is still running)
        └── IdempotencyUnavailable IDEMPOTENCY_UNAVAILABLE (the reservation store is down)

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


class UpstreamBadResponse(UpstreamUnavailable):
    """VSee (or something in front of it) answered 2xx with a body that is not its envelope."""

    code = "UPSTREAM_BAD_RESPONSE"


class OutcomeUnknown(UpstreamError):
    """A write reached VSee (or may have) but no complete answer came back.

    Never retried by the gateway: the client must read the state back (e.g. the visits list)
    before deciding to send the change again.
    """

    code = "OUTCOME_UNKNOWN"


class Overloaded(GatewayError):
    """Admission control refused the work before it reached VSee; ``retry_after`` in seconds."""

    code = "OVERLOADED"

    def __init__(self, message: str, *, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class IdempotencyError(GatewayError):
    """An ``Idempotency-Key`` rule stopped a mutation before it was sent."""


class IdempotencyConflict(IdempotencyError):
    code = "CONFLICT"


class IdempotencyInProgress(IdempotencyError):
    code = "IN_PROGRESS"


class IdempotencyUnavailable(IdempotencyError):
    code = "IDEMPOTENCY_UNAVAILABLE"


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
