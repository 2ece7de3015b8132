"""Domain errors raised by services and how the API turns them into HTTP answers."""

from __future__ import annotations

from typing import Any


class PosopsError(Exception):
    """Base of the errors a use case may raise on purpose; `status` is its HTTP status."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def detail(self) -> Any:
        """Return the JSON `detail` of the HTTP answer."""
        return self.message


class NotFound(PosopsError):
    """The thing does not exist, or the caller may not know that it does."""

    status = 404


class Conflict(PosopsError):
    """The request clashes with the current state (a duplicate, an illegal transition)."""

    status = 409


class Forbidden(PosopsError):
    """The caller's role may not do this."""

    status = 403


class Unauthorized(PosopsError):
    """No valid credentials were given."""

    status = 401


class Invalid(PosopsError):
    """Input failed a rule: names the field and the reason, like FastAPI's own 422."""

    status = 422

    def __init__(self, field: str, reason: str, *, line: int | None = None) -> None:
        super().__init__(f"{field}: {reason}" if line is None else f"line {line}: {field}: {reason}")
        self.errors: list[dict[str, Any]] = [_error(field, reason, line)]

    @classmethod
    def many(cls, errors: list[tuple[int | None, str, str]]) -> Invalid:
        """Build one error from several (line, field, reason) problems."""
        first_line, first_field, first_reason = errors[0]
        exc = cls(first_field, first_reason, line=first_line)
        exc.errors = [_error(field, reason, line) for line, field, reason in errors]
        return exc

    def detail(self) -> Any:
        """Return the list of problems in FastAPI's validation-error shape."""
        return self.errors


def _error(field: str, reason: str, line: int | None) -> dict[str, Any]:
    error: dict[str, Any] = {"loc": ["body", *field.split(".")], "msg": reason, "type": "value_error"}
    if line is not None:
        error["line"] = line
    return error
