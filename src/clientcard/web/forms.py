"""Reading HTML forms into the API's write schemas: blank inputs mean "no value", and
pydantic's complaints become field errors named as the services name them."""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from clientcard.errors import FieldError, Invalid
from clientcard.schemas import MAX_INTEGER
from clientcard.validation import check_text
from clientcard.web.session import CSRF_FIELD

M = TypeVar("M", bound=BaseModel)
Form = dict[str, str]


async def form_data(request: Request) -> Form:
    """The submitted form as text fields (files and the CSRF token left out)."""
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str) and k != CSRF_FIELD}
    for name, value in fields.items():
        check_text(name, value)
    return fields


def text(form: Form, name: str) -> str | None:
    value = form.get(name, "").strip()
    return value or None


def integer(form: Form, name: str) -> int | str | None:
    """An integer field; text that is not one is passed on for the schema to refuse."""
    value = text(form, name)
    if value is None:
        return None
    # isdecimal, not isdigit: int() refuses digits such as "²", which isdigit accepts
    if not value.lstrip("-").isdecimal() or abs(int(value)) > MAX_INTEGER:
        return value  # the schema names it: not a number, or more than an id can be
    return int(value)


def checkbox(form: Form, name: str) -> bool:
    return form.get(name) in ("on", "true", "1")


def version(form: Form) -> int:
    value = form.get("version", "")
    if not value.isdigit():
        raise Invalid.field("version", "the form lost the version it was read at; reload")
    return int(value)


def day(form: Form | dict[str, Any], name: str) -> dt.date | None:
    value = (form.get(name) or "").strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise Invalid.field(name, "is not a date (YYYY-MM-DD)") from None


def parse(model: type[M], values: dict[str, Any]) -> M:
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        errors = [
            FieldError(
                ".".join(str(p) for p in e["loc"]) or "form",
                "is required" if e["type"] == "missing" else e["msg"],
            )
            for e in exc.errors()
        ]
        raise Invalid("; ".join(f"{e.field}: {e.message}" for e in errors), errors=errors) from None


def tags(form: Form, name: str = "tags") -> list[str]:
    return [t.strip() for t in form.get(name, "").split(",") if t.strip()]


def _typed(kind: str, text: str) -> Any:
    """A custom field input as the value its type takes; text that does not fit is passed
    on as it is, for the service to refuse with its message."""
    text = text.strip()
    if not text:
        return None
    if kind == "boolean":
        return text == "true"
    if kind == "multi_choice":
        return [part.strip() for part in text.split(",") if part.strip()]
    if kind == "number":
        for parse in (int, float):
            try:
                return parse(text)
            except ValueError:
                continue
    return text


def custom_values(form: Form) -> dict[str, Any]:
    """Custom field inputs, named `<type>:<key>` by the templates (a checkbox sits behind a
    hidden "false"), as the object the custom fields service checks."""
    values: dict[str, Any] = {}
    for name, text in form.items():
        kind, sep, key = name.partition(":")
        if sep and key:
            values[key] = _typed(kind, text)
    return values
