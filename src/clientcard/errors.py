"""Domain errors, and their one mapping to HTTP problem+json (RFC 9457)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class FieldError:
    field: str
    message: str


class DomainError(Exception):
    status = 400
    title = "Bad request"

    def __init__(self, detail: str, *, errors: list[FieldError] | None = None, **extra: Any):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        self.extra = extra

    def problem(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": "about:blank",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors:
            body["errors"] = [{"field": e.field, "message": e.message} for e in self.errors]
        body.update(self.extra)
        return body


class Unauthorized(DomainError):
    status = 401
    title = "Unauthorized"


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Conflict(DomainError):
    status = 409
    title = "Conflict"


class PreconditionFailed(DomainError):
    status = 412
    title = "Precondition failed"


class PreconditionRequired(DomainError):
    status = 428
    title = "Precondition required"


class Invalid(DomainError):
    """Input that does not fit: 422 with the offending fields named."""

    status = 422
    title = "Validation failed"

    @classmethod
    def field(cls, name: str, message: str) -> Invalid:
        return cls(f"{name}: {message}", errors=[FieldError(name, message)])


@dataclass
class ErrorCollector:
    """Gathers every field error of one input, so the client learns them all at once."""

    prefix: str = ""
    errors: list[FieldError] = field(default_factory=list)

    def add(self, name: str, message: str) -> None:
        self.errors.append(FieldError(f"{self.prefix}{name}", message))

    def raise_if_any(self) -> None:
        if self.errors:
            detail = "; ".join(f"{e.field}: {e.message}" for e in self.errors)
            raise Invalid(detail, errors=list(self.errors))
