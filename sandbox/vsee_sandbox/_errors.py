"""The one exception type the sandbox answers with: VSee's `{"code", "message"}` error body."""

from __future__ import annotations

from http import HTTPStatus

# VSee's wording for the statuses the sandbox injects; others use the HTTP reason phrase.
_MESSAGES = {503: "Service temporarily unavailable"}


def default_message(status: int) -> str:
    if status in _MESSAGES:
        return _MESSAGES[status]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class ApiError(Exception):
    """An error answer: `status` is both the HTTP status and the body's `code`."""

    def __init__(self, status: int, message: str | None = None) -> None:
        self.status = status
        self.message = message or default_message(status)
        super().__init__(f"{status}: {self.message}")

    def body(self) -> dict[str, object]:
        return {"code": self.status, "message": self.message}


def missing(name: str) -> ApiError:
    return ApiError(400, f"Missing parameter: {name}")


def invalid(name: str, why: str = "") -> ApiError:
    return ApiError(400, f"Invalid parameter: {name}" + (f" ({why})" if why else ""))


def not_found(what: str) -> ApiError:
    return ApiError(404, f"{what} not found")


def unprocessable(message: str) -> ApiError:
    return ApiError(422, message)
