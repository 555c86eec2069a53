"""Rendering pages and htmx fragments, and turning domain errors into pages.

A page template extends base.html and names its swappable parts as blocks. An htmx request
whose target element's id names a block (`tab-panel` -> block `tab_panel`) gets only that
block, rendered with the same context, so one template serves the page and its fragments.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from babel.dates import format_date, format_time
from babel.numbers import format_decimal, format_percent
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup

from clientcard import __version__
from clientcard.errors import DomainError, FieldError
from clientcard.web import i18n
from clientcard.web.i18n import N_, NP_
from clientcard.web.session import LoginRequired, csrf_token

TEMPLATES_DIR = Path(__file__).parent / "templates"
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: https://www.gravatar.com; "
        "style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'self'; "
        "frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def format_when(value: dt.datetime | dt.date, locale: str) -> str:
    """A time as the locale writes it, always in UTC and saying so ("5 ene 2026, 10:00 UTC");
    a date alone in the locale's medium form."""
    if not isinstance(value, dt.datetime):
        return format_date(value, "medium", locale=locale)
    value = value.astimezone(dt.UTC)
    day = format_date(value, "medium", locale=locale)
    time = format_time(value, "short", tzinfo=dt.UTC, locale=locale)
    pattern = i18n.datetime_pattern(locale)
    return f"{pattern.format(time, day)} UTC"


@pass_context
def _datetime(
    context: Context, value: dt.datetime | dt.date | None, empty: str = "—"
) -> Markup | str:
    if value is None:
        return empty
    if isinstance(value, dt.datetime):
        value = value.astimezone(dt.UTC)
    shown = format_when(value, i18n.context_locale(context))
    return Markup('<time datetime="{}">{}</time>').format(value.isoformat(), shown)


@pass_context
def _number(context: Context, value: int | float | None, empty: str = "—") -> str:
    """A count or a quantity with the locale's digit grouping and decimal sign."""
    if value is None:
        return empty
    return format_decimal(value, locale=i18n.context_locale(context))


@pass_context
def _percent(context: Context, value: float | None, empty: str = "—") -> str:
    """A share (0.75) as the locale writes a percentage (75 %, 75%)."""
    if value is None:
        return empty
    return format_percent(value, locale=i18n.context_locale(context))


@pass_context
def _shown(context: Context, value: Any) -> str:
    """A history value as text: JSON for lists and objects, — for nothing."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        catalog = i18n.context_catalog(context)
        return catalog.gettext(N_("yes")) if value else catalog.gettext(N_("no"))
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


CHANNEL_NAMES = {
    "voice": N_("Call"),
    "email": N_("E-mail"),
    "sms": N_("SMS"),
    "chat": N_("Chat"),
    "whatsapp": N_("WhatsApp"),
    "social": N_("Social"),
    "web": N_("Web form"),
}
# The values of the fixed lists the pages show, in words: {{ c.status | label("case status") }}.
VALUE_LABELS: dict[str, dict[str, str]] = {
    "case status": {
        "new": NP_("case status", "new"),
        "open": NP_("case status", "open"),
        "pending": NP_("case status", "pending"),
        "closed": NP_("case status", "closed"),
        "cancelled": NP_("case status", "cancelled"),
    },
    "priority": {
        "critical": NP_("priority", "critical"),
        "high": NP_("priority", "high"),
        "medium": NP_("priority", "medium"),
        "low": NP_("priority", "low"),
    },
    "contact type": {
        "phone": NP_("contact type", "phone"),
        "mobile": NP_("contact type", "mobile"),
        "email": NP_("contact type", "email"),
        "whatsapp": NP_("contact type", "whatsapp"),
        "address": NP_("contact type", "address"),
        "social": NP_("contact type", "social"),
        "web": NP_("contact type", "web"),
    },
    "contact label": {
        "other": NP_("contact label", "other"),
        "private": NP_("contact label", "private"),
        "work": NP_("contact label", "work"),
        "home": NP_("contact label", "home"),
    },
    "kind": {
        "person": NP_("kind", "person"),
        "company": NP_("kind", "company"),
    },
    "gender": {
        "female": NP_("gender", "female"),
        "male": NP_("gender", "male"),
        "other": NP_("gender", "other"),
        "unspecified": NP_("gender", "unspecified"),
    },
    "colour": {
        "yellow": NP_("colour", "yellow"),
        "green": NP_("colour", "green"),
        "blue": NP_("colour", "blue"),
        "red": NP_("colour", "red"),
        "purple": NP_("colour", "purple"),
        "gray": NP_("colour", "gray"),
    },
    "role": {
        "admin": NP_("role", "admin"),
        "supervisor": NP_("role", "supervisor"),
        "agent": NP_("role", "agent"),
    },
    "interaction status": {
        "ringing": NP_("interaction status", "ringing"),
        "answered": NP_("interaction status", "answered"),
        "missed": NP_("interaction status", "missed"),
        "sent": NP_("interaction status", "sent"),
        "delivered": NP_("interaction status", "delivered"),
        "read": NP_("interaction status", "read"),
        "failed": NP_("interaction status", "failed"),
    },
}


def _humanize(value: str | None) -> str:
    return (value or "").replace("_", " ")


def channel_name(value: str | None, gettext: Any = None) -> str:
    name = CHANNEL_NAMES.get(value or "")
    if name is None:
        return _humanize(value)
    return gettext(name) if gettext else name


def value_label(value: Any, list_name: str, catalog: Any = None) -> str:
    """A value of one of VALUE_LABELS's lists in words; an unknown value as it is."""
    text = VALUE_LABELS.get(list_name, {}).get(str(value) if value is not None else "")
    if text is None:
        return _humanize(value if isinstance(value, str) else str(value or ""))
    return catalog.pgettext(list_name, text) if catalog else text


@pass_context
def _channel(context: Context, value: str | None) -> str:
    return channel_name(value, i18n.context_catalog(context).gettext)


@pass_context
def _label(context: Context, value: Any, list_name: str) -> str:
    return value_label(value, list_name, i18n.context_catalog(context))


env = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
    extensions=["jinja2.ext.i18n"],
)
# Templates mark text with {{ _("...") }} (new-style gettext: `_("%(n)s items", n=3)`).
env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
env.filters["datetime"] = _datetime
env.filters["shown"] = _shown
env.filters["humanize"] = _humanize
env.filters["channel"] = _channel
env.filters["label"] = _label
env.filters["number"] = _number
env.filters["percent"] = _percent
env.globals["version"] = __version__


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
    fragments: dict[str, str] | None = None,
) -> HTMLResponse:
    """The page, or for htmx the block its target names; `fragments` maps other targets
    (such as a "load more" row) to templates of their own."""
    page = env.get_template(template)
    locale = i18n.locale_of(request)
    catalog = i18n.translations(locale)
    values = {
        "request": request,
        "csrf_token": csrf_token(request),
        "actor": getattr(request.state, "actor", None),
        "locale": locale,
        "locale_names": i18n.LOCALE_NAMES,
        "i18n_catalog": catalog,
        **i18n.template_callables(catalog),
        **context,
    }
    block = None
    if (
        is_htmx(request)
        and not request.headers.get("hx-boosted")
        and not request.headers.get("hx-history-restore-request")
    ):
        target = request.headers.get("hx-target") or ""
        if fragments and target in fragments:
            page = env.get_template(fragments[target])
        else:
            block = target.replace("-", "_")
            block = block if block in page.blocks else None
    if block is None:
        body = page.render(values)
    else:
        body = "".join(page.blocks[block](page.new_context(values)))
    response = HTMLResponse(body, status_code=status, headers=headers)
    # A page and its fragments share URLs: caches must tell them apart.
    response.headers["Vary"] = "HX-Request, HX-Target"
    response.headers["Cache-Control"] = "no-store"
    return response


def redirect(request: Request, url: str) -> Response:
    """After a write: a 303 to the page, or for htmx a client-side redirect."""
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def field_errors(errors: list[FieldError]) -> dict[str, str]:
    """Field name -> message, for showing next to the inputs (first message per field)."""
    shown: dict[str, str] = {}
    for error in errors:
        shown.setdefault(error.field, error.message)
    return shown


def validation_errors(exc: Any) -> list[FieldError]:
    """Pydantic's errors as field errors named like the service names them."""
    found = []
    for error in exc.errors():
        loc = [str(p) for p in error["loc"] if p not in ("body", "query", "path")]
        message = "is required" if error["type"] == "missing" else error["msg"]
        found.append(FieldError(".".join(loc) or "form", message))
    return found


# The titles of the domain errors (clientcard.errors), for the catalogue.
ERROR_TITLES = (
    N_("Bad request"),
    N_("Unauthorized"),
    N_("Forbidden"),
    N_("Not found"),
    N_("Conflict"),
    N_("Precondition failed"),
    N_("Precondition required"),
    N_("Validation failed"),
    N_("Not a valid request"),
)


def _error_page(request: Request, status: int, title: str, detail: str) -> Response:
    """The title in the request's language; the detail too when the catalogue knows it
    (the services' own messages are English)."""
    catalog = i18n.translations_of(request)
    return render(
        request,
        "error.html",
        {
            "status": status,
            "title": catalog.gettext(title) if title else title,
            "detail": catalog.gettext(detail) if detail else detail,
        },
        status=status,
    )


class WebRoute(APIRoute):
    """Pages answer errors with pages: no session -> the login page; a domain error -> an
    error page with its status; and every page carries the security headers."""

    def get_route_handler(self):  # type: ignore[override]
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                response = await handler(request)
            except LoginRequired:
                response = _to_login(request)
            except DomainError as exc:
                response = _error_page(request, exc.status, exc.title, exc.detail)
            except RequestValidationError as exc:
                detail = "; ".join(f"{e.field}: {e.message}" for e in validation_errors(exc))
                response = _error_page(request, 422, "Not a valid request", detail)
            response.headers.update(SECURITY_HEADERS)
            return response

        return route


def _to_login(request: Request) -> Response:
    current = urlsplit(request.headers.get("hx-current-url") or str(request.url))
    if request.method != "GET" and not request.headers.get("hx-current-url"):
        current = urlsplit("/customers")
    target = current.path + (f"?{current.query}" if current.query else "")
    url = f"/login?next={quote(target, safe='')}"
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)
